import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { fcParameters, headerCase, hostileString, deepJson, recordSdkCommands, StatusTally } from '../helpers/fuzz.ts';
import { httpEvent, lambdaContext, withEnv } from '../helpers/lambda.ts';

// Issue 7, point 4: POST /webhooks/ds/{token} (the legacy DS webhook) under 10,000+ generated
// requests, through the real handler module with SQS mocked. Each request is built from parts
// whose validity is known (the token, the content type, each field, the size), so the test
// knows the exact answer: 404 for a wrong token, 413 above 16 KiB, 415 for another content
// type, 400 naming every bad field, 422 for another démarche, else 200 and exactly one message.
// Refused: no SQS call, no other SDK call. Never a 5xx.

const TOKEN = '8f3c2a7e1d9b4f60a5c2e7d8b1f04a93';
const MAX_BODY_BYTES = 16 * 1024;
const FIELDS = ['procedure_id', 'dossier_id', 'state', 'updated_at'] as const;
type Field = typeof FIELDS[number];

const sqs = mockClient(SQSClient);
const tally = new StatusTally('POST /webhooks/ds/{token}');
let handler: (event: unknown, context: unknown) => Promise<{ statusCode: number; body: string }>;
let restoreEnv: () => void;
let sdk: ReturnType<typeof recordSdkCommands>;

// ---- parts with known validity -------------------------------------------------------------

/** A field value: `json` is what goes in a JSON body; a form body gets it only when it is a string. */
interface Value { json: unknown; valid: boolean; absent?: boolean; normalized?: unknown; foreign?: boolean }
const ok = (json: unknown, normalized: unknown, extra: Partial<Value> = {}): Value => ({ json, valid: true, normalized, ...extra });
const bad = (json: unknown): Value => ({ json, valid: false });
const ABSENT: Value = { json: undefined, valid: false, absent: true };

const dsNumberValues = (served: string[]): fc.Arbitrary<Value> => fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(...served).map((n) => ok(n, Number(n))) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 2 ** 31 - 1 }).chain((n) => fc.constantFrom(ok(String(n), n), ok(n, n), ok(` ${n} `, n))) },
  { weight: 1, arbitrary: fc.constantFrom(bad('0'), bad('-1'), bad('abc'), bad('1.5'), bad(String(2 ** 31)), bad('9'.repeat(400)), bad(''), bad('０１'), bad('0x10'),
    bad(1.5), bad(0), bad(-7), bad(2 ** 31), bad(true), bad(null), bad([]), bad({}), bad([98765]), ABSENT) },
  { weight: 1, arbitrary: hostileString().filter((s) => !/^\s*\d{1,10}\s*$/.test(s)).map(bad) },
);
const procedureValues = fc.oneof(
  { weight: 10, arbitrary: dsNumberValues(['98765', '98766']).map((v) => (v.valid && ![98765, 98766].includes(v.normalized as number) ? { ...v, foreign: true } : v)) },
  { weight: 1, arbitrary: fc.constantFrom(ok('11111', 11111, { foreign: true }), ok(11111, 11111, { foreign: true })) },
);
const STATES = ['en_construction', 'en_instruction', 'accepte', 'refuse', 'sans_suite'];
const stateValues: fc.Arbitrary<Value> = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(...STATES).map((s) => ok(s, s)) },
  { weight: 1, arbitrary: fc.constantFrom(bad('brouillon'), bad('EN_CONSTRUCTION'), bad('en_construction '), bad('én_construction'), bad(''), bad(3), bad(null), bad(['accepte']), ABSENT) },
  { weight: 1, arbitrary: hostileString().filter((s) => !STATES.includes(s)).map(bad) },
);
const updatedAtValues: fc.Arbitrary<Value> = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(
    ok('2026-03-05 14:22:10 +0100', '2026-03-05T13:22:10.000Z'),
    ok('2018-10-25 10:32:42 UTC', '2018-10-25T10:32:42.000Z'),
    ok('2026-03-05 14:22:10 +01:00', '2026-03-05T13:22:10.000Z'),
    ok('2026-03-05T14:22:10+01:00', '2026-03-05T13:22:10.000Z'),
    ok('2026-03-05T13:22:10Z', '2026-03-05T13:22:10.000Z'),
    ok(`2026-03-05 14:22:10 +0100${' '.repeat(39)}`, '2026-03-05T13:22:10.000Z'), // 64 characters: the bound
  ) },
  { weight: 1, arbitrary: fc.constantFrom(bad('hier'), bad('2026-03-05'), bad('2026-13-05 14:22:10 +0100'), bad('2026-03-05 14:22:10 +0100 '.padEnd(65, ' ')),
    bad(`2026-03-05 14:22:10 +0100${' '.repeat(100)}x`), bad(1772716930), bad(null), bad({}), ABSENT) },
  { weight: 1, arbitrary: hostileString().map(bad) },
);
const extraFields = fc.dictionary(
  fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('__proto__', 'constructor', 'toString', 'Procedure_ID', 'dossier_id[]', 'state ')),
  fc.oneof(hostileString(), fc.jsonValue({ maxDepth: 3 })),
  { maxKeys: 4 },
).map((extra) => Object.fromEntries(Object.entries(extra).filter(([k]) => !(FIELDS as readonly string[]).includes(k))));

