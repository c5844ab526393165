/**
 * Figure 2, ingest at DS's rate limit: `ds-selection sync` of N dossiers (3 small files each,
 * generated in the DS simulator) through the local stack's queue and ingest worker, with DS's
 * API limited to R requests a minute. The floor is the time DS's limit alone imposes: the DS
 * requests the run needs (one per dossier, plus the listing pages) / the allowed rate.
 *
 * The limiter wraps the simulator's GraphQL route in this process (a fixed one-second window of
 * R/60 requests; over it: HTTP 429 with RateLimit-Reset, as DS answers), so the simulator
 * itself is untouched. File downloads are not limited (DS serves them from object storage).
 *
 * The stack's ingest worker paces its DS requests as deployed (functions/adapters/ds-api/
 * request-pacer.ts), at a little under the limiter's rate, through the variable the local stack
 * reads (DS_API_REQUESTS_PER_MINUTE), as a stage sets it a little under DS's 400. The margin
 * covers what the pacer cannot see: the time between a token and the request's arrival, and the
 * CLI's listing pages (another process, unpaced).
 *
 * Where the time goes, in the note: when DS served its first request (the CLI's start-up) and its
 * last, how often requests were waiting for the pacer (near 100%: DS's rate was the limit), how
 * late the event loop ran (a late timer is pace lost), and why any message failed.
 *
 *   npx tsx bench/ingest-rate.ts     (BENCH_INGEST_DOSSIERS, BENCH_INGEST_RATE_PER_MIN to scale both;
 *                                     BENCH_INGEST_PACE_SHARE: the pacer's share of the rate, 0.95)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { TokenBucket } from '../functions/adapters/ds-api/request-pacer.ts';
import { logger } from '../functions/shared/powertools.ts';
import { DsSimulator } from '../infra/local/ds-simulator.ts';
import { generateDossiers } from './dossiers.ts';
import { progress, ratioFigure, absoluteFigure, round, runScript, type Figure } from './lib.ts';
import { ingestOutcome, sdkCalls, startBenchStack } from './stack.ts';

const SCRIPT = 'ingest-rate';
const DOSSIERS = Number(process.env.BENCH_INGEST_DOSSIERS ?? 300);
const RATE_PER_MIN = Number(process.env.BENCH_INGEST_RATE_PER_MIN ?? 600);
const FILES_PER_DOSSIER = 3;
const FILE_BYTES = 8 * 1024;
const PAGE_SIZE = 100;
const TARGET_RATIO = 1.15;
const PACE_SHARE = Number(process.env.BENCH_INGEST_PACE_SHARE ?? 0.95);
const PACED_PER_MIN = Math.floor(RATE_PER_MIN * PACE_SHARE);

/** DS's limiter, in front of the simulator's GraphQL route: `perMinute / 60` requests per second. */
const limiter = { perSecond: Infinity, windowStart: 0, used: 0, rejected: 0, served: 0, firstServedAt: 0, lastServedAt: 0 };
type GraphqlRoute = (req: IncomingMessage, res: ServerResponse) => Promise<void>;
const prototype = DsSimulator.prototype as unknown as { graphql: GraphqlRoute };
const graphql = prototype.graphql;
prototype.graphql = function limited(this: DsSimulator, req, res) {
  const now = Date.now();
  if (now - limiter.windowStart >= 1000) {
    limiter.windowStart = now - ((now - limiter.windowStart) % 1000);
    limiter.used = 0;
  }
  if (limiter.used >= limiter.perSecond) {
    limiter.rejected++;
    const resetSeconds = Math.max(1, Math.ceil((limiter.windowStart + 1000 - now) / 1000));
    res.writeHead(429, { 'content-type': 'text/plain', 'ratelimit-reset': String(resetSeconds) });
    req.resume();
    res.end('Calm down, cowboy!');
    return Promise.resolve();
  }
  limiter.used++;
  limiter.served++;
  limiter.firstServedAt ||= now;
  limiter.lastServedAt = now;
  return graphql.call(this, req, res);
};

/**
 * The pacer's queue, seen from outside: how many requests wait for a token. Sampled, it tells
 * whether the worker kept the pacer busy (DS's rate is then the limit) or left it idle (the
 * worker's own work is).
 */
const pacer = { waiting: 0, samples: 0, busySamples: 0 };
const take = TokenBucket.prototype.take;
TokenBucket.prototype.take = function countedTake(this: TokenBucket) {
  pacer.waiting++;
  return take.call(this).finally(() => { pacer.waiting--; });
};

/**
 * Why the worker failed messages, from its own log calls (the handlers share this process's
 * logger): a 429 the DS client could not wait out, or something else (under a heavy load, a
 * file download or an s3rver upload may be cut), so the 429 figure counts only the former.
 */
