import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DsAuthorizationError, DsUnavailableError } from '#core/errors';
import { GET_DEMARCHE_DOSSIERS_QUERY, GET_DOSSIER_QUERY } from '#adapters/ds-api/dossier-query';
import {
  DsGraphqlClient, DsProtocolError, DsRateLimitedError, parseRateLimitResetMs, parseRetryAfterMs, type DsGraphqlClientOptions,
} from '#adapters/ds-api/graphql-client';

/**
 * The client against a real HTTP server on 127.0.0.1 that answers each request with the next
 * scripted reply (no fetch mocking): what goes over the wire, and how each DS answer is read.
 * Waits go through an injected sleep that records the delays instead of sleeping.
 */

const TOKEN = 'MDFlMjM0NTY3ODkwO3NlY3JldC10b2tlbi12YWx1ZQ==';

interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: { query: string; variables: Record<string, unknown>; operationName: string };
}

type Reply = (res: ServerResponse) => void;

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Reply => (res) => {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
};
const text = (status: number, body: string, headers: Record<string, string> = {}): Reply => (res) => {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...headers });
  res.end(body);
};
/** The connection dies before any answer. */
const destroySocket: Reply = (res) => res.socket?.destroy();
/** Never answers: the client's timeout must cut it (the socket is closed with the server). */
const hang: Reply = () => undefined;

const graphqlError = (code: string, message: string, path?: string[]) => ({
  message,
  locations: [{ line: 2, column: 3 }],
  ...(path ? { path } : {}),
  extensions: { code },
});

const dossierAnswer = JSON.parse(readFileSync(new URL('../../events/dossiers/23456789.json', import.meta.url), 'utf8')) as {
  data: { dossier: Record<string, unknown> };
};

