import { describe, expect, it } from 'vitest';
import { DsGraphqlClient } from '#adapters/ds-api/graphql-client';
import { SHARED_PACER_CAPACITY, sharedPacer, TokenBucket } from '#adapters/ds-api/request-pacer';
import { dsRequestsPerMinutePerInstance, INGEST_PIPELINE, MAX_INGEST_CONCURRENCY } from '#infra/pipeline-settings';
import { parseStageConfig } from '#infra/stage-config';
import { DS_API_REQUEST_BUDGET_PER_MINUTE, DS_RATE_LIMIT_PER_MINUTE, IngestDossierEnvSchema } from '#schemas/env';

/**
 * Issue 9: DS's rate limit kept by a pacer per token. Time is a fake clock that only the pacer's
 * sleeps move: every instant below is the clock's, none is measured.
 */

/** A clock and a sleep that moves it, optionally late by `lateMs(ms)` (an event loop that is busy). */
function fakeClock(start = 1_000_000, lateMs: (ms: number) => number = () => 0) {
  const clock = {
    at: start,
    sleeps: 0,
    now: () => clock.at,
    sleep: async (ms: number) => {
      clock.sleeps++;
      clock.at += ms + lateMs(ms);
    },
  };
  return clock;
}

/** The most instants any half-open window [t, t + windowMs) holds (DS and the benchmark count so). */
function busiestWindow(instants: number[], windowMs: number): number {
  const sorted = [...instants].sort((a, b) => a - b);
  let max = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= windowMs) j++;
    max = Math.max(max, i - j + 1);
  }
  return max;
}

