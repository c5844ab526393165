import { DsUnavailableError } from '#core/errors';
import { DS_STATES, type DsDossierView, type DsState, type MutationOutcome, type WriteBackMutation } from '#core/write-back/model';
import type { DsDecisionWriter } from '#core/write-back/write-back-decisions';
import { DsGraphqlClient, DsProtocolError, type DsGraphqlClientOptions } from './graphql-client.ts';
import { TokenBucket } from './request-pacer.ts';

/**
 * The DS side of write-back: reads a dossier's state, sends the decision mutations
 * (schema.graphql: `dossierPasserEnInstruction`, `dossierAccepter`, `dossierRefuser`,
 * `dossierModifierAnnotations`, each `(input: {...})`, payload `{ ..., errors { message } }`),
 * with the write token, paced by a token bucket (request-pacer.ts) under DS's 400 requests a
 * minute per token: every attempt takes a token, retries included.
 *
 * The transport is DsGraphqlClient's `request` (timeouts, retries with backoff on 429 / 5xx /
 * network errors, RateLimit-Reset honoured, 401/403 as DsAuthorizationError).
 */

export const WRITE_BACK_READ_QUERY = `query getDossierForWriteBack($number: Int!) {
  dossier(number: $number) { id number state motivation annotations { id stringValue } }
}`;

const PAYLOAD_DOSSIER = 'dossier { id state motivation } errors { message }';

/** The GraphQL document of each mutation: the operation name is the mutation's name. */
export const MUTATION_DOCUMENTS: Readonly<Record<WriteBackMutation['name'], string>> = {
  dossierPasserEnInstruction: `mutation dossierPasserEnInstruction($input: DossierPasserEnInstructionInput!) {
  dossierPasserEnInstruction(input: $input) { ${PAYLOAD_DOSSIER} }
}`,
  dossierAccepter: `mutation dossierAccepter($input: DossierAccepterInput!) {
  dossierAccepter(input: $input) { ${PAYLOAD_DOSSIER} }
}`,
  dossierRefuser: `mutation dossierRefuser($input: DossierRefuserInput!) {
  dossierRefuser(input: $input) { ${PAYLOAD_DOSSIER} }
}`,
  dossierModifierAnnotations: `mutation dossierModifierAnnotations($input: DossierModifierAnnotationsInput!) {
  dossierModifierAnnotations(input: $input) { annotations { id stringValue } errors { message } }
}`,
};

/** The request a mutation becomes: what a dry run prints, what `send` posts. */
export function mutationRequest(dossierId: string, instructeurId: string, mutation: WriteBackMutation): { operationName: string; variables: { input: Record<string, unknown> } } {
  const input: Record<string, unknown> = { dossierId, instructeurId };
  if (mutation.name === 'dossierAccepter' || mutation.name === 'dossierRefuser') input.motivation = mutation.motivation;
  if (mutation.name === 'dossierModifierAnnotations') input.annotations = mutation.annotations;
  return { operationName: mutation.name, variables: { input } };
}

export interface DsMutationsOptions extends DsGraphqlClientOptions {
  /** The instructeur DS records as the author of each change (GraphQL id). */
  instructeurId: string;
}

interface Payload {
  dossier?: { id?: string; state?: string } | null;
  errors?: { message?: string }[] | null;
}

export class DsMutations implements DsDecisionWriter {
  private readonly client: DsGraphqlClient;
  readonly instructeurId: string;
  /** Requests sent (reads and mutations), for tests and logs. */
  requests = 0;

  constructor(options: DsMutationsOptions) {
    const { instructeurId, ...clientOptions } = options;
    // Every request of this writer, retries included, takes a token: the given pacer, or by
    // default 380 a minute in bursts of 10.
    const pacer = clientOptions.pacer ?? new TokenBucket(undefined, undefined, options.now, options.sleep);
    this.client = new DsGraphqlClient({ userAgent: 'ds-selection-write-back', ...clientOptions, pacer });
    this.instructeurId = instructeurId;
  }

  async readDossier(number: number): Promise<DsDossierView | undefined> {
    const { data, errors } = await this.call<{ dossier?: RawDossier | null }>(WRITE_BACK_READ_QUERY, { number }, 'getDossierForWriteBack');
    if (errors.some((e) => e.extensions?.code === 'not_found')) return undefined;
    if (errors.length > 0) throw new DsUnavailableError(`DS answered getDossierForWriteBack with errors: ${errors.map((e) => e.message).join('; ').slice(0, 300)}`);
    const dossier = data?.dossier;
    if (!dossier) return undefined;
    if (typeof dossier.id !== 'string' || !(DS_STATES as readonly string[]).includes(dossier.state ?? '')) {
      throw new DsProtocolError('DS answered getDossierForWriteBack in an unexpected shape (id, state)');
    }
    return {
      id: dossier.id,
      number: Number(dossier.number ?? number),
      state: dossier.state as DsState,
      motivation: dossier.motivation ?? null,
      annotations: Object.fromEntries((dossier.annotations ?? []).map((a) => [a.id, a.stringValue ?? null])),
    };
  }

  async send(dossierId: string, mutation: WriteBackMutation): Promise<MutationOutcome> {
    const { operationName, variables } = mutationRequest(dossierId, this.instructeurId, mutation);
    const { data, errors } = await this.call<Record<string, Payload | null>>(MUTATION_DOCUMENTS[mutation.name], variables, operationName);
    // Top-level errors: an argument DS refused (an unknown instructeur or dossier id, a missing motivation).
    if (errors.length > 0) return { ok: false, errors: errors.map((e) => e.message) };
    const payload = data?.[mutation.name];
    const refused = (payload?.errors ?? []).map((e) => e.message ?? 'refused');
    if (refused.length > 0) return { ok: false, errors: refused };
    if (!payload) return { ok: false, errors: [`DS answered ${operationName} without a payload`] };
    const state = payload.dossier?.state;
    return { ok: true, ...(state && (DS_STATES as readonly string[]).includes(state) ? { state: state as DsState } : {}) };
  }

  private async call<T>(query: string, variables: Record<string, unknown>, operationName: string) {
    this.requests += 1;
    return this.client.request<T>(query, variables, operationName);
  }
}

interface RawDossier {
  id?: string;
  number?: number;
  state?: string;
  motivation?: string | null;
  annotations?: { id: string; stringValue?: string | null }[];
}
