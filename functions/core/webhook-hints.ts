import type { LegacyWebhookBody, V2Event } from '#schemas/ds-webhook';
import type { IngestMessage } from '#schemas/ingest-message';

/**
 * Why a webhook for a démarche we do not serve is refused (and not silently dropped): a DS
 * URL pasted in the wrong démarche, or a cloned démarche not yet configured, shows up at once.
 */
export function foreignDemarcheReason(demarcheNumber: number, served: number[]): string | undefined {
  return served.includes(demarcheNumber)
    ? undefined
    : `démarche ${demarcheNumber} is not served here (DS_DEMARCHE_NUMBER is ${served.join(', ')})`;
}

export function hintFromLegacyWebhook(body: LegacyWebhookBody, receivedAt: Date): IngestMessage {
  return {
    demarcheNumber: body.procedure_id,
    dossierNumber: body.dossier_id,
    hint: { source: 'webhook', state: body.state, updatedAt: body.updated_at, receivedAt: receivedAt.toISOString() },
  };
}

export function hintFromV2Event(demarcheNumber: number, event: V2Event, receivedAt: Date): IngestMessage {
  return {
    demarcheNumber,
    dossierNumber: event.dossier_number,
    hint: {
      source: 'webhook-v2',
      eventType: event.type,
      sequence: event.sequence,
      updatedAt: new Date(event.timestamp).toISOString(),
      receivedAt: receivedAt.toISOString(),
    },
  };
}
