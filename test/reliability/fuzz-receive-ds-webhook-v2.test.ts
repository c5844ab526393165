import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sign } from '#core/standard-webhooks';
import { V2_EVENT_TYPES } from '#schemas/ds-webhook';
import { deepJson, fcParameters, hostileString, recordSdkCommands, StatusTally } from '../helpers/fuzz.ts';
import { httpEvent, lambdaContext, withEnv } from '../helpers/lambda.ts';

// Issue 7, point 4: POST /webhooks/ds-v2 (Standard Webhooks signed JSON) under 10,000+
// generated requests, through the real handler module; SQS and the dedupe log's DynamoDB
// table are mocked (an in-memory set of seen sequences). Each request is built from parts
// whose validity is known: the signature headers (id, timestamp near and far, one or several
// signatures, two secrets during a rotation), the size, each field of the batch and of each
// event. Expected: 413 above 256 KiB, 401 unless signed, 400 naming every bad field, 422 for
// another démarche, else 200 and one hint per new sequence. Refused: no SQS call, no DynamoDB
// call at all. Never a 5xx.

const SECRET_A = 'whsec_BwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyAhIiMkJSY=';
const SECRET_B = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;
const OTHER_SECRET = `whsec_${Buffer.alloc(32, 1).toString('base64')}`;
const MAX_BODY_BYTES = 256 * 1024;
const NOW_SECONDS = 1_772_716_967;
const RECEIVED_AT = new Date(NOW_SECONDS * 1000).toISOString();

const sqs = mockClient(SQSClient);
const dynamo = mockClient(DynamoDBDocumentClient);
const seen = new Set<string>();
const tally = new StatusTally('POST /webhooks/ds-v2');
let handler: (event: unknown, context: unknown) => Promise<{ statusCode: number; body: string }>;
let restoreEnv: () => void;
let sdk: ReturnType<typeof recordSdkCommands>;

// ---- parts with known validity -------------------------------------------------------------

interface Value { json: unknown; valid: boolean; absent?: boolean; foreign?: boolean }
const ok = (json: unknown, extra: Partial<Value> = {}): Value => ({ json, valid: true, ...extra });
const bad = (json: unknown): Value => ({ json, valid: false });
const ABSENT: Value = { json: undefined, valid: false, absent: true };
const often = <T>(good: fc.Arbitrary<T>, ...others: fc.Arbitrary<T>[]) =>
  fc.oneof({ weight: 14, arbitrary: good }, ...others.map((arbitrary) => ({ weight: 1, arbitrary })));

const dsNumber = often(
  fc.integer({ min: 1, max: 2 ** 31 - 1 }).map((n) => ok(n)),
  fc.constantFrom(bad(0), bad(-1), bad(1.5), bad(2 ** 31), bad(1e20), bad('23456789'), bad(null), bad(true), bad([1]), ABSENT),
);
const webhookIds = often(
  fc.constantFrom(ok('V2ViaG9vay00Mg=='), ok('A'.repeat(128)), ok('V2ViaG9vay00Mg'), ok('a-b_c+/=')),
  fc.constantFrom(bad(''), bad('A'.repeat(129)), bad('A'.repeat(2_100)), bad('V2ViaG9vay00Mg==\u0000#SEQ'), bad('Webhook 42'), bad(42), bad(null), ABSENT),
  hostileString().filter((s) => !/^[A-Za-z0-9+/=_-]{1,128}$/.test(s)).map(bad),
);
const demarches = fc.oneof(
  { weight: 14, arbitrary: fc.constant(ok(98765)) },
  { weight: 2, arbitrary: fc.constantFrom(ok(11111, { foreign: true }), ok(2 ** 31 - 1, { foreign: true })) },
  { weight: 1, arbitrary: fc.constantFrom(bad('98765'), bad(0), bad(2 ** 31), bad(98765.5), bad(null), ABSENT) },
);
const eventFields = {
  sequence: often(
    fc.oneof(fc.integer({ min: 0, max: 30 }), fc.constantFrom(0, 10 ** 15 - 1)).map((n) => ok(n)),
    fc.constantFrom(bad(-1), bad(10 ** 15), bad(2 ** 53), bad(1.5), bad('12'), bad(null), ABSENT),
  ),
  type: often(
    fc.oneof(fc.constantFrom(...V2_EVENT_TYPES), fc.constantFrom('future_event_type', 'a', `a${'b'.repeat(63)}`)).map((t) => ok(t)),
    fc.constantFrom(bad('Dossier Modifié'), bad('x'.repeat(65)), bad(''), bad('_modifie'), bad('dossier-modifie'), bad(3), ABSENT),
    hostileString().filter((s) => !/^[a-z][a-z0-9_]{0,63}$/.test(s)).map(bad),
  ),
  dossier_number: dsNumber,
  timestamp: often(
    fc.constantFrom('2026-03-05T14:22:10+01:00', '2026-03-05T13:22:10Z', '2026-03-05T13:22:10.123456Z', '1999-12-31T23:59:59-12:00').map((t) => ok(t)),
    fc.constantFrom(bad('2026-03-05'), bad('2026-03-05 14:22:10 +0100'), bad('hier'), bad(1772716930), bad(null), ABSENT),
  ),
};
const events = fc.record(eventFields);
type EventParts = typeof events extends fc.Arbitrary<infer E> ? E : never;