const failures = { byRateLimit: 0, other: new Map<string, number>() };
const logError = logger.error.bind(logger);
logger.error = ((message: string, ...rest: unknown[]) => {
  const fields = rest[0] as { error?: string; reason?: string } | undefined;
  if (message === 'message failed') {
    if (fields?.error === 'DsRateLimitedError' || /HTTP 429/.test(fields?.reason ?? '')) failures.byRateLimit++;
    else {
      const key = `${fields?.error ?? 'unknown'} (${fields?.reason ?? ''})`;
      failures.other.set(key, (failures.other.get(key) ?? 0) + 1);
    }
  }
  return (logError as (...args: unknown[]) => void)(message, ...rest);
}) as typeof logger.error;
const logInfo = logger.info.bind(logger);
logger.info = ((message: string, ...rest: unknown[]) => {
  // A file the worker could not fetch or store even after a fresh try: the message waits its retry delay.
  if (message === 'message will be delivered again') {
    const key = 'NotFinalYetError (file(s) not archived)';
    failures.other.set(key, (failures.other.get(key) ?? 0) + 1);
  }
  return (logInfo as (...args: unknown[]) => void)(message, ...rest);
}) as typeof logger.info;

/** Time spent waiting for DS (GraphQL answers, file headers), from this process's fetch. */
const dsMs = { graphql: 0, files: 0 };
const originalFetch = globalThis.fetch;
globalThis.fetch = async (input, init) => {
  const url = String(input instanceof Request ? input.url : input);
  const started = performance.now();
  try {
    return await originalFetch(input, init);
  } finally {
    if (url.includes('/api/v2/graphql')) dsMs.graphql += performance.now() - started;
    else if (url.includes('/files/')) dsMs.files += performance.now() - started;
  }
};