/** A seeded generator, for the late wake-ups. */
function seeded(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe('TokenBucket as a pacer (capacity 1)', () => {
  it('lets the first request go at once, then one every 60 / perMinute seconds', async () => {
    const clock = fakeClock();
    const pacer = new TokenBucket(600, 1, clock.now, clock.sleep);
    const instants: number[] = [];
    for (let i = 0; i < 20; i++) {
      await pacer.take();
      instants.push(clock.at - 1_000_000);
    }
    expect(instants).toEqual(Array.from({ length: 20 }, (_, i) => i * 100));
  });

  it('serves concurrent takers one at a time, in order, with one sleep each at most', async () => {
    const clock = fakeClock();
    const pacer = new TokenBucket(600, 1, clock.now, clock.sleep);
    const order: number[] = [];
    const instants: number[] = [];
    await Promise.all(Array.from({ length: 30 }, (_, i) => pacer.take().then(() => {
      order.push(i);
      instants.push(clock.at);
    })));
    expect(order).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(instants.slice(1).map((at, i) => at - instants[i]!)).toEqual(Array(29).fill(100));
    expect(clock.sleeps).toBe(29);
  });

  it.each([76, 380, 570, 600, 599])('at %i a minute, never puts more than ceil(perMinute / 60) in a second nor perMinute in a minute, even woken up late', async (perMinute) => {
    const random = seeded(perMinute);
    // Up to 80 ms late at every wake-up: lateness only spaces the next requests further.
    const clock = fakeClock(0, () => Math.floor(random() * 80));
    const pacer = new TokenBucket(perMinute, 1, clock.now, clock.sleep);
    const instants: number[] = [];
    await Promise.all(Array.from({ length: 2 * perMinute }, () => pacer.take().then(() => instants.push(clock.at))));
    expect(busiestWindow(instants, 1_000)).toBeLessThanOrEqual(Math.ceil(perMinute / 60));
    expect(busiestWindow(instants, 60_000)).toBeLessThanOrEqual(perMinute);
    for (let i = 1; i < instants.length; i++) expect(instants[i]! - instants[i - 1]!).toBeGreaterThanOrEqual(60_000 / perMinute - 1);
  });

  it('after a pause, allows one request at once, not a burst', async () => {
    const clock = fakeClock();
    const pacer = new TokenBucket(60, 1, clock.now, clock.sleep);
    await pacer.take();
    clock.at += 10 * 60_000;
    const instants: number[] = [];
    for (let i = 0; i < 3; i++) {
      await pacer.take();
      instants.push(clock.at);
    }
    expect(instants.slice(1).map((at, i) => at - instants[i]!)).toEqual([1_000, 1_000]);
  });

  it('refuses a rate or a burst that paces nothing', () => {
    expect(() => new TokenBucket(60, 0.5)).toThrow(RangeError);
    expect(() => new TokenBucket(0, 1)).toThrow(RangeError);
    expect(() => new TokenBucket(Number.NaN, 1)).toThrow(RangeError);
    expect(() => new TokenBucket(60, 0)).toThrow(RangeError);
  });
});

describe('the shared pacer\'s capacity: a burst of one, and leeway for late timers', () => {
  it('keeps its pace when its timers fire late (a busy event loop), where a capacity of exactly 1 loses the lateness', async () => {
    const perMinute = 570;
    const interval = 60_000 / perMinute;
    const elapsed = async (capacity: number) => {
      const random = seeded(7);
      // 0 to 25 ms late at every wake-up, 12.5 ms on average: what the benchmark's event loop does.
      const clock = fakeClock(0, () => random() * 25);
      const pacer = new TokenBucket(perMinute, capacity, clock.now, clock.sleep);
      for (let i = 0; i < 1_000; i++) await pacer.take();
      return clock.at;
    };
    // 999 intervals after the first request (+1 ms a take at most: sleeps are whole milliseconds).
    expect(await elapsed(SHARED_PACER_CAPACITY)).toBeLessThanOrEqual(999 * interval + 1_000);
    expect(await elapsed(1)).toBeGreaterThan(999 * (interval + 10));
  });

  it.each([76, 380, 570])('at %i a minute, woken up late, never puts a second request with the first, nor more than perMinute + 1 in a minute, nor more than ceil(perMinute / 60) in a second', async (perMinute) => {
    const random = seeded(perMinute);
    const clock = fakeClock(0, () => Math.floor(random() * 80));
    const pacer = new TokenBucket(perMinute, SHARED_PACER_CAPACITY, clock.now, clock.sleep);
    const instants: number[] = [];
    await Promise.all(Array.from({ length: 3 * perMinute }, () => pacer.take().then(() => instants.push(clock.at))));
    expect(instants[1]! - instants[0]!).toBeGreaterThan(0);
    expect(busiestWindow(instants, 60_000)).toBeLessThanOrEqual(perMinute + 1);
    expect(busiestWindow(instants, 1_000)).toBeLessThanOrEqual(Math.ceil(perMinute / 60));
  });
});

describe('sharedPacer: one budget per DS token in a process', () => {
  const url = 'https://ds.test/api/v2/graphql';
  /** A DS that answers every getDossier with "not found", noting the clock's instant of each request. */
  function fakeDs(clock: { now: () => number }, status: (n: number) => number = () => 200) {
    const requests: { at: number; token: string }[] = [];
    const fetch = async (_input: RequestInfo | URL, init?: RequestInit) => {
      requests.push({ at: clock.now(), token: String(new Headers(init?.headers).get('authorization')) });
      const code = status(requests.length);
      if (code !== 200) return new Response('busy', { status: code });
      return Response.json({ data: null, errors: [{ message: 'not found', path: ['dossier'], extensions: { code: 'not_found' } }] });
    };
    return { requests, fetch: fetch as typeof globalThis.fetch };
  }

  it('is the same pacer for the same URL and token, another one for another token or URL, with a burst of one', () => {
    const first = sharedPacer(url, 'token-shared-1', 600);
    expect(sharedPacer(url, 'token-shared-1', 600)).toBe(first);
    expect(sharedPacer(url, 'token-shared-2', 600)).not.toBe(first);
    expect(sharedPacer('https://other.test/api/v2/graphql', 'token-shared-1', 600)).not.toBe(first);
    expect(first.capacity).toBe(SHARED_PACER_CAPACITY);
    // Under 2: never two requests at once.
    expect(SHARED_PACER_CAPACITY).toBeGreaterThanOrEqual(1);
    expect(SHARED_PACER_CAPACITY).toBeLessThan(2);
  });

  it('refuses to pace one token at two rates in one process', () => {
    sharedPacer(url, 'token-two-rates', 600);
    expect(() => sharedPacer(url, 'token-two-rates', 300)).toThrow(/already paced at 600 requests a minute/);
  });

  it('paces two clients of the same token together, and a client of another token apart', async () => {
    const clock = fakeClock(0);
    const ds = fakeDs(clock);
    const client = (token: string) => new DsGraphqlClient({
      url, token, fetch: ds.fetch, pacer: sharedPacer(url, token, 600, clock), now: clock.now, sleep: clock.sleep,
    });
    const [a, b, other] = [client('token-a'), client('token-a'), client('token-b')];
    await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).fetchDossier(100 + i)),
      ...Array.from({ length: 3 }, (_, i) => other.fetchDossier(200 + i)),
    ]);
    const at = (token: string) => ds.requests.filter((r) => r.token === `Bearer ${token}`).map((r) => r.at);
    // The ten requests of token-a, from two clients, one every 100 ms (the second 75 ms after the
    // first: the quarter token of leeway a full bucket starts with): one budget.
    expect(at('token-a')).toEqual([0, ...Array.from({ length: 9 }, (_, i) => 75 + i * 100)]);
    // token-b's first request did not wait behind token-a's queue.
    expect(at('token-b')[0]).toBe(0);
    expect(busiestWindow(at('token-a'), 1_000)).toBe(10);
    expect(busiestWindow(at('token-b'), 1_000)).toBe(3);
  });

  it('takes a token for every attempt, retries included', async () => {
    const clock = fakeClock(0);
    const ds = fakeDs(clock, (n) => (n === 1 ? 503 : 200));
    const pacer = new TokenBucket(60, 1, clock.now, clock.sleep);
    let takes = 0;
    const counting = { take: () => { takes++; return pacer.take(); } };
    const client = new DsGraphqlClient({ url, token: 't', fetch: ds.fetch, pacer: counting, now: clock.now, sleep: clock.sleep, random: () => 0 });
    await expect(client.fetchDossier(1)).resolves.toEqual({ found: false });
    expect(takes).toBe(2);
    expect(ds.requests.map((r) => r.at)).toEqual([0, 1_000]);
  });
});