const eventLists: fc.Arbitrary<{ json: unknown; valid: boolean; events: EventParts[] }> = fc.oneof(
  { weight: 14, arbitrary: fc.array(events, { minLength: 1, maxLength: 6 }).map((list) => ({ json: null, valid: true, events: list })) },
  { weight: 1, arbitrary: fc.constantFrom(100, 101).chain((n) => fc.array(fc.record({
    sequence: fc.integer({ min: 0, max: 500 }).map((s) => ok(s)), type: fc.constant(ok('dossier_modifie')),
    dossier_number: fc.constant(ok(23456789)), timestamp: fc.constant(ok('2026-03-05T13:22:10Z')),
  }), { minLength: n, maxLength: n })).map((list) => ({ json: null, valid: list.length <= 100, events: list })) },
  { weight: 1, arbitrary: fc.constantFrom(bad([]), bad({}), bad('[]'), bad(null), ABSENT).map((v) => ({ ...v, events: [] })) },
);

type BodyPart =
  | { mode: 'batch'; webhookId: Value; demarche: Value; list: { json: unknown; valid: boolean; absent?: boolean; events: EventParts[] }; extra: unknown; padding: number; spaces: boolean }
  | { mode: 'junk'; text: string }
  | { mode: 'bytes'; bytes: Uint8Array };
const bodies: fc.Arbitrary<BodyPart> = fc.oneof(
  { weight: 10, arbitrary: fc.record({
    mode: fc.constant('batch' as const), webhookId: webhookIds, demarche: demarches, list: eventLists,
    extra: fc.oneof({ weight: 4, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) }),
    padding: fc.oneof({ weight: 12, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(MAX_BODY_BYTES - 50, MAX_BODY_BYTES, MAX_BODY_BYTES + 1, 400_000) }),
    spaces: fc.boolean(),
  }) },
  { weight: 2, arbitrary: fc.oneof(hostileString(), deepJson(), fc.jsonValue({ maxDepth: 5 }).map((v) => JSON.stringify(v) ?? 'null'),
    fc.constantFrom('', '{', 'null', '[]', '{"webhook_id":', '{"events":[{}]}')).map((text) => ({ mode: 'junk' as const, text })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2_000 }).map((bytes) => ({ mode: 'bytes' as const, bytes })) },
);

