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
 *   npx tsx bench/ingest-rate.ts     (BENCH_INGEST_DOSSIERS, BENCH_INGEST_RATE_PER_MIN to scale both)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
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

/** DS's limiter, in front of the simulator's GraphQL route: `perMinute / 60` requests per second. */
const limiter = { perSecond: Infinity, windowStart: 0, used: 0, rejected: 0, served: 0 };
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
  return graphql.call(this, req, res);
};

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
  progress(SCRIPT, `starting the local stack; ${DOSSIERS} dossiers x ${FILES_PER_DOSSIER} files of ${FILE_BYTES / 1024} KB, DS limited to ${RATE_PER_MIN}/min`);
  const bench = await startBenchStack(SCRIPT);
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
    progress(SCRIPT, `sync of ${listed} dossiers (floor: ${dsRequests} DS requests / ${RATE_PER_MIN}/min = ${round(floorSeconds, 1)} s)`);
    const sync = await bench.cliJson<{ listed: number; queued: number }>('sync');
    progress(SCRIPT, `sync queued ${sync.queued} in ${round((performance.now() - started) / 1000, 1)} s; waiting for the worker to drain the queue`);
    const ticker = setInterval(() => progress(SCRIPT, `... ${ingestOutcome(bench.log).done} of ${listed} ingested, ${limiter.rejected} x 429`), 10_000);
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
    const table = sdkCalls.ms.get('DynamoDB') ?? 0;
    const s3 = sdkCalls.ms.get('S3') ?? 0;
    const stageTotal = dsMs.graphql + table + s3;
    const share = (ms: number) => `${Math.round((100 * ms) / stageTotal)}%`;
    const note = `${drained ? '' : 'NOT DRAINED (stopped waiting): '}${listed} dossiers in ${round(seconds, 1)} s (${round(listed / seconds, 1)}/s, DS allows ${round(RATE_PER_MIN / 60, 1)} req/s); `
      + `${limiter.rejected} x 429 answered, ${outcome.retried} message(s) retried, ${dlq.length} in the DLQ; `
      + `time in calls: DS GraphQL ${share(dsMs.graphql)}, table ${share(table)}, S3 (file streamed from DS) ${share(s3)}`;
    const figures: Figure[] = [
      ratioFigure(`${SCRIPT}: sync of ${listed} dossiers at ${RATE_PER_MIN}/min`, seconds, floorSeconds, 's', { maxRatio: TARGET_RATIO }, note),
      absoluteFigure(`${SCRIPT}: dossiers lost`, lost, 'dossiers', { max: 0 }, `${storedCount} of ${listed} stored, ${stillQueued} still queued for a retry when the run stopped, ${dlq.length} in the DLQ`),
      absoluteFigure(`${SCRIPT}: messages failed by a 429`, outcome.retried + dlq.length, 'messages', { max: 0 }, `${limiter.rejected} x 429 answered by the limiter; a failed message comes back after the worker's retry delay (60 s)`),
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
      details: { sdkCalls: sdkCalls.byCommand(), dsMs, limiter: { served: limiter.served, rejected: limiter.rejected }, outcome },
    };
  } finally {
    await bench.stop();
  }
}

runScript(SCRIPT, main, import.meta.url);
