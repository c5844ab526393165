import * as z from 'zod';
import { GraphqlErrorSchema } from './ds-dossier.ts';

/**
 * The answers of the DS GraphQL API that functions/adapters/ds-api/graphql-client.ts reads,
 * besides the dossier itself (schemas/ds-dossier.ts, validated by the core, not by the client).
 */

const isoDateTime = z.iso.datetime({ offset: true });

/** Any GraphQL answer: `data` may be null or partial when `errors` is present. */
export const GraphqlResponseSchema = z.looseObject({
  data: z.record(z.string(), z.unknown()).nullable().optional(),
  errors: z.array(GraphqlErrorSchema).optional(),
});

/** `dossier(number)`: the dossier is kept as DS sent it; only its presence is checked here. */
export const DossierAnswerSchema = z.looseObject({
  dossier: z.record(z.string(), z.unknown()).nullable(),
});

export const PageInfoSchema = z.object({
  hasNextPage: z.boolean(),
  /** Opaque; null on an empty page. Never persist a null cursor over a good one. */
  endCursor: z.string().nullable(),
});
export type PageInfo = z.infer<typeof PageInfoSchema>;

/**
 * A dossier as listed for reconciliation. `state` is a plain string, not the enum of
 * schemas/ds-dossier.ts: a state DS adds later must not stop the whole listing.
 */
export const DossierSummarySchema = z.looseObject({
  number: z.number().int().positive(),
  dateDerniereModification: isoDateTime,
  state: z.string().min(1),
});
export type DossierSummary = z.infer<typeof DossierSummarySchema>;

export const DeletedDossierSchema = z.looseObject({
  number: z.number().int().positive(),
  state: z.string().min(1),
  /** `user_request`, `expired`, `procedure_removed`, ... (DeletedDossierReason). */
  reason: z.string().min(1),
  /** DS's spelling. */
  dateSupression: isoDateTime,
});
export type DeletedDossier = z.infer<typeof DeletedDossierSchema>;

const page = <T extends z.ZodType>(node: T) => z.object({ pageInfo: PageInfoSchema, nodes: z.array(node) });

export const DemarcheDossiersAnswerSchema = z.object({
  demarche: z.object({ dossiers: page(DossierSummarySchema) }),
});

export const DeletedDossiersAnswerSchema = z.object({
  demarche: z.object({ deletedDossiers: page(DeletedDossierSchema) }),
});

/** `pendingDeletedDossiers`: the same DeletedDossierConnection, for dossiers in DS's bin. */
export const PendingDeletedDossiersAnswerSchema = z.object({
  demarche: z.object({ pendingDeletedDossiers: page(DeletedDossierSchema) }),
});

export interface Page<T> {
  nodes: T[];
  pageInfo: PageInfo;
}
