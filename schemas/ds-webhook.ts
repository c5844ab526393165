import * as z from 'zod';

/** Dossier states a legacy webhook can carry (DS `Dossier.states`, minus brouillon). */
export const DossierStateSchema = z.enum(['en_construction', 'en_instruction', 'accepte', 'refuse', 'sans_suite']);
export type DossierState = z.infer<typeof DossierStateSchema>;

/**
 * DS writes `updated_at` with Ruby's Time#to_s: the doc shows `2018-10-25 10:32:42 UTC`,
 * the current code (time zone Paris) gives `2026-03-05 14:22:10 +0100`. Both are accepted
 * and normalised to an ISO 8601 instant.
 */
const RUBY_TIME = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) (UTC|[+-]\d{2}:?\d{2})$/;

export function parseDsUpdatedAt(value: string): string | undefined {
  const match = RUBY_TIME.exec(value.trim());
  if (!match) {
    const iso = z.iso.datetime({ offset: true }).safeParse(value);
    return iso.success ? new Date(iso.data).toISOString() : undefined;
  }
  const [, day, time, zone] = match;
  const offset = zone === 'UTC' ? 'Z' : `${zone!.slice(0, 3)}:${zone!.slice(-2)}`;
  const date = new Date(`${day}T${time}${offset}`);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/**
 * Every id taken from a request is bounded here, at the edge: an unbounded one reaches a
 * DynamoDB key (2,048 bytes at most: a longer one is a 500 that DS retries for a day) or the
 * DS API (whose numbers are GraphQL `Int`, 32-bit: a bigger one can never be a dossier).
 */
export const GRAPHQL_INT_MAX = 2 ** 31 - 1;

/** A DS dossier or démarche number: GraphQL `Int`, so 1 to 2^31 - 1. */
const dsNumber = (what: string) =>
  z.number(`${what} must be a number`).int(`${what} must be a positive integer`).positive(`${what} must be a positive integer`)
    .max(GRAPHQL_INT_MAX, `${what} must be at most ${GRAPHQL_INT_MAX} (a DS number is a GraphQL Int)`);

const positiveIntFromString = (what: string) =>
  // Ten digits at most before Number(): a longer string is refused without being converted.
  z.union([z.number(), z.string().trim().regex(/^\d{1,10}$/, `${what} must be a positive integer of at most 10 digits`)])
    .transform(Number)
    .pipe(dsNumber(what));

/** The legacy webhook body (form-encoded, or JSON when a proxy re-encodes it). Unknown keys are ignored. */
export const LegacyWebhookBodySchema = z.object({
  procedure_id: positiveIntFromString('procedure_id'),
  dossier_id: positiveIntFromString('dossier_id'),
  state: DossierStateSchema,
  updated_at: z.string().max(64, 'updated_at must be at most 64 characters').transform((value, ctx) => {
    const iso = parseDsUpdatedAt(value);
    if (!iso) {
      ctx.addIssue({ code: 'custom', message: 'updated_at must look like "2026-03-05 14:22:10 +0100" or "2018-10-25 10:32:42 UTC"' });
      return z.NEVER;
    }
    return iso;
  }),
});
export type LegacyWebhookBody = z.infer<typeof LegacyWebhookBodySchema>;

/** The 17 event types of DS webhooks v2 (Webhook::EVENT_TYPES); unknown future types are still accepted. */
export const V2_EVENT_TYPES = [
  'dossier_depose', 'dossier_en_instruction', 'dossier_accepte', 'dossier_refuse', 'dossier_sans_suite',
  'dossier_repasse_en_construction', 'dossier_repasse_en_instruction', 'dossier_modifie', 'correction_demandee',
  'groupe_instructeur_change', 'dossier_supprime', 'dossier_restaure', 'message_cree', 'avis_cree',
  'avis_repondu', 'dossier_label_ajoute', 'dossier_label_supprime',
] as const;

/** The dedupe key pads `sequence` to 15 digits (functions/adapters/dynamodb/webhook-event-log.ts): beyond, keys would stop sorting. */
export const MAX_V2_SEQUENCE = 10 ** 15 - 1;

/**
 * DS's `webhook_id` is a GraphQL global id (base64 of `Webhook-<n>`, e.g. `V2ViaG9vay00Mg==`).
 * The bound leaves room for any base64 or base64url id while keeping `WEBHOOK#<id>` far below
 * DynamoDB's 2,048-byte partition key limit.
 */
export const MAX_WEBHOOK_ID_LENGTH = 128;
const WEBHOOK_ID = /^[A-Za-z0-9+/=_-]+$/;

export const V2EventSchema = z.object({
  sequence: z.number('sequence must be a number').int('sequence must be an integer').nonnegative('sequence must not be negative')
    .max(MAX_V2_SEQUENCE, `sequence must be at most ${MAX_V2_SEQUENCE}`),
  // DS's event types are snake_case (V2_EVENT_TYPES); unknown future ones pass, but bounded.
  type: z.string('type must be a string').regex(/^[a-z][a-z0-9_]{0,63}$/, 'type must be a snake_case event type of at most 64 characters'),
  dossier_number: dsNumber('dossier_number'),
  timestamp: z.iso.datetime({ offset: true }),
});
export type V2Event = z.infer<typeof V2EventSchema>;

/** One signed delivery of DS webhooks v2: up to 100 thin events in sequence order. */
export const V2WebhookBodySchema = z.object({
  webhook_id: z.string('webhook_id must be a string')
    .min(1, 'webhook_id must not be empty')
    .max(MAX_WEBHOOK_ID_LENGTH, `webhook_id must be at most ${MAX_WEBHOOK_ID_LENGTH} characters`)
    .regex(WEBHOOK_ID, 'webhook_id must be letters, digits, +, /, =, - or _ (a DS GraphQL id)'),
  demarche_number: dsNumber('demarche_number'),
  events: z.array(V2EventSchema).min(1).max(100),
});
export type V2WebhookBody = z.infer<typeof V2WebhookBodySchema>;