let server: Server;
let url: string;
let requests: RecordedRequest[];
let replies: Reply[];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as RecordedRequest['body'],
      });
      const reply = replies.shift() ?? text(500, 'unscripted request');
      reply(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v2/graphql`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

let delays: number[];

beforeEach(() => {
  requests = [];
  replies = [];
  delays = [];
});

function client(options: Partial<DsGraphqlClientOptions> = {}): DsGraphqlClient {
  return new DsGraphqlClient({
    url,
    token: TOKEN,
    timeoutMs: 2_000,
    maxAttempts: 5,
    baseDelayMs: 100,
    random: () => 0.5,
    sleep: async (ms) => {
      delays.push(ms);
    },
    ...options,
  });
}

function script(...sequence: Reply[]) {
  replies.push(...sequence);
}

/** The rejection of `promise`, checked to never carry the token. */
async function failureOf(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (reason: unknown) => reason as Error,
  );
  expect(error.message).not.toContain(TOKEN);
  expect(String(error.cause ?? '')).not.toContain(TOKEN);
  return error;
}

describe('DsGraphqlClient.fetchDossier', () => {
  it('POSTs the query and variables with the Bearer token, and returns the dossier as DS sent it', async () => {
    script(json(200, dossierAnswer));

    const result = await client({ userAgent: 'ds-selection-test' }).fetchDossier(23456789);

    expect(result).toEqual({ found: true, dossier: dossierAnswer.data.dossier });
    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request!.method).toBe('POST');
    expect(request!.url).toBe('/api/v2/graphql');
    expect(request!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(request!.headers['content-type']).toBe('application/json');
    expect(request!.headers['user-agent']).toBe('ds-selection-test');
    expect(request!.body).toEqual({ query: GET_DOSSIER_QUERY, variables: { number: 23456789 }, operationName: 'getDossier' });
    expect(delays).toEqual([]);
  });

  it('waits as long as Retry-After says after a plain-text 429, then succeeds', async () => {
    script(text(429, 'Calm down, cowboy!\n', { 'Retry-After': '1', 'RateLimit-Remaining': '0' }), json(200, dossierAnswer));

    const result = await client().fetchDossier(23456789);

    expect(result.found).toBe(true);
    expect(requests).toHaveLength(2);
    // DS's delay, spread by up to a second (random() = 0.5 here): requests a 429 stopped together do not all come back at once.
    expect(delays).toEqual([1_000 + 500]);
  });

  it('gives up at once, with the delay, on a Retry-After longer than maxDelayMs (retrying sooner only meets another 429)', async () => {
    script(text(429, 'Calm down, cowboy!\n', { 'Retry-After': '600' }), json(200, dossierAnswer));

    const error = await failureOf(client({ maxDelayMs: 5_000 }).fetchDossier(23456789));

    expect(error).toBeInstanceOf(DsRateLimitedError);
    expect(error).toBeInstanceOf(DsUnavailableError);
    expect((error as DsRateLimitedError).retryAfterMs).toBe(600_000);
    expect(requests).toHaveLength(1);
    expect(delays).toEqual([]);
  });

  it('waits until DS\'s RateLimit-Reset (an epoch second, no Retry-After) when it fits maxDelayMs, then succeeds', async () => {
    const now = Date.parse('2026-03-05T13:00:00.250Z');
    script(text(429, 'Calm down, cowboy!\n', { 'RateLimit-Remaining': '0', 'RateLimit-Reset': String(Date.parse('2026-03-05T13:00:10Z') / 1000) }), json(200, dossierAnswer));

    const result = await client({ maxDelayMs: 15_000, now: () => now }).fetchDossier(23456789);

    expect(result.found).toBe(true);
    expect(delays).toEqual([9_750 + 500]);
  });

  it('gives up with the delay when RateLimit-Reset is beyond maxDelayMs, and when the last attempt still meets a 429', async () => {
    const now = Date.parse('2026-03-05T13:00:05Z');
    const reset = { 'RateLimit-Remaining': '0', 'RateLimit-Reset': String(Date.parse('2026-03-05T13:01:00Z') / 1000) };
    script(text(429, 'Calm down, cowboy!\n', reset));
    const beyond = await failureOf(client({ maxDelayMs: 15_000, now: () => now }).fetchDossier(23456789));
    expect(beyond).toBeInstanceOf(DsRateLimitedError);
    expect((beyond as DsRateLimitedError).retryAfterMs).toBe(55_000);
    expect(beyond.message).toContain('wait 55 s');

    script(text(429, '', { 'RateLimit-Reset': '2' }), text(429, '', { 'RateLimit-Reset': '2' }));
    const last = await failureOf(client({ maxAttempts: 2 }).fetchDossier(23456789));
    expect(last).toBeInstanceOf(DsRateLimitedError);
    expect((last as DsRateLimitedError).retryAfterMs).toBe(2_000);
    expect(delays).toEqual([2_000 + 500]);
  });

  it('retries 503 twice with exponential backoff and jitter, then succeeds', async () => {
    script(text(503, 'Service Unavailable'), text(503, 'Service Unavailable'), json(200, dossierAnswer));

    const result = await client({ baseDelayMs: 100, random: () => 0.5 }).fetchDossier(23456789);

    expect(result.found).toBe(true);
    expect(requests).toHaveLength(3);
    // Full jitter: random() * min(maxDelayMs, base * 2^retry), with random() = 0.5.
    expect(delays).toEqual([50, 100]);
  });

  it('retries when the server destroys the socket, then succeeds', async () => {
    script(destroySocket, json(200, dossierAnswer));

    const result = await client().fetchDossier(23456789);

    expect(result).toEqual({ found: true, dossier: dossierAnswer.data.dossier });
    expect(requests).toHaveLength(2);
    expect(delays).toHaveLength(1);
  });

  it('cuts an answer slower than timeoutMs, retries, and gives up with DsUnavailableError after maxAttempts', async () => {
    script(hang, hang, hang);
    const notices: string[] = [];

    const error = await failureOf(client({ timeoutMs: 150, maxAttempts: 3, onRetry: (notice) => notices.push(notice.reason) }).fetchDossier(23456789));

    expect(error).toBeInstanceOf(DsUnavailableError);
    expect(error.message).toContain('after 3 attempts');
    expect(error.message).toContain('timeout after 150 ms');
    expect(error.cause).toBeInstanceOf(Error);
    expect(requests).toHaveLength(3);
    expect(notices).toEqual(['timeout after 150 ms', 'timeout after 150 ms']);
  });

  it('gives up with DsUnavailableError, its cause attached, when 5xx never stops', async () => {
    script(text(502, 'Bad Gateway'), text(502, 'Bad Gateway'));

    const error = await failureOf(client({ maxAttempts: 2 }).fetchDossier(23456789));

    expect(error).toBeInstanceOf(DsUnavailableError);
    expect(error.message).toContain('HTTP 502');
    expect((error.cause as Error).message).toBe('HTTP 502');
    expect(requests).toHaveLength(2);
  });

  it('answers found: false on GraphQL not_found for the dossier, without retrying', async () => {
    script(json(200, { data: null, errors: [graphqlError('not_found', 'Dossier not found', ['dossier'])] }));

    await expect(client().fetchDossier(99999999)).resolves.toEqual({ found: false });
    expect(requests).toHaveLength(1);
  });

  it('answers found: false when data.dossier is null without errors', async () => {
    script(json(200, { data: { dossier: null } }));

    await expect(client().fetchDossier(23456789)).resolves.toEqual({ found: false });
  });

  it('keeps the dossier on a nested unauthorized (a linked dossier of another démarche): the token is fine', async () => {
    const dossier = structuredClone(dossierAnswer.data.dossier) as { champs: Record<string, unknown>[] };
    dossier.champs.push({ __typename: 'DossierLinkChamp', id: 'Q2hhbXAtOTk5', champDescriptorId: 'Q2hhbXAtOTk5', label: 'Dossier lié', stringValue: '777', dossier: null });
    const path = ['dossier', 'champs', dossier.champs.length - 1, 'dossier'];
    script(json(200, { data: { dossier }, errors: [{ ...graphqlError('unauthorized', 'An object of type Dossier was hidden due to permissions'), path }] }));

    await expect(client().fetchDossier(23456789)).resolves.toEqual({ found: true, dossier });
    expect(requests).toHaveLength(1);
  });

  it('throws a non-retried DsProtocolError on a 200 whose document failed validation (no data, undefinedField)', async () => {
    script(json(200, { errors: [{
      message: "Field 'nope' doesn't exist on type 'Dossier'", locations: [{ line: 3, column: 5 }],
      path: ['query getDossier', 'dossier', 'nope'], extensions: { code: 'undefinedField', typeName: 'Dossier', fieldName: 'nope' },
    }] }));

    const error = await failureOf(client().fetchDossier(23456789));

    expect(error).toBeInstanceOf(DsProtocolError);
    expect(error.message).toContain('undefinedField at query getDossier.dossier.nope');
    expect(error.message).toContain('HTTP 200');
    expect(requests).toHaveLength(1);
  });

  it('refuses a dossier number beyond GraphQL Int without asking DS', async () => {
    const error = await failureOf(client().fetchDossier(2 ** 31));
    expect(error).toBeInstanceOf(DsProtocolError);
    expect(error.message).toContain('2147483647');
    expect(requests).toHaveLength(0);
  });

  it('throws DsAuthorizationError on GraphQL unauthorized, with a single request', async () => {
    script(json(200, { data: null, errors: [graphqlError('unauthorized', 'An object of type Dossier was hidden due to permissions', ['dossier'])] }));

    const error = await failureOf(client().fetchDossier(23456789));

    expect(error).toBeInstanceOf(DsAuthorizationError);
    expect(error.message).toMatch(/invalid or expired/);
    expect(error.message).toMatch(/source IP/);
    expect(requests).toHaveLength(1);
  });

  it.each([
    [403, 'Forbidden'],
    [401, 'Token expired'],
  ])('throws DsAuthorizationError on a plain-text HTTP %i, without retrying', async (status, body) => {
    script(text(status, body));

    const error = await failureOf(client().fetchDossier(23456789));

    expect(error).toBeInstanceOf(DsAuthorizationError);
    expect(error.message).toContain(`HTTP ${status}`);
    expect(requests).toHaveLength(1);
  });

  it.each([
    [403, 'forbidden', 'Without a token, only persisted queries are allowed', /invalid or expired, does not cover/],
    [401, 'unauthorized', 'Token expired', /has expired/],
  ])('reads DS\'s JSON %i (%s) and says what to do', async (status, code, message, advice) => {
    script(json(status, { errors: [{ message, extensions: { code } }], data: null }));

    const error = await failureOf(client().fetchDossier(23456789));

    expect(error).toBeInstanceOf(DsAuthorizationError);
    expect(error.message).toContain(`HTTP ${status} ${code}: ${message}`);
    expect(error.message).toMatch(advice);
    expect(requests).toHaveLength(1);
  });

  it('throws a non-retried DsProtocolError on HTTP 400', async () => {
    script(json(400, { errors: [{ message: 'Parse error on "}" (RCURLY) at [3, 1]', extensions: { code: 'graphql_parse_failed' } }] }));

    const error = await failureOf(client().fetchDossier(23456789));

    expect(error).toBeInstanceOf(DsProtocolError);
    expect(error).not.toBeInstanceOf(DsUnavailableError);
    expect(error.message).toContain('HTTP 400');
    expect(error.message).toContain('graphql_parse_failed');
    expect(requests).toHaveLength(1);
  });

  it('throws a non-retried DsProtocolError on a 200 whose body is not JSON, without quoting the body', async () => {
    script(text(200, '<html>claire.martin@exemple-ministere.gouv.fr</html>'));

    const error = await failureOf(client().fetchDossier(23456789));

    expect(error).toBeInstanceOf(DsProtocolError);
    expect(error.message).not.toContain('claire.martin');
    expect(requests).toHaveLength(1);
  });

  it('retries GraphQL timeout and internal_server_error like a 5xx', async () => {
    script(
      json(200, { data: null, errors: [graphqlError('timeout', 'Timeout on Query.dossier', ['dossier'])] }),
      json(500, { data: null, errors: [{ message: 'Internal Server Error', extensions: { code: 'internal_server_error', exception_id: 'abc' } }] }),
      json(200, { data: null, errors: [graphqlError('internal_server_error', 'Internal Server Error')] }),
      json(200, dossierAnswer),
    );

    await expect(client().fetchDossier(23456789)).resolves.toMatchObject({ found: true });
    expect(requests).toHaveLength(4);
  });

  it('throws DsUnavailableError on any other GraphQL error, even with partial data', async () => {
    script(json(200, { data: { dossier: { number: 23456789 } }, errors: [graphqlError('invalid_null', 'Cannot return null for non-nullable field Entreprise.raisonSociale', ['dossier', 'demandeur', 'entreprise', 'raisonSociale'])] }));

    const error = await failureOf(client().fetchDossier(23456789));

    expect(error).toBeInstanceOf(DsUnavailableError);
    expect(error.message).toContain('invalid_null at dossier.demandeur.entreprise.raisonSociale');
    expect(requests).toHaveLength(1);
  });

  it('reports a redirect instead of following it (a POST would be replayed as a GET)', async () => {
    script((res) => {
      res.writeHead(301, { Location: 'https://demarche.numerique.gouv.fr/api/v2/graphql' });
      res.end();
    });

    const error = await failureOf(client().fetchDossier(23456789));

    expect(error).toBeInstanceOf(DsProtocolError);
    expect(error.message).toContain('demarche.numerique.gouv.fr');
    expect(requests).toHaveLength(1);
  });
});

describe('DsGraphqlClient reconciliation queries', () => {
  const page1 = {
    data: {
      demarche: {
        dossiers: {
          pageInfo: { hasNextPage: true, endCursor: 'MjAyNi0wMy0wNVQxMzoyMjoxMS4wMDBaOzIzNDU2Nzg5' },
          nodes: [
            { number: 23456789, dateDerniereModification: '2026-03-05T14:22:11+01:00', state: 'en_construction' },
            { number: 23456790, dateDerniereModification: '2026-03-06T10:00:00+01:00', state: 'en_instruction' },
          ],
        },
      },
    },
  };
  const page2 = { data: { demarche: { dossiers: { pageInfo: { hasNextPage: false, endCursor: null }, nodes: [] } } } };

  it('listUpdatedDossiers sends the démarche, updatedSince, cursor and page size, and returns nodes and pageInfo', async () => {
    script(json(200, page1), json(200, page2));
    const ds = client();

    const first = await ds.listUpdatedDossiers({ demarche: 98765, updatedSince: new Date('2026-03-01T00:00:00Z'), first: 100 });
    const second = await ds.listUpdatedDossiers({ demarche: 98765, updatedSince: '2026-03-01T00:00:00.000Z', after: first.pageInfo.endCursor!, first: 100 });

    expect(first).toEqual(page1.data.demarche.dossiers);
    expect(second).toEqual({ pageInfo: { hasNextPage: false, endCursor: null }, nodes: [] });
    expect(requests.map((request) => request.body.operationName)).toEqual(['getDemarcheDossiers', 'getDemarcheDossiers']);
    expect(requests[0]!.body.query).toBe(GET_DEMARCHE_DOSSIERS_QUERY);
    expect(requests[0]!.body.variables).toEqual({ demarche: 98765, updatedSince: '2026-03-01T00:00:00.000Z', first: 100 });
    expect(requests[1]!.body.variables).toEqual({
      demarche: 98765,
      updatedSince: '2026-03-01T00:00:00.000Z',
      after: 'MjAyNi0wMy0wNVQxMzoyMjoxMS4wMDBaOzIzNDU2Nzg5',
      first: 100,
    });
  });

  it('listPendingDeletedDossiers reads demarche.pendingDeletedDossiers (DS\'s bin) with deletedSince and after', async () => {
    const pending = {
      pageInfo: { hasNextPage: false, endCursor: 'Y3Vyc29y' },
      nodes: [{ number: 23456002, state: 'en_construction', reason: 'user_request', dateSupression: '2026-03-04T10:00:00+01:00' }],
    };
    script(json(200, { data: { demarche: { pendingDeletedDossiers: pending } } }));

    const page = await client().listPendingDeletedDossiers({ demarche: 98765, deletedSince: '2026-03-01T00:00:00+01:00', after: 'YQ==' });

    expect(page).toEqual(pending);
    expect(requests[0]!.body.operationName).toBe('getPendingDeletedDossiers');
    expect(requests[0]!.body.query).toContain('pendingDeletedDossiers(deletedSince: $deletedSince, after: $after)');
    expect(requests[0]!.body.variables).toEqual({ demarche: 98765, deletedSince: '2026-03-01T00:00:00+01:00', after: 'YQ==' });
  });

  it('listDeletedDossiers returns number, state, reason and dateSupression', async () => {
    const deleted = {
      pageInfo: { hasNextPage: false, endCursor: 'Y3Vyc29y' },
      nodes: [{ number: 23456001, state: 'en_construction', reason: 'user_request', dateSupression: '2026-03-04T09:00:00+01:00' }],
    };
    script(json(200, { data: { demarche: { deletedDossiers: deleted } } }));

    const page = await client().listDeletedDossiers({ demarche: 98765, deletedSince: '2026-03-01T00:00:00+01:00' });

    expect(page).toEqual(deleted);
    expect(requests[0]!.body.operationName).toBe('getDeletedDossiers');
    expect(requests[0]!.body.variables).toEqual({ demarche: 98765, deletedSince: '2026-03-01T00:00:00+01:00' });
  });

  it('throws DsAuthorizationError when the token does not cover the démarche', async () => {
    script(json(200, { data: null, errors: [graphqlError('unauthorized', 'An object of type Demarche was hidden due to permissions', ['demarche'])] }));

    await expect(client().listUpdatedDossiers({ demarche: 98765 })).rejects.toBeInstanceOf(DsAuthorizationError);
    expect(requests).toHaveLength(1);
  });

  it('refuses a page in an unexpected shape, naming the path but not the values', async () => {
    script(json(200, { data: { demarche: { dossiers: { pageInfo: { hasNextPage: false, endCursor: null }, nodes: [{ number: 'claire.martin' }] } } } }));

    const error = await failureOf(client().listUpdatedDossiers({ demarche: 98765 }));

    expect(error).toBeInstanceOf(DsProtocolError);
    expect(error.message).toContain('demarche.dossiers.nodes.0.number');
    expect(error.message).not.toContain('claire.martin');
  });
});

describe('parseRateLimitResetMs', () => {
  const now = Date.parse('2026-03-05T13:00:00Z');

  it.each([
    [String(Date.parse('2026-03-05T13:01:00Z') / 1000), 60_000],
    [String(Date.parse('2026-03-05T12:59:00Z') / 1000), 0],
    ['30', 30_000],
    ['soon', undefined],
    [null, undefined],
  ])('reads %j as %j ms', (value, expected) => {
    expect(parseRateLimitResetMs(value, now)).toBe(expected);
  });
});

describe('parseRetryAfterMs', () => {
  const now = Date.parse('2026-03-05T13:00:00Z');

  it.each([
    ['1', 1_000],
    [' 30 ', 30_000],
    ['0', 0],
    ['Thu, 05 Mar 2026 13:00:05 GMT', 5_000],
    ['Thu, 05 Mar 2026 12:59:00 GMT', 0],
    ['soon', undefined],
    ['', undefined],
    [null, undefined],
  ])('reads %j as %j ms', (value, expected) => {
    expect(parseRetryAfterMs(value, now)).toBe(expected);
  });
});
