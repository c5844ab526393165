import { ASK_FOR_A_NEW_LINK, type Refusal } from '../texts.ts';
import { Layout } from './layout.tsx';

/** A refusal (bad link, not your dossier, forged form) or an error: what happened and what to do, and no data. */
export function RefusalPage({ refusal, askForANewLink = true }: { refusal: Refusal; askForANewLink?: boolean }) {
  return (
    <Layout title={refusal.title}>
      <div class="fr-grid-row">
        <div class="fr-col-12 fr-col-md-8">
          <h1>{refusal.title}</h1>
          <p class="fr-text--lead">{refusal.text}</p>
          {askForANewLink && <p>{ASK_FOR_A_NEW_LINK}</p>}
        </div>
      </div>
    </Layout>
  );
}
