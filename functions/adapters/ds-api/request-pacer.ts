import { createHash } from 'node:crypto';

/**
 * Pacing of the requests sent to DS under its rate limit: 400 requests a minute per API token,
 * counted by DS's rack-attack per Authorization value in fixed windows. A request over it gets
 * a 429, and a 429 costs the request a wait of up to a whole window (docs/ds-api.md): far
 * cheaper to wait for a token before sending.
 *
 * A token bucket of `capacity` tokens refilled at `perMinute`: any span of W seconds holds fewer
 * than `capacity + perMinute * W / 60` requests, whatever the callers do, since tokens are
 * counted from the clock's actual readings. Takers are served one at a time, in order: one timer
 * at a time, no herd of waiters waking up together to find one token.
 */

/** What DsGraphqlClient waits on before each HTTP request (each attempt, retries included). */
export interface RequestPacer {
  /** Resolves when one request may go, having counted it. */
  take(): Promise<void>;
}

/** For tests: the clock and the sleep a pacer uses (default Date.now and setTimeout). */
export interface PacerClock {
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A token bucket: `capacity` requests at once (a fraction above 1 is leeway, not a request),
 * refilled at `perMinute`. With the defaults (380 a minute, bursts of 10: write-back's) no
 * 60-second window holds more than 390 requests.
 */
export class TokenBucket implements RequestPacer {
  private tokens: number;
  private last: number;
  /** The takers' queue: each waits for the one before it, so one sleeper at a time, in order. */
  private turn: Promise<void> = Promise.resolve();

  constructor(
    readonly perMinute = 380,
    readonly capacity = 10,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = defaultSleep,
  ) {
    if (!(perMinute > 0) || !Number.isFinite(perMinute)) throw new RangeError(`perMinute must be a positive number, not ${perMinute}`);
    if (!(capacity >= 1) || !Number.isFinite(capacity)) throw new RangeError(`capacity must be at least 1 request, not ${capacity}`);
    this.tokens = capacity;
    this.last = now();
  }

  /** Waits until a request may go, and takes its token. */
  take(): Promise<void> {
    const mine = this.turn.then(() => this.takeInTurn());
    // A sleep that fails (it should not) must not stop the takers behind it.
    this.turn = mine.catch(() => undefined);
    return mine;
  }

  private async takeInTurn(): Promise<void> {
    for (;;) {
      const now = this.now();
      this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) * this.perMinute) / 60_000);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.sleep(Math.ceil(((1 - this.tokens) * 60_000) / this.perMinute));
    }
  }
}

/**
 * The capacity of a shared pacer: one request, and a quarter. Below 2, it never lets two
 * requests go at once: the burst is one request. The quarter is for timers that fire late (a
 * busy event loop): a request that woke up late hands its lateness, up to a quarter of the
 * interval, on to the next one instead of losing it (with exactly 1, every late wake-up is pace
 * lost for good: about 10% of it in the benchmark, whose event loop is 10-30 ms late a timer).
 * What it costs, for a pacer of R a minute: any window of W seconds holds fewer than
 * 1.25 + R x W / 60 requests, so
 * - in a minute (DS's windows): R + 1 at most. Bursts add up across pacers that share one
 *   token's budget (each Lambda instance of the ingest function paces itself with its share,
 *   infra/pipeline-settings.ts): n instances send at most budget + n, 385 for the default 5,
 *   which is why a stage runs at most 20 (380 + 20 = DS's 400); bursts of 10 would make 425;
 * - in a second: ceil(R / 60) when R / 60 is not whole and its fraction is at most 0.75 (570 a
 *   minute: 10, what a limiter of 600 a minute counting by the second allows).
 * A bigger burst would buy nothing for a backlog: the rate limits it, not its first second.
 */
export const SHARED_PACER_CAPACITY = 1.25;

const sharedPacers = new Map<string, TokenBucket>();

/**
 * The pacer of one DS token in this process, made at the first call: every client created with
 * the same URL and token shares it, so concurrent invocations in one process (the local stack
 * runs them all in one) spend one budget. The clock is the first caller's. Asking the same token
 * for another rate is a mistake (one token, one budget), thrown as such.
 */
export function sharedPacer(url: string, token: string, perMinute: number, clock: PacerClock = {}): TokenBucket {
  // Keyed by a digest: the registry need not keep the token in clear a second time.
  const key = createHash('sha256').update(`${url}\n${token}`).digest('base64url');
  const existing = sharedPacers.get(key);
  if (existing) {
    if (existing.perMinute !== perMinute) {
      throw new RangeError(`this DS token is already paced at ${existing.perMinute} requests a minute in this process, not ${perMinute}: one token, one budget`);
    }
    return existing;
  }
  const pacer = new TokenBucket(perMinute, SHARED_PACER_CAPACITY, clock.now, clock.sleep);
  sharedPacers.set(key, pacer);
  return pacer;
}
