import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DsAuthorizationError, DsUnavailableError } from '#core/errors';
import { interpretDossier } from '#core/interpret-dossier';
import { reconcileDossiers } from '#core/reconcile';
import { GET_DOSSIER_QUERY } from '#adapters/ds-api/dossier-query';
import { DsGraphqlClient, DsProtocolError, DsRateLimitedError, type DsGraphqlClientOptions } from '#adapters/ds-api/graphql-client';
import { DsSimulator } from '../../infra/local/ds-simulator.ts';
import { MemoryCursors, MemoryQueue, MemoryStatusIndex } from '../helpers/memory-reconcile-ports.ts';
import { sampleDossier, sampleMapping } from '../helpers/samples.ts';

/**
 * Issue 8 point 1: the DS client against the simulator answering in DS's shapes (checked against
 * DS's source: app/graphql/schema.graphql, app/graphql/api/v2/schema.rb, the API controllers,
 * rack-attack): 429 with `RateLimit-Reset`, 200 with validation errors, a nested `unauthorized`,
 * the non-null `dossier` (not found), 401/403 JSON, numbers beyond GraphQL Int, DS's bin.
 */

const TOKEN = 'ZHMtYmVoYXZpb3VyczpzZWNyZXQ=';
const EXPIRED = 'ZXhwaXJlZDpzZWNyZXQ=';
const DEMARCHE = 98765;
const OTHER_DEMARCHE = 11111;
/** DS writes instants with the Paris offset and whole seconds. */
const DS_INSTANT = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+0[12]:00$/;

let ds: DsSimulator;
let delays: number[];

beforeAll(async () => {
  ds = await new DsSimulator({
    token: TOKEN, expiredTokens: [EXPIRED], readableDemarches: [DEMARCHE],
    seedDir: new URL('../../events/dossiers', import.meta.url).pathname,
  }).start();
});

afterAll(async () => {
  await ds?.stop();
});

beforeEach(() => {
  delays = [];
  ds.setFaults({});
  ds.setRateLimit(undefined);
});

function client(options: Partial<DsGraphqlClientOptions> = {}): DsGraphqlClient {
  return new DsGraphqlClient({
    url: ds.graphqlUrl, token: TOKEN, timeoutMs: 5_000, maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 15_000,
    sleep: async (ms) => {
      delays.push(ms);
    },
    ...options,
  });
}