type Signing = { valid: boolean; header: (sign: (secret: string, id?: string, ts?: string, body?: Buffer) => string) => string | undefined };
const signatures: fc.Arbitrary<Signing> = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom<Signing>(
    { valid: true, header: (s) => s(SECRET_A) },
    { valid: true, header: (s) => s(SECRET_B) },
    { valid: true, header: (s) => `v1,${Buffer.alloc(32).toString('base64')} ${s(SECRET_A)}` },
    { valid: true, header: (s) => `${s(OTHER_SECRET)}  ${s(SECRET_B)} v2,abc` },
  ) },
  { weight: 4, arbitrary: fc.constantFrom<Signing>(
    { valid: false, header: (s) => s(OTHER_SECRET) },
    { valid: false, header: (s) => s(SECRET_A, undefined, undefined, Buffer.from('\u0000not the body')) },
    { valid: false, header: (s) => s(SECRET_A, '\u0000another id') },
    { valid: false, header: (s) => s(SECRET_A, undefined, 'another timestamp') },
    { valid: false, header: (s) => s(SECRET_A).replace('v1,', 'v2,') },
    { valid: false, header: (s) => s(SECRET_A).replace('v1,', 'V1,') },
    { valid: false, header: (s) => s(SECRET_A).replace('v1,', '') },
    { valid: false, header: (s) => s(SECRET_A).slice(0, -2) },
    { valid: false, header: (s) => `${s(SECRET_A)}=` },
    { valid: false, header: (s) => s(SECRET_A).replace('v1,', 'v1, ') },
    { valid: false, header: (s) => `v1,${s(SECRET_A).slice(3).toLowerCase()}` },
    { valid: false, header: () => 'v1,' },
    { valid: false, header: () => '' },
    { valid: false, header: () => undefined },
  ) },
  { weight: 1, arbitrary: hostileString().map((junk): Signing => ({ valid: false, header: () => junk })) },
);

type Stamp = { valid: boolean; value: string | undefined };
const timestamps: fc.Arbitrary<Stamp> = fc.oneof(
  { weight: 10, arbitrary: fc.integer({ min: -300, max: 300 }).map((d) => ({ valid: true, value: String(NOW_SECONDS + d) })) },
  { weight: 1, arbitrary: fc.constantFrom<Stamp>({ valid: true, value: `000${NOW_SECONDS}` }, { valid: true, value: String(NOW_SECONDS + 300) }, { valid: true, value: String(NOW_SECONDS - 300) }) },
  { weight: 3, arbitrary: fc.oneof(
    fc.oneof(fc.integer({ min: 301, max: 10 ** 9 }), fc.integer({ min: -(10 ** 9), max: -301 })).map((d) => String(NOW_SECONDS + d)),
    fc.constantFrom(String(NOW_SECONDS + 301), String(NOW_SECONDS - 301), '0', '9'.repeat(400), `${NOW_SECONDS}000`, `-${NOW_SECONDS}`, `${NOW_SECONDS}.0`,
      '1.772716967e9', ` ${NOW_SECONDS}`, `${NOW_SECONDS} `, '０', 'now', ''),
    hostileString().filter((s) => !/^\d+$/.test(s)),
  ).map((value) => ({ valid: false, value })) },
  { weight: 1, arbitrary: fc.constant<Stamp>({ valid: false, value: undefined }) },
);
const ids = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom('msg_42_918273_918275', 'msg_2s8Jx', 'x').map((value) => ({ valid: true, value })) },
  { weight: 1, arbitrary: hostileString().filter((s) => s !== '').map((value) => ({ valid: true, value })) },
  { weight: 1, arbitrary: fc.constantFrom({ valid: false, value: '' }, { valid: false, value: undefined }) },
);

const requests = fc.record({
  id: ids, timestamp: timestamps, signature: signatures, body: bodies, base64: fc.boolean(), replay: fc.boolean(),
  contentType: fc.constantFrom<string | undefined>('application/json', 'application/json; charset=utf-8', 'text/plain', undefined, 'application/x-www-form-urlencoded'),
});
type Request = typeof requests extends fc.Arbitrary<infer R> ? R : never;

// ---- the oracle ------------------------------------------------------------------------------

interface Expected { status: number; fields?: string[]; messages?: unknown[]; received?: number }

