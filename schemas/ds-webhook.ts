import { z } from 'zod';

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

const positiveIntFromString = (what: string) =>
  z.union([z.number(), z.string().trim().regex(/^\d+$/, `${what} must be a positive integer`)])
    .transform(Number)
    .pipe(z.number().int().positive(`${what} must be a positive integer`));

/** The legacy webhook body (form-encoded, or JSON when a proxy re-encodes it). Unknown keys are ignored. */
export const LegacyWebhookBodySchema = z.object({
  procedure_id: positiveIntFromString('procedure_id'),
  dossier_id: positiveIntFromString('dossier_id'),
  state: DossierStateSchema,
  updated_at: z.string().transform((value, ctx) => {
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

export const V2EventSchema = z.object({
  sequence: z.number().int().nonnegative(),
  type: z.string().min(1),
  dossier_number: z.number().int().positive(),
  timestamp: z.iso.datetime({ offset: true }),
});
export type V2Event = z.infer<typeof V2EventSchema>;

/** One signed delivery of DS webhooks v2: up to 100 thin events in sequence order. */
export const V2WebhookBodySchema = z.object({
  webhook_id: z.string().min(1),
  demarche_number: z.number().int().positive(),
  events: z.array(V2EventSchema).min(1).max(100),
});
export type V2WebhookBody = z.infer<typeof V2WebhookBodySchema>;
