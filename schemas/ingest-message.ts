import * as z from 'zod';

/**
 * What the webhook receivers (and later the reconciler and `sync`) put on the ingest queue.
 * It is a hint only: the worker always re-reads the dossier from DS.
 */
export const IngestMessageSchema = z.object({
  demarcheNumber: z.number().int().positive(),
  dossierNumber: z.number().int().positive(),
  hint: z.object({
    source: z.enum(['webhook', 'webhook-v2', 'sync', 'reconcile', 'staff']),
    state: z.string().optional(),
    /** ISO instant the sender says the dossier changed at. */
    updatedAt: z.string().optional(),
    /** v2 event type, e.g. `dossier_supprime`. */
    eventType: z.string().optional(),
    sequence: z.number().int().optional(),
    receivedAt: z.iso.datetime(),
  }),
});
export type IngestMessage = z.infer<typeof IngestMessageSchema>;