function build(request: Request): { event: Record<string, unknown>; expected: Expected } {
  const { body } = request;
  let raw: Buffer;
  let expected: Expected;
  if (body.mode === 'batch') {
    const invalid: string[] = [];
    const object: Record<string, unknown> = {};
    if (body.extra !== undefined) object.extra = body.extra;
    const put = (name: string, v: Value) => {
      if (!v.absent) object[name] = v.json;
      if (!v.valid) invalid.push(name);
    };
    put('webhook_id', body.webhookId);
    put('demarche_number', body.demarche);
    if (body.list.json !== null || body.list.absent) put('events', body.list as Value);
    else {
      if (!body.list.valid) invalid.push('events');
      object.events = body.list.events.map((e, i) => {
        const event: Record<string, unknown> = {};
        for (const [name, v] of Object.entries(e) as [string, Value][]) {
          if (!v.absent) event[name] = v.json;
          if (!v.valid) invalid.push(`events.${i}.${name}`);
        }
        return event;
      });
    }
    if (body.padding > 0) object.padding = '';
    const encode = () => JSON.stringify(object, null, body.spaces ? 1 : 0);
    if (body.padding > 0) object.padding = 'x'.repeat(Math.max(0, body.padding - Buffer.byteLength(encode())));
    raw = Buffer.from(encode());
    if (invalid.length > 0) expected = { status: 400, fields: invalid };
    else if (body.demarche.foreign) expected = { status: 422 };
    else {
      const list = body.list.events.map((e) => Object.fromEntries(Object.entries(e).map(([k, v]) => [k, (v as Value).json])) as { sequence: number; type: string; dossier_number: number; timestamp: string });
      const first = list.filter((e, i) => list.findIndex((o) => o.sequence === e.sequence) === i);
      expected = { status: 200, received: list.length, messages: first.map((e) => ({
        demarcheNumber: 98765, dossierNumber: e.dossier_number,
        hint: { source: 'webhook-v2', eventType: e.type, sequence: e.sequence, updatedAt: new Date(e.timestamp).toISOString(), receivedAt: RECEIVED_AT },
      })) };
    }
  } else {
    raw = body.mode === 'junk' ? Buffer.from(body.text) : Buffer.from(body.bytes);
    expected = { status: 400, fields: ['body', 'webhook_id', 'demarche_number', 'events'] }; // at least one named
  }
  const id = request.id.value;
  const timestamp = request.timestamp.value;
  const signature = request.signature.header((secret, i = id ?? '', t = timestamp ?? '', b = raw) => sign(secret, i, t, b));
  const signed = request.id.valid && request.timestamp.valid && request.signature.valid;
  if (!signed) expected = { status: 401 };
  if (raw.length > MAX_BODY_BYTES) expected = { status: 413 };

  const headers: Record<string, string> = { host: 'abc123.execute-api.eu-west-3.amazonaws.com', 'user-agent': 'demarche.numerique.gouv.fr' };
  if (request.contentType) headers['content-type'] = request.contentType;
  if (id !== undefined) headers['webhook-id'] = id;
  if (timestamp !== undefined) headers['webhook-timestamp'] = timestamp;
  if (signature !== undefined) headers['webhook-signature'] = signature;
  const base64 = request.base64 || !Buffer.from(raw.toString('utf8')).equals(raw);
  return { event: { ...httpEvent('ds-webhook-v2.json'), headers, body: raw.toString(base64 ? 'base64' : 'utf8'), isBase64Encoded: base64 }, expected };
}

const queued = () => sqs.commandCalls(SendMessageBatchCommand).flatMap((c) => c.args[0].input.Entries!.map((e) => JSON.parse(e.MessageBody!)));
const key = (item: Record<string, unknown>) => `${item.pk}|${item.sk}`;

