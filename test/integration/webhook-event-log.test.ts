import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookEventLog } from '#adapters/dynamodb/webhook-event-log';
import { ENGINES, type RunningEngine } from '../helpers/dynamodb-engines.ts';

interface TestEvent {
  sequence: number;
  dossier_number: number;
}

const event = (sequence: number): TestEvent => ({ sequence, dossier_number: 1000 + sequence });
const sequences = (events: TestEvent[]) => events.map((e) => e.sequence);

/** Each test gets its own webhook id, so tests sharing a table stay independent. */
let lastWebhook = 0;
const newWebhookId = () => `wh-${++lastWebhook}`;

const NOW = new Date('2026-03-05T12:00:00.000Z');
const NOW_SECONDS = NOW.getTime() / 1000;
const DAY = 24 * 60 * 60;

describe.each(ENGINES)('WebhookEventLog on $name', ({ start }) => {
  let engine: RunningEngine;
  let log: WebhookEventLog;

  beforeAll(async () => {
    engine = await start();
    log = new WebhookEventLog({ client: engine.client, tableName: engine.tableName, now: () => NOW });
  });
  afterAll(async () => {
    await engine?.stop();
  });

  it('lets every event of a new webhook through, in order', async () => {
    const events = [event(3), event(1), event(2)];
    expect(await log.unseen(newWebhookId(), events)).toEqual(events);
  });

  it('drops the events marked seen, and keeps the order of the others', async () => {
    const webhookId = newWebhookId();
    await log.markSeen(webhookId, [event(2), event(4)]);
    const fresh = await log.unseen(webhookId, [event(1), event(2), event(3), event(4), event(5)]);
    expect(sequences(fresh)).toEqual([1, 3, 5]);
  });

  it('keeps one event per sequence when the input repeats one', async () => {
    const first = { sequence: 7, dossier_number: 1 };
    const repeat = { sequence: 7, dossier_number: 2 };
    expect(await log.unseen(newWebhookId(), [first, event(8), repeat])).toEqual([first, event(8)]);
  });

  it('accepts duplicates in markSeen', async () => {
    const webhookId = newWebhookId();
    await log.markSeen(webhookId, [event(1), event(1), event(2)]);
    expect(await log.unseen(webhookId, [event(1), event(2), event(3)])).toEqual([event(3)]);
  });

  it('keeps webhooks apart: the same sequence on another webhook is new', async () => {
    const seenOn = newWebhookId();
    await log.markSeen(seenOn, [event(1)]);
    expect(await log.unseen(newWebhookId(), [event(1)])).toEqual([event(1)]);
    expect(await log.unseen(seenOn, [event(1)])).toEqual([]);
  });

  it('handles more events than one batch call takes (100 per get, 25 per write)', async () => {
    const webhookId = newWebhookId();
    const events = Array.from({ length: 260 }, (_, index) => event(index));
    const seen = events.filter((e) => e.sequence % 3 === 0 || e.sequence > 230);
    await log.markSeen(webhookId, seen);
    const fresh = await log.unseen(webhookId, events);
    expect(sequences(fresh)).toEqual(sequences(events.filter((e) => !seen.includes(e))));
    expect(fresh).toHaveLength(260 - seen.length);
  });

  it('answers an empty list for no events, without writing anything', async () => {
    const webhookId = newWebhookId();
    expect(await log.unseen(webhookId, [])).toEqual([]);
    await log.markSeen(webhookId, []);
  });

  it('stores the documented item, expiring after the retention period (8 days by default)', async () => {
    const webhookId = newWebhookId();
    await log.markSeen(webhookId, [event(42)]);
    const { Item } = await engine.client.send(new GetCommand({
      TableName: engine.tableName, Key: { pk: `WEBHOOK#${webhookId}`, sk: 'SEQ#000000000000042' },
    }));
    expect(Item).toEqual({
      pk: `WEBHOOK#${webhookId}`, sk: 'SEQ#000000000000042', type: 'webhook_event', webhookId, sequence: 42,
      seenAt: NOW.toISOString(), expiresAt: NOW_SECONDS + 8 * DAY,
    });

    const shortLog = new WebhookEventLog({ client: engine.client, tableName: engine.tableName, retentionDays: 2, now: () => NOW });
    await shortLog.markSeen(webhookId, [event(43)]);
    const { Item: short } = await engine.client.send(new GetCommand({
      TableName: engine.tableName, Key: { pk: `WEBHOOK#${webhookId}`, sk: 'SEQ#000000000000043' },
    }));
    expect(short?.expiresAt).toBe(NOW_SECONDS + 2 * DAY);
  });

  it('refuses a sequence that is not a non-negative integer', async () => {
    await expect(log.unseen(newWebhookId(), [{ sequence: -1 }])).rejects.toBeInstanceOf(RangeError);
    await expect(log.markSeen(newWebhookId(), [{ sequence: 1.5 }])).rejects.toBeInstanceOf(RangeError);
  });
});
