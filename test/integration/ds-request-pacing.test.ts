import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { DsGraphqlClient, DsRateLimitedError } from '#adapters/ds-api/graphql-client';
import { sharedPacer, type RequestPacer } from '#adapters/ds-api/request-pacer';
import { DsSimulator } from '../../infra/local/ds-simulator.ts';

/**
 * Issue 9: concurrent fetches of one token against the DS simulator's rate limiter (fixed
 * windows of a minute per token, 429 with RateLimit-Reset beyond, as DS's rack-attack). Unpaced,
 * they meet 429s; through the token's shared pacer, none.
 *
 * No minute is waited for: `Date` is faked for this process (the simulator's windows and the
 * pacer read the same clock), and the pacer's sleep moves it, once the requests already sent
 * have been answered (so each request is counted at the instant its token was taken).
 */

const TOKEN = 'ZHMtcGFjaW5nOnNlY3JldA==';
const LIMIT_PER_MINUTE = 5;
/**
 * Under the limit by one, as the stack's budget is under DS's 400: the shared pacer's leeway for
 * late timers may let one more request through in a minute (request-pacer.ts).
 */
const PACED_PER_MINUTE = LIMIT_PER_MINUTE - 1;
const REQUESTS = 2 * LIMIT_PER_MINUTE;
/** A whole minute: the simulator's first window starts with the test. */
const START = new Date('2026-03-10T09:00:00Z');

let ds: DsSimulator;

beforeAll(async () => {
  ds = await new DsSimulator({ token: TOKEN, seedDir: new URL('../../events/dossiers', import.meta.url).pathname }).start();
});

afterAll(async () => {
  await ds?.stop();
});

afterEach(() => {
  vi.useRealTimers();
  ds.setRateLimit(undefined);
});

/** The simulator's answers, by status, and the requests still unanswered (what a sleep waits for). */
function observedFetch() {
  const statuses: number[] = [];
  const inFlight = new Set<Promise<unknown>>();
  const fetch: typeof globalThis.fetch = (input, init) => {
    const answer = globalThis.fetch(input, init).then((response) => {
      statuses.push(response.status);
      return response;
    });
    const settled = answer.then(() => undefined, () => undefined);
    inFlight.add(settled);
    void settled.then(() => inFlight.delete(settled));
    return answer;
  };
  /** The pacer's sleep: the fake clock moves once every request sent is answered. */
  const sleep = async (ms: number) => {
    await Promise.all([...inFlight]);
    vi.setSystemTime(Date.now() + ms);
  };
  return { statuses, fetch, sleep, tooMany: () => statuses.filter((s) => s === 429).length };
}

function client(fetch: typeof globalThis.fetch, pacer?: RequestPacer): DsGraphqlClient {
  // maxDelayMs 15 s: a minute window's reset is beyond it, so a 429 fails the fetch at once.
  return new DsGraphqlClient({ url: ds.graphqlUrl, token: TOKEN, timeoutMs: 5_000, maxAttempts: 3, maxDelayMs: 15_000, fetch, ...(pacer ? { pacer } : {}) });
}

describe('DS\'s rate limit and the shared pacer (issue 9)', () => {
  it('unpaced, concurrent fetches of one token beyond its minute meet 429s and fail with DsRateLimitedError', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(START);
    ds.setRateLimit(LIMIT_PER_MINUTE);
    const observed = observedFetch();
    const [a, b] = [client(observed.fetch), client(observed.fetch)];
    const results = await Promise.allSettled(Array.from({ length: REQUESTS }, (_, i) => (i % 2 ? a : b).fetchDossier(23456789)));
    expect(observed.tooMany()).toBe(REQUESTS - LIMIT_PER_MINUTE);
    const failures = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason);
    expect(failures).toHaveLength(REQUESTS - LIMIT_PER_MINUTE);
    for (const failure of failures) expect(failure).toBeInstanceOf(DsRateLimitedError);
  });

  it('through the token\'s shared pacer, two clients\' concurrent fetches meet no 429 and all succeed, spread over the minutes they need', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(START);
    ds.setRateLimit(LIMIT_PER_MINUTE);
    const observed = observedFetch();
    const pacer = sharedPacer(ds.graphqlUrl, TOKEN, PACED_PER_MINUTE, { now: () => Date.now(), sleep: observed.sleep });
    const [a, b] = [client(observed.fetch, pacer), client(observed.fetch, sharedPacer(ds.graphqlUrl, TOKEN, PACED_PER_MINUTE))];
    const served = ds.calls.get('getDossier') ?? 0;
    const results = await Promise.all(Array.from({ length: REQUESTS }, (_, i) => (i % 2 ? a : b).fetchDossier(23456789)));
    expect(results.every((r) => r.found)).toBe(true);
    expect(observed.tooMany()).toBe(0);
    expect(ds.calls.get('getDossier')! - served).toBe(REQUESTS);
    // One request every 15 s of the fake clock (the second one 11.25 s after the first: the
    // leeway a full bucket starts with), the last in the third minute.
    const interval = 60_000 / PACED_PER_MINUTE;
    expect(Date.now() - START.getTime()).toBe(0.75 * interval + (REQUESTS - 2) * interval);
  });
});