type ContentKind = 'form' | 'json' | 'other' | 'none';
const contentTypes: fc.Arbitrary<{ kind: ContentKind; value?: string }> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=utf-8', 'APPLICATION/X-WWW-FORM-URLENCODED').map((value) => ({ kind: 'form' as const, value })) },
  { weight: 4, arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/vnd.api+json', 'Application/JSON').map((value) => ({ kind: 'json' as const, value })) },
  { weight: 2, arbitrary: fc.constantFrom('text/plain', 'multipart/form-data; boundary=x', 'application/jsonp', 'application/x-www-form-urlencodedx', 'application/xml', ' application/json', 'json', '').map((value) => ({ kind: 'other' as const, value })) },
  { weight: 1, arbitrary: hostileString().map((s) => ({ kind: 'other' as const, value: `x-${s}` })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
);

type TokenPart = { valid: boolean; pathParameters?: Record<string, string> };
const tokens: fc.Arbitrary<TokenPart> = fc.oneof(
  { weight: 10, arbitrary: fc.constant({ valid: true, pathParameters: { token: TOKEN } }) },
  { weight: 4, arbitrary: fc.oneof(
    fc.constantFrom(TOKEN.toUpperCase(), TOKEN.slice(0, -1), `${TOKEN}0`, ` ${TOKEN}`, `${TOKEN}/`, `%38${TOKEN.slice(1)}`, `${TOKEN}%00`, `../${TOKEN}`, `${TOKEN}?x=1`, ''),
    fc.tuple(fc.nat({ max: TOKEN.length - 1 }), fc.constantFrom(...'0123456789abcdefg')).filter(([i, c]) => TOKEN[i] !== c)
      .map(([i, c]) => TOKEN.slice(0, i) + c + TOKEN.slice(i + 1)),
    hostileString(),
  ).map((token) => ({ valid: false, pathParameters: { token } })) },
  { weight: 1, arbitrary: fc.constantFrom<TokenPart>({ valid: false, pathParameters: {} }, { valid: false }) },
);

type BodyPart =
  | { mode: 'fields'; values: Record<Field, Value>; extra: Record<string, unknown>; encoding: 'form' | 'json' | 'match'; padding: number }
  | { mode: 'junk'; text: string }
  | { mode: 'bytes'; bytes: Uint8Array };
const bodies: fc.Arbitrary<BodyPart> = fc.oneof(
  { weight: 10, arbitrary: fc.record({
    mode: fc.constant('fields' as const),
    values: fc.record({ procedure_id: procedureValues, dossier_id: dsNumberValues(['23456789']), state: stateValues, updated_at: updatedAtValues }),
    extra: fc.oneof({ weight: 3, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: extraFields }),
    encoding: fc.constantFrom<'form' | 'json' | 'match'>('match', 'match', 'match', 'match', 'form', 'json'),
    padding: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constantFrom(MAX_BODY_BYTES - 300, MAX_BODY_BYTES - 100, MAX_BODY_BYTES, MAX_BODY_BYTES + 1, 70_000, 1_000_000) }),
  }) },
  { weight: 2, arbitrary: fc.oneof(hostileString(), deepJson(), fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v) ?? 'null'),
    fc.constantFrom('{"procedure_id":', '', 'null', '[]', '"x"', '42', 'procedure_id=98765&procedure_id=98766', '%ZZ=%E0%A4%A', '=&=&&')).map((text) => ({ mode: 'junk' as const, text })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 2_000 }).map((bytes) => ({ mode: 'bytes' as const, bytes })) },
);

const requests = fc.record({ token: tokens, contentType: contentTypes, headerName: headerCase('content-type'), body: bodies, base64: fc.boolean() });
type Request = typeof requests extends fc.Arbitrary<infer R> ? R : never;

// ---- the oracle ------------------------------------------------------------------------------

interface Built { event: Record<string, unknown>; expected: { status: number; fields?: string[]; message?: unknown } }