describe('the ingest budget, split across instances', () => {
  it('gives each instance floor(budget / concurrency): together at most the budget, plus one each at worst, within DS\'s 400', () => {
    expect(INGEST_PIPELINE.dsRequestBudgetPerMinute).toBe(DS_API_REQUEST_BUDGET_PER_MINUTE);
    expect(DS_API_REQUEST_BUDGET_PER_MINUTE).toBe(380);
    expect(DS_RATE_LIMIT_PER_MINUTE).toBe(400);
    expect(dsRequestsPerMinutePerInstance(INGEST_PIPELINE.maxConcurrency)).toBe(76);
    expect(MAX_INGEST_CONCURRENCY).toBe(20);
    for (let instances = 2; instances <= MAX_INGEST_CONCURRENCY; instances++) {
      const share = dsRequestsPerMinutePerInstance(instances);
      expect(instances * share).toBeLessThanOrEqual(DS_API_REQUEST_BUDGET_PER_MINUTE);
      // An instance's pacer lets through at most its share + 1 in any minute (above).
      expect(instances * (share + 1)).toBeLessThanOrEqual(DS_RATE_LIMIT_PER_MINUTE);
    }
    expect(() => dsRequestsPerMinutePerInstance(DS_API_REQUEST_BUDGET_PER_MINUTE + 1)).toThrow(RangeError);
    expect(() => dsRequestsPerMinutePerInstance(0)).toThrow(RangeError);
  });

  it('refuses a stage with more ingest instances than DS\'s limit can pace', () => {
    const stage = { name: 'dev', account: '123456789012', region: 'eu-west-3', demarcheNumbers: [98765] };
    expect(parseStageConfig({ ...stage, ingestMaxConcurrency: 20 }).ingestMaxConcurrency).toBe(20);
    expect(() => parseStageConfig({ ...stage, ingestMaxConcurrency: 21 })).toThrow(/at most 20: .*\n.*ingestMaxConcurrency/);
  });

  it('reads DS_API_REQUESTS_PER_MINUTE as a positive whole number, the whole budget by default', () => {
    const env = { DS_DEMARCHE_NUMBER: '98765', TABLE_NAME: 't', BUCKET_NAME: 'b', DS_API_TOKEN: 'x' };
    expect(IngestDossierEnvSchema.parse(env).DS_API_REQUESTS_PER_MINUTE).toBe(380);
    expect(IngestDossierEnvSchema.parse({ ...env, DS_API_REQUESTS_PER_MINUTE: '76' }).DS_API_REQUESTS_PER_MINUTE).toBe(76);
    for (const bad of ['0', '-5', '7.5', 'beaucoup', '']) {
      expect(IngestDossierEnvSchema.safeParse({ ...env, DS_API_REQUESTS_PER_MINUTE: bad }).success).toBe(false);
    }
  });
});
