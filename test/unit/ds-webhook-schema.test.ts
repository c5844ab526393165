import { describe, expect, it } from 'vitest';
import { LegacyWebhookBodySchema, V2WebhookBodySchema, parseDsUpdatedAt } from '#schemas/ds-webhook';

describe('legacy webhook body', () => {
  const body = { procedure_id: '98765', dossier_id: '23456789', state: 'en_construction', updated_at: '2026-03-05 14:22:10 +0100' };

  it('parses the form fields DS sends and normalises the Paris-offset date to UTC', () => {
    expect(LegacyWebhookBodySchema.parse(body)).toEqual({
      procedure_id: 98765, dossier_id: 23456789, state: 'en_construction', updated_at: '2026-03-05T13:22:10.000Z',
    });
  });

  it('accepts the documented "UTC" form of updated_at and the summer offset', () => {
    expect(parseDsUpdatedAt('2018-10-25 10:32:42 UTC')).toBe('2018-10-25T10:32:42.000Z');
    expect(parseDsUpdatedAt('2026-07-01 09:00:00 +0200')).toBe('2026-07-01T07:00:00.000Z');
    expect(parseDsUpdatedAt('2026-07-01T09:00:00+02:00')).toBe('2026-07-01T07:00:00.000Z');
  });

  it.each([
    ['dossier_id', { dossier_id: 'abc' }],
    ['procedure_id', { procedure_id: '-3' }],
    ['state', { state: 'brouillon' }],
    ['updated_at', { updated_at: 'yesterday' }],
  ])('names the bad field %s', (field, patch) => {
    const result = LegacyWebhookBodySchema.safeParse({ ...body, ...patch });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path).toEqual([field]);
  });

  it('reports a missing field', () => {
    const { dossier_id: _, ...rest } = body;
    const result = LegacyWebhookBodySchema.safeParse(rest);
    expect(result.error!.issues.map((i) => i.path[0])).toEqual(['dossier_id']);
  });
});

describe('webhooks v2 body', () => {
  const event = { sequence: 918273, type: 'dossier_depose', dossier_number: 23456789, timestamp: '2026-03-05T14:22:10+01:00' };

  it('parses a batch', () => {
    const parsed = V2WebhookBodySchema.parse({ webhook_id: 'V2ViaG9vay00Mg==', demarche_number: 98765, events: [event] });
    expect(parsed.events[0]!.dossier_number).toBe(23456789);
  });

  it('keeps unknown future event types', () => {
    const parsed = V2WebhookBodySchema.parse({ webhook_id: 'w', demarche_number: 1, events: [{ ...event, type: 'dossier_archive' }] });
    expect(parsed.events[0]!.type).toBe('dossier_archive');
  });

  it('refuses an empty batch and more than 100 events', () => {
    expect(V2WebhookBodySchema.safeParse({ webhook_id: 'w', demarche_number: 1, events: [] }).success).toBe(false);
    const many = Array.from({ length: 101 }, (_, i) => ({ ...event, sequence: i }));
    expect(V2WebhookBodySchema.safeParse({ webhook_id: 'w', demarche_number: 1, events: many }).success).toBe(false);
  });
});