function build(request: Request): Built {
  const { token, contentType, body } = request;
  let raw: Buffer;
  let expected: Built['expected'];
  if (body.mode === 'fields') {
    const encoding = body.encoding === 'match' ? (contentType.kind === 'json' ? 'json' : 'form') : body.encoding;
    // A form body carries strings only: a non-string value is left out (so it is absent).
    const values = Object.fromEntries(FIELDS.map((f) => {
      const v = body.values[f];
      return [f, encoding === 'form' && typeof v.json !== 'string' ? ABSENT : v];
    })) as Record<Field, Value>;
    const object: Record<string, unknown> = { ...body.extra };
    for (const f of FIELDS) if (!values[f].absent) object[f] = values[f].json;
    if (body.padding > 0) object.padding = '';
    const encode = () => (encoding === 'json' ? JSON.stringify(object) : new URLSearchParams(object as Record<string, string>).toString());
    if (body.padding > 0) object.padding = 'x'.repeat(Math.max(0, body.padding - Buffer.byteLength(encode())));
    raw = Buffer.from(encode());
    if (contentType.kind === 'json' && encoding === 'form') expected = { status: 400, fields: ['body'] };
    else {
      // A JSON text sent as a form is one odd key: every field is missing.
      const seen = contentType.kind === 'form' && encoding === 'json' ? Object.fromEntries(FIELDS.map((f) => [f, ABSENT])) as Record<Field, Value> : values;
      const invalid = FIELDS.filter((f) => !seen[f].valid);
      if (invalid.length > 0) expected = { status: 400, fields: invalid };
      else if (seen.procedure_id.foreign) expected = { status: 422 };
      else {
        expected = { status: 200, message: {
          demarcheNumber: seen.procedure_id.normalized, dossierNumber: seen.dossier_id.normalized,
          hint: { source: 'webhook', state: seen.state.normalized, updatedAt: seen.updated_at.normalized, receivedAt: expect.any(String) },
        } };
      }
    }
  } else {
    raw = body.mode === 'junk' ? Buffer.from(body.text) : Buffer.from(body.bytes);
    expected = { status: 400, fields: [...FIELDS, 'body'] }; // junk: at least one of these is named
  }
  if (contentType.kind === 'other' || contentType.kind === 'none') expected = { status: 415 };
  if (raw.length > MAX_BODY_BYTES) expected = { status: 413 };
  if (!token.valid) expected = { status: 404 };

  const headers: Record<string, string> = { host: 'abc123.execute-api.eu-west-3.amazonaws.com', 'user-agent': 'demarche.numerique.gouv.fr' };
  if (contentType.value !== undefined) headers[request.headerName] = contentType.value;
  const template = httpEvent('ds-webhook-legacy.json');
  const event: Record<string, unknown> = {
    ...template, headers,
    rawPath: `/webhooks/ds/${token.pathParameters?.token ?? ''}`,
    body: request.base64 ? raw.toString('base64') : raw.toString('utf8'),
    isBase64Encoded: request.base64,
  };
  if (token.pathParameters) event.pathParameters = token.pathParameters;
  else delete event.pathParameters;
  // Bytes that are not UTF-8 only travel base64-encoded, as API Gateway sends them.
  if (!request.base64 && !Buffer.from(event.body as string).equals(raw)) {
    event.body = raw.toString('base64');
    event.isBase64Encoded = true;
  }
  return { event, expected };
}

const queued = () => sqs.commandCalls(SendMessageBatchCommand).flatMap((c) => c.args[0].input.Entries!.map((e) => JSON.parse(e.MessageBody!)));

beforeAll(async () => {
  restoreEnv = withEnv({
    DS_DEMARCHE_NUMBER: '98765,98766', INGEST_QUEUE_URL: 'https://sqs.eu-west-3.amazonaws.com/123456789012/ingest',
    WEBHOOK_TOKEN: TOKEN, AWS_REGION: 'eu-west-3', POWERTOOLS_LOG_LEVEL: 'SILENT',
  });
  vi.resetModules();
  handler = (await import('../../functions/receive-ds-webhook.ts')).handler as unknown as typeof handler;
  sdk = recordSdkCommands();
  sqs.on(SendMessageBatchCommand).callsFake((input) => ({
    Successful: input.Entries.map((e: { Id: string }) => ({ Id: e.Id, MessageId: `m-${e.Id}`, MD5OfMessageBody: '' })), Failed: [],
  }));
});
afterAll(() => {
  tally.print();
  vi.restoreAllMocks();
  restoreEnv();
});

function resetQueue(): void {
  sqs.resetHistory();
  sdk.clear();
}

describe('POST /webhooks/ds/{token} under generated requests', () => {
  it('answers the exact 4xx for every refused request and writes nothing; queues exactly one hint for every valid one; never 5xx', async () => {
    await fc.assert(fc.asyncProperty(requests, async (request) => {
      resetQueue();
      const { event, expected } = build(request);
      const response = await handler(event, lambdaContext('receive-ds-webhook'));
      tally.record(response.statusCode);
      expect(response.statusCode).toBeLessThan(500);
      expect(response.statusCode).toBe(expected.status);
      expect(sdk.commands).toEqual([]); // no SDK client but the (mocked) SQS one is ever called
      if (expected.status === 200) {
        expect(sqs.calls()).toHaveLength(1);
        expect(queued()).toEqual([expected.message]);
        expect(JSON.parse(response.body)).toEqual({ queued: 1, dossier: (expected.message as { dossierNumber: number }).dossierNumber });
        return;
      }
      expect(sqs.calls()).toEqual([]);
      if (expected.status === 400) {
        const named = expected.fields!.filter((f) => response.body.includes(f === 'body' ? 'body' : `${f}:`));
        if (request.body.mode === 'fields') expect(named).toEqual(expected.fields);
        else expect(named.length).toBeGreaterThan(0);
      }
    }), fcParameters(10_000));
    // Not vacuous: a real share of the requests were valid and accepted, and each refusal was seen.
    for (const status of [200, 400, 404, 413, 415, 422]) expect(tally.counts.get(status) ?? 0, `status ${status}`).toBeGreaterThan(tally.runs / 200);
  }, 120_000);
});