beforeAll(async () => {
  restoreEnv = withEnv({
    DS_DEMARCHE_NUMBER: '98765', INGEST_QUEUE_URL: 'https://sqs.eu-west-3.amazonaws.com/123456789012/ingest', TABLE_NAME: 'fuzz-table',
    DS_WEBHOOK_V2_SECRET: `${SECRET_A} ${SECRET_B}`, AWS_REGION: 'eu-west-3', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  vi.resetModules();
  handler = (await import('../../functions/receive-ds-webhook-v2.ts')).handler as unknown as typeof handler;
  vi.useFakeTimers({ now: NOW_SECONDS * 1000, toFake: ['Date'] });
  sdk = recordSdkCommands();
  sqs.on(SendMessageBatchCommand).callsFake((input) => ({
    Successful: input.Entries.map((e: { Id: string }) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: '' })), Failed: [],
  }));
  // The dedupe log: an in-memory set of (pk, sk), as BatchGetItem and BatchWriteItem see it.
  dynamo.on(BatchGetCommand).callsFake((input) => {
    const [table, { Keys }] = Object.entries(input.RequestItems as Record<string, { Keys: Record<string, unknown>[] }>)[0]!;
    return { Responses: { [table]: Keys.filter((k) => seen.has(key(k))).map((k) => ({ sequence: Number(String(k.sk).slice(4)) })) }, UnprocessedKeys: {} };
  });
  dynamo.on(BatchWriteCommand).callsFake((input) => {
    for (const requests of Object.values(input.RequestItems as Record<string, { PutRequest: { Item: Record<string, unknown> } }[]>)) {
      for (const { PutRequest } of requests) seen.add(key(PutRequest.Item));
    }
    return { UnprocessedItems: {} };
  });
});
afterAll(() => {
  tally.print();
  vi.useRealTimers();
  vi.restoreAllMocks();
  restoreEnv();
});

const written = () => dynamo.commandCalls(BatchWriteCommand).flatMap((c) => Object.values(c.args[0].input.RequestItems!).flat());

describe('POST /webhooks/ds-v2 under generated requests', () => {
  it('answers the exact 4xx for every refused request and touches nothing; queues each new sequence once for every signed valid batch; never 5xx', async () => {
    await fc.assert(fc.asyncProperty(requests, async (request) => {
      const { event, expected } = build(request);
      seen.clear();
      sqs.resetHistory();
      dynamo.resetHistory();
      sdk.clear();
      const response = await handler(structuredClone(event), lambdaContext('receive-ds-webhook-v2'));
      tally.record(response.statusCode);
      expect(response.statusCode).toBeLessThan(500);
      expect(response.statusCode).toBe(expected.status);
      expect(sdk.commands).toEqual([]); // only the mocked SQS and DynamoDB clients are ever called
      if (expected.status !== 200) {
        expect(sqs.calls()).toEqual([]);
        expect(dynamo.calls()).toEqual([]);
        if (expected.status === 400) {
          const named = expected.fields!.filter((f) => response.body.includes(f === 'body' ? 'body' : `${f}:`));
          if (request.body.mode === 'batch') expect(named).toEqual(expected.fields);
          else expect(named.length).toBeGreaterThan(0);
        }
        return;
      }
      const messages = expected.messages!;
      expect(JSON.parse(response.body)).toEqual({ received: expected.received, queued: messages.length, duplicates: expected.received! - messages.length });
      expect(queued()).toEqual(messages);
      expect(written()).toHaveLength(messages.length);
      if (request.replay) {
        // DS delivers at least once: the same delivery again queues and writes nothing more.
        sqs.resetHistory();
        dynamo.resetHistory();
        const again = await handler(structuredClone(event), lambdaContext('receive-ds-webhook-v2'));
        tally.record(again.statusCode);
        expect(again.statusCode).toBe(200);
        expect(JSON.parse(again.body)).toMatchObject({ queued: 0, duplicates: expected.received });
        expect(sqs.calls()).toEqual([]);
        expect(written()).toEqual([]);
      }
    }), fcParameters(10_000));
    for (const status of [200, 400, 401, 413, 422]) expect(tally.counts.get(status) ?? 0, `status ${status}`).toBeGreaterThan(tally.runs / 200);
  }, 120_000);
});