async function main() {
  progress(SCRIPT, `starting the local stack; ${DOSSIERS} dossiers x ${FILES_PER_DOSSIER} files of ${FILE_BYTES / 1024} KB, DS limited to ${RATE_PER_MIN}/min, ingest paced at ${PACED_PER_MIN}/min`);
  const bench = await startBenchStack(SCRIPT, { DS_API_REQUESTS_PER_MINUTE: String(PACED_PER_MIN) });
  try {
    const simulator = bench.stack.simulator!;
    // The simulator's seed dossiers stay: the démarche lists them too.
    generateDossiers(simulator, { count: DOSSIERS, firstNumber: 40_000_000, filesPerDossier: FILES_PER_DOSSIER, fileBytes: FILE_BYTES });
    const listed = simulator.dossiers.size;
    const dsRequests = listed + Math.ceil(listed / PAGE_SIZE);
    const floorSeconds = dsRequests / (RATE_PER_MIN / 60);
    limiter.perSecond = RATE_PER_MIN / 60;
    limiter.windowStart = Date.now();
    sdkCalls.reset();
    sdkCalls.start();
    const started = performance.now();
    const startedAt = Date.now();
    progress(SCRIPT, `sync of ${listed} dossiers (floor: ${dsRequests} DS requests / ${RATE_PER_MIN}/min = ${round(floorSeconds, 1)} s)`);
    const sync = await bench.cliJson<{ listed: number; queued: number }>('sync');
    progress(SCRIPT, `sync queued ${sync.queued} in ${round((performance.now() - started) / 1000, 1)} s; waiting for the worker to drain the queue`);
    const ticker = setInterval(() => progress(SCRIPT, `... ${ingestOutcome(bench.log).done} of ${listed} ingested, ${limiter.rejected} x 429`), 10_000);
    // From the first DS request to the last: is the pacer kept busy, and how late do timers fire?
    const sampler = setInterval(() => {
      if (!limiter.firstServedAt || (limiter.lastServedAt && Date.now() - limiter.lastServedAt > 1_000)) return;
      pacer.samples++;
      if (pacer.waiting > 0) pacer.busySamples++;
    }, 50);
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    // A message failed by DS's limit comes back after the worker's retry delay (1, then 5 minutes):
    // past 3 x the floor (at least 60 s) the run stops waiting and counts what is not stored yet.
    const deadlineMs = Math.max(60_000, 3 * floorSeconds * 1000);
    let drained = true;
    try {
      await bench.consumer.drain({ timeoutMs: deadlineMs, pollMs: 100 });
    } catch {
      drained = false;
      progress(SCRIPT, `not drained after ${round(deadlineMs / 1000)} s: stopping here`);
    } finally {
      clearInterval(ticker);
      clearInterval(sampler);
      loopDelay.disable();
    }
    const seconds = (performance.now() - started) / 1000;
    sdkCalls.stop();
    const outcome = ingestOutcome(bench.log);
    const stored = await bench.cliJson<{ number: number; status: string }[]>('dossiers', 'list');
    const storedCount = stored.filter((d) => d.status === 'stored' || d.status === 'invalid').length;
    const dlq = await bench.cliJson<unknown[]>('dlq', 'list');
    // Not stored yet but still in the queue (waiting for a retry) is late, not lost.
    const stillQueued = await (bench.consumer as unknown as { messagesLeft(): Promise<number> }).messagesLeft();
    const lost = Math.max(0, listed - storedCount - stillQueued);
    const otherFailures = [...failures.other.values()].reduce((sum, n) => sum + n, 0);
    const table = sdkCalls.ms.get('DynamoDB') ?? 0;
    const s3 = sdkCalls.ms.get('S3') ?? 0;
    const stageTotal = dsMs.graphql + table + s3;
    const share = (ms: number) => `${Math.round((100 * ms) / stageTotal)}%`;
    const note = `${drained ? '' : 'NOT DRAINED (stopped waiting): '}${listed} dossiers in ${round(seconds, 1)} s (${round(listed / seconds, 1)}/s, DS allows ${round(RATE_PER_MIN / 60, 1)} req/s, `
      + `the worker paces itself at ${PACED_PER_MIN}/min: ${round(dsRequests / (PACED_PER_MIN / 60), 1)} s for the run's requests); `
      + `${limiter.rejected} x 429 answered, ${outcome.retried} message(s) retried, ${dlq.length} in the DLQ; `
      + `DS served its first request ${round((limiter.firstServedAt - startedAt) / 1000, 1)} s after the start (the CLI's start and first page), `
      + `its last at ${round((limiter.lastServedAt - startedAt) / 1000, 1)} s (${round(limiter.served / ((limiter.lastServedAt - limiter.firstServedAt) / 1000), 2)} req/s in between), `
      + `the queue was drained at ${round(seconds, 1)} s; requests waited for the pacer ${Math.round((100 * pacer.busySamples) / Math.max(1, pacer.samples))}% of that time; `
      + `event loop delay mean ${round(loopDelay.mean / 1e6, 1)} ms, p99 ${round(loopDelay.percentile(99) / 1e6, 1)} ms; `
      + `time in calls: DS GraphQL ${share(dsMs.graphql)}, table ${share(table)}, S3 (file streamed from DS) ${share(s3)}`;
    const figures: Figure[] = [
      ratioFigure(`${SCRIPT}: sync of ${listed} dossiers at ${RATE_PER_MIN}/min`, seconds, floorSeconds, 's', { maxRatio: TARGET_RATIO }, note),
      absoluteFigure(`${SCRIPT}: dossiers lost`, lost, 'dossiers', { max: 0 }, `${storedCount} of ${listed} stored, ${stillQueued} still queued for a retry when the run stopped, ${dlq.length} in the DLQ`),
      absoluteFigure(`${SCRIPT}: messages failed by a 429`, failures.byRateLimit, 'messages', { max: 0 },
        `${limiter.rejected} x 429 answered by the limiter; a failed message comes back after the worker's retry delay (60 s)`
        + `${otherFailures ? `; ${otherFailures} message(s) failed for another reason: ${[...failures.other].map(([why, n]) => `${n} x ${why}`).join(', ')}` : ''}`),
    ];
    const per = (n: number) => round(n / listed, 3);
    return {
      figures,
      counts: {
        ingestDossiers: listed,
        ingestSeconds: round(seconds, 1),
        ingestBatches: outcome.batches,
        ingestDynamoDbPerDossier: per(sdkCalls.total('DynamoDB')),
        ingestS3PutsPerDossier: per(sdkCalls.counts.get('S3.PutObject') ?? 0),
        ingestS3OtherPerDossier: per(sdkCalls.total('S3') - (sdkCalls.counts.get('S3.PutObject') ?? 0)),
        ingestSqsPerDossier: per(sdkCalls.total('SQS')),
        ingestBytesPerDossier: FILES_PER_DOSSIER * FILE_BYTES,
      },
      details: {
        sdkCalls: sdkCalls.byCommand(), dsMs, outcome, failures: { byRateLimit: failures.byRateLimit, other: Object.fromEntries(failures.other) },
        limiter: {
          served: limiter.served, rejected: limiter.rejected,
          firstServedSeconds: round((limiter.firstServedAt - startedAt) / 1000, 2), lastServedSeconds: round((limiter.lastServedAt - startedAt) / 1000, 2),
        },
      },
    };
  } finally {
    await bench.stop();
  }
}

runScript(SCRIPT, main, import.meta.url);
