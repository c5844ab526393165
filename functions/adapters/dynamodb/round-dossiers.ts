import type { DossierRecord } from '#core/dossier';
import type { RoundDossiers } from '#core/rounds/ports';
import type { DynamoDossierRepository } from './dossier-repository.ts';

/** Items per Query page: DynamoDB caps a page at 1 MB anyway. */
const PAGE_SIZE = 500;

/**
 * The dossiers of a round, every page of DynamoDossierRepository.listByRound (the gsi1 index,
 * pattern 7 of docs/data-model.md): what the round steps assign, rank and report on.
 */
export class DynamoRoundDossiers implements RoundDossiers {
  private readonly dossiers: Pick<DynamoDossierRepository, 'listByRound'>;
  private readonly pageSize: number;

  constructor({ dossiers, pageSize = PAGE_SIZE }: { dossiers: Pick<DynamoDossierRepository, 'listByRound'>; pageSize?: number }) {
    this.dossiers = dossiers;
    this.pageSize = pageSize;
  }

  async listRoundDossiers(roundId: string): Promise<DossierRecord[]> {
    const records: DossierRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.dossiers.listByRound(roundId, { limit: this.pageSize, ...(cursor ? { cursor } : {}) });
      records.push(...page.items);
      cursor = page.cursor;
    } while (cursor);
    return records;
  }
}