/** One raw POST, as DS answers it. */
async function post(body: Record<string, unknown>, token = TOKEN) {
  const response = await fetch(ds.graphqlUrl, {
    method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: (() => { try { return JSON.parse(text); } catch { return undefined; } })() };
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  return promise.then(() => { throw new Error('expected a rejection'); }, (error: unknown) => error as Error);
}

describe('429 from DS\'s rate limiter', () => {
  it('answers plain text with RateLimit-Remaining 0 and RateLimit-Reset the epoch second the minute window ends, no Retry-After', async () => {
    ds.setRateLimit(2);
    const query = { query: GET_DOSSIER_QUERY, variables: { number: 23456789 }, operationName: 'getDossier' };
    expect((await post(query)).status).toBe(200);
    expect((await post(query)).status).toBe(200);
    const limited = await post(query);
    expect(limited.status).toBe(429);
    expect(limited.text).toContain('Calm down, cowboy!');
    expect(limited.headers.get('retry-after')).toBeNull();
    expect(limited.headers.get('ratelimit-remaining')).toBe('0');
    const reset = Number(limited.headers.get('ratelimit-reset'));
    expect(reset % 60).toBe(0);
    expect(reset * 1000 - Date.now()).toBeGreaterThan(0);
    expect(reset * 1000 - Date.now()).toBeLessThanOrEqual(60_000);
  });

  it('the client waits until RateLimit-Reset when it fits its budget, then gets the dossier', async () => {
    ds.injectNext('rate_limited');
    ds.setFaults({ rateLimitResetSeconds: 3 });
    // The reset is the epoch second 3 s after the current one (3-4 s away); the client adds its
    // spread on top, half of the 1 s at most with this random source.
    const fetched = await client({ random: () => 0.5 }).fetchDossier(23456789);
    expect(fetched.found).toBe(true);
    expect(delays).toHaveLength(1);
    expect(delays[0]).toBeGreaterThan(2_000);
    expect(delays[0]).toBeLessThanOrEqual(4_500);
  });

  it('beyond its budget the client gives up at once with DsRateLimitedError carrying DS\'s delay, for the queue to wait', async () => {
    ds.setRateLimit(1);
    await post({ query: GET_DOSSIER_QUERY, variables: { number: 23456789 }, operationName: 'getDossier' });
    const error = await rejection(client({ maxDelayMs: 0 }).fetchDossier(23456789));
    expect(error).toBeInstanceOf(DsRateLimitedError);
    expect(error).toBeInstanceOf(DsUnavailableError);
    const { retryAfterMs } = error as DsRateLimitedError;
    expect(retryAfterMs).toBeGreaterThan(0);
    expect(retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(delays).toEqual([]);
  });
});

describe('a document DS will not run: HTTP 200 with errors', () => {
  it('refuses a field DS does not have, before running anything (no data), with graphql-ruby\'s undefinedField', async () => {
    const query = GET_DOSSIER_QUERY.replace('  archived\n', '  archived\n  numeroDeDossier\n');
    const answer = await post({ query, variables: { number: 23456789 }, operationName: 'getDossier' });
    expect(answer.status).toBe(200);
    expect(answer.json).not.toHaveProperty('data');
    expect(answer.json.errors).toEqual([expect.objectContaining({
      message: "Field 'numeroDeDossier' doesn't exist on type 'Dossier'",
      extensions: { code: 'undefinedField', typeName: 'Dossier', fieldName: 'numeroDeDossier' },
    })]);
    const error = await rejection(client().request(query, { number: 23456789 }, 'getDossier'));
    expect(error).toBeInstanceOf(DsProtocolError);
    expect(error.message).toContain('undefinedField');
  });

  it('runs every document our client sends', async () => {
    await expect(client().fetchDossier(23456789)).resolves.toMatchObject({ found: true });
    await expect(client().listUpdatedDossiers({ demarche: DEMARCHE })).resolves.toMatchObject({ nodes: expect.any(Array) });
    await expect(client().listDeletedDossiers({ demarche: DEMARCHE })).resolves.toMatchObject({ nodes: [] });
    await expect(client().listPendingDeletedDossiers({ demarche: DEMARCHE })).resolves.toMatchObject({ nodes: [] });
  });
});

describe('a linked dossier of a démarche the token cannot read', () => {
  const linking = 23456801;
  const foreign = 30000001;

  beforeAll(() => {
    const other = sampleDossier(23456790);
    other.number = foreign;
    other.id = Buffer.from(`Dossier-${foreign}`).toString('base64');
    other.demarche = { ...other.demarche, number: OTHER_DEMARCHE };
    other.champs = other.champs.filter((champ: { files?: unknown }) => !champ.files);
    ds.upsert(other);
    const dossier = sampleDossier(23456789);
    dossier.number = linking;
    dossier.id = Buffer.from(`Dossier-${linking}`).toString('base64');
    dossier.champs = dossier.champs.filter((champ: { files?: unknown }) => !champ.files);
    dossier.champs.push(
      { __typename: 'DossierLinkChamp', id: 'Q2hhbXAtOTk5', champDescriptorId: 'Q2hhbXAtOTk5', label: 'Dossier lié', stringValue: String(foreign), updatedAt: '2026-03-05T14:00:00+01:00', prefilled: false, dossier: null },
      { __typename: 'DossierLinkChamp', id: 'Q2hhbXAtOTk4', champDescriptorId: 'Q2hhbXAtOTk4', label: 'Dossier lié 2', stringValue: '23456790', updatedAt: '2026-03-05T14:00:00+01:00', prefilled: false, dossier: null },
    );
    ds.upsert(dossier);
  });

  it('DS answers the dossier with that champ\'s dossier null and a nested unauthorized; a readable link is loaded', async () => {
    const answer = await post({ query: GET_DOSSIER_QUERY, variables: { number: linking }, operationName: 'getDossier' });
    expect(answer.status).toBe(200);
    const champs = answer.json.data.dossier.champs;
    const index = champs.findIndex((champ: { id: string }) => champ.id === 'Q2hhbXAtOTk5');
    expect(champs[index].dossier).toBeNull();
    expect(champs[index + 1].dossier).toEqual({ id: expect.any(String), number: 23456790, state: 'en_construction' });
    expect(answer.json.errors).toEqual([expect.objectContaining({
      message: 'An object of type Dossier was hidden due to permissions', path: ['dossier', 'champs', index, 'dossier'], extensions: { code: 'unauthorized' },
    })]);
  });

  it('the client keeps the dossier (the token is fine) and interpretation notes the champ', async () => {
    const fetched = await client().fetchDossier(linking);
    expect(fetched.found).toBe(true);
    const { record } = interpretDossier(linking, (fetched as { dossier: unknown }).dossier, sampleMapping(), new Date());
    expect(record.number).toBe(linking);
    expect(record.notes).toContainEqual({ path: expect.stringMatching(/^champs\.\d+\.dossier$/), message: expect.stringContaining('linked dossier not readable') });
    expect(record.issues.filter((issue) => issue.message.includes('linked dossier'))).toEqual([]);
  });

  it('the dossier of that démarche itself is refused at the root: unauthorized at ["dossier"], a token matter', async () => {
    const answer = await post({ query: GET_DOSSIER_QUERY, variables: { number: foreign }, operationName: 'getDossier' });
    expect(answer.json).toEqual({ data: null, errors: [expect.objectContaining({ path: ['dossier'], extensions: { code: 'unauthorized' } })] });
    expect(await rejection(client().fetchDossier(foreign))).toBeInstanceOf(DsAuthorizationError);
  });
});

describe('an unknown dossier', () => {
  it('is data: null with not_found at ["dossier"] (Query.dossier is non-null), read as not found', async () => {
    const answer = await post({ query: GET_DOSSIER_QUERY, variables: { number: 12345 }, operationName: 'getDossier' });
    expect(answer.status).toBe(200);
    expect(answer.json).toEqual({ data: null, errors: [{ message: 'Dossier not found', locations: expect.any(Array), path: ['dossier'], extensions: { code: 'not_found' } }] });
    await expect(client().fetchDossier(12345)).resolves.toEqual({ found: false });
  });
});

describe('a refused token', () => {
  it('a wrong token is a 403 with a JSON body (forbidden)', async () => {
    const answer = await post({ query: GET_DOSSIER_QUERY, variables: { number: 23456789 }, operationName: 'getDossier' }, 'd3Jvbmc=');
    expect(answer.status).toBe(403);
    expect(answer.json).toEqual({ errors: [{ message: 'Without a token, only persisted queries are allowed', extensions: { code: 'forbidden' } }], data: null });
    const error = await rejection(client({ token: 'd3Jvbmc=' }).fetchDossier(23456789));
    expect(error).toBeInstanceOf(DsAuthorizationError);
    expect(error.message).toContain('HTTP 403 forbidden');
  });

  it('an expired token is a 401 with a JSON body (unauthorized), and the client says to renew it', async () => {
    const answer = await post({ query: GET_DOSSIER_QUERY, variables: { number: 23456789 }, operationName: 'getDossier' }, EXPIRED);
    expect(answer.status).toBe(401);
    expect(answer.json).toEqual({ errors: [{ message: 'Token expired', extensions: { code: 'unauthorized' } }], data: null });
    const error = await rejection(client({ token: EXPIRED }).fetchDossier(23456789));
    expect(error).toBeInstanceOf(DsAuthorizationError);
    expect(error.message).toMatch(/HTTP 401 unauthorized: Token expired.*has expired/);
  });
});

describe('a number beyond GraphQL Int', () => {
  it('DS refuses the variable (200, errors, no data); the client never sends it', async () => {
    const answer = await post({ query: GET_DOSSIER_QUERY, variables: { number: 2 ** 31 }, operationName: 'getDossier' });
    expect(answer.status).toBe(200);
    expect(answer.json).not.toHaveProperty('data');
    expect(answer.json.errors[0].message).toBe('Variable $number of type Int! was provided invalid value');
    const before = ds.calls.get('getDossier') ?? 0;
    expect(await rejection(client().fetchDossier(2 ** 31))).toBeInstanceOf(DsProtocolError);
    expect(ds.calls.get('getDossier') ?? 0).toBe(before);
  });
});

describe('DS\'s bin (pendingDeletedDossiers)', () => {
  it('a binned dossier is gone from dossier(number), listed in pendingDeletedDossiers with a DS instant, and reconciliation queues it deleted', async () => {
    const kept = structuredClone(ds.dossiers.get(23456791));
    ds.putInBin(23456791);
    try {
      await expect(client().fetchDossier(23456791)).resolves.toEqual({ found: false });
      const page = await client().listPendingDeletedDossiers({ demarche: DEMARCHE });
      expect(page.nodes).toEqual([{ number: 23456791, state: 'en_construction', reason: 'user_request', dateSupression: expect.stringMatching(DS_INSTANT) }]);

      const queue = new MemoryQueue();
      const report = await reconcileDossiers(
        { ds: client(), queue, cursors: new MemoryCursors(), dossiers: new MemoryStatusIndex(), clock: { now: () => new Date() } },
        { demarches: [DEMARCHE], runId: 'bin' },
      );
      expect(report.demarches[0]).toMatchObject({ deleted: 1, pendingDeleted: 1, complete: true });
      expect(queue.messages.filter((m) => m.hint.eventType === 'dossier_supprime').map((m) => m.dossierNumber)).toEqual([23456791]);
    } finally {
      ds.upsert(kept);
    }
  });

  it('a dossier deleted for good carries DS\'s instant too (Paris offset, whole seconds)', async () => {
    const kept = structuredClone(ds.dossiers.get(23456790));
    ds.delete(23456790);
    try {
      const page = await client().listDeletedDossiers({ demarche: DEMARCHE });
      expect(page.nodes.map((node) => node.dateSupression)).toEqual([expect.stringMatching(DS_INSTANT)]);
    } finally {
      ds.upsert(kept);
    }
  });
});
