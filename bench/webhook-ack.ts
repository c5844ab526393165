/**
 * Figure 1, webhook acknowledgement: bursts of 2,000 DS webhooks, 50 at a time (autocannon, in
 * its own process), on the local stack's POST /webhooks/ds/{token} and POST /webhooks/ds-v2,
 * against a bare node:http server answering 200 in the same process as the stack. Each burst is
 * paired with a burst on the bare server right before it, so both meet the same machine.
 * Twice: with the ingest consumer paused, then while it drains what the bursts queued.
 *
 * Each burst also records the CPU time this process spent per request (process.cpuUsage around
 * the burst: the stack's gateway, handler, SDK calls and engines, or the bare server): with 50
 * requests in flight on one event loop, latency follows throughput, so the ratio of CPU per
 * request is what the latency ratio tends to, whatever the machine's load.
 *
 *   npx tsx bench/webhook-ack.ts            (or: npm run bench -- webhook-ack)
 *   node --cpu-prof --import tsx bench/webhook-ack.ts    a CPU profile of the stack's process
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalStack } from '../infra/local/local-stack.ts';
import { QueueConsumer } from '../infra/local/queue-consumer.ts';
import { DEMARCHE, generateDossiers } from './dossiers.ts';
import { progress, ratioFigure, round, runScript, startBareServer, type Figure } from './lib.ts';
import { LoadGenerator, type LoadResult, type LoadSpec } from './load.ts';

const SCRIPT = 'webhook-ack';
const AMOUNT = Number(process.env.BENCH_WEBHOOK_REQUESTS ?? 2000);
const CONNECTIONS = 50;
const TARGETS = { paused: 2, running: 4 } as const;

/** A burst's result with the CPU this process spent per request meanwhile (user + system, ms). */
type MeasuredRun = LoadResult & { cpuMsPerRequest: number };

async function measured(load: LoadGenerator, spec: LoadSpec): Promise<MeasuredRun> {
  const before = process.cpuUsage();
  const result = await load.run(spec);
  const used = process.cpuUsage(before);
  return { ...result, cpuMsPerRequest: round((used.user + used.system) / 1000 / spec.amount, 3) };
}

/** The stack builds its consumer inside startLocalStack: keep a hand on it to pause and resume it. */
function captureConsumers(): QueueConsumer[] {
  const consumers: QueueConsumer[] = [];
  const start = QueueConsumer.prototype.start;
  QueueConsumer.prototype.start = function patchedStart(this: QueueConsumer) {
    if (!consumers.includes(this)) consumers.push(this);
    return start.call(this);
  };
  return consumers;
}

async function main() {
  const consumers = captureConsumers();
  const dataDir = await mkdtemp(join(tmpdir(), 'bench-webhook-'));
  progress(SCRIPT, `starting the local stack (DATA_DIR ${dataDir})`);
  const stack = await startLocalStack({ port: 0, dataDir, env: { ...process.env, DS_API_TOKEN: '', DS_API_URL: '', LOG_LEVEL: 'ERROR' } });
  const bare = await startBareServer();
  const load = await LoadGenerator.start();
  const numbers = generateDossiers(stack.simulator!, { count: 500, firstNumber: 30_000_000 });
  const v2Secret = process.env.DS_WEBHOOK_V2_SECRET ?? '';
  let sequence = 1;
  const spec = (kind: 'legacy' | 'v2', amount: number): LoadSpec => {
    const url = (kind === 'legacy' ? stack.outputs.LegacyWebhookUrl : stack.outputs.V2WebhookUrl) ?? '';
    const first = sequence;
    sequence += amount;
    return { url, kind, amount, connections: CONNECTIONS, numbers, demarche: DEMARCHE, v2Secret, first };
  };
  const runs: Record<string, { target: MeasuredRun; bare: MeasuredRun }> = {};
  try {
    const consumer = consumers[0]!;
    await consumer.stop();
    progress(SCRIPT, 'warming up (200 requests on each endpoint, consumer paused)');
    await load.run({ url: bare.url, kind: 'bare', amount: 200, connections: CONNECTIONS });
    for (const kind of ['legacy', 'v2'] as const) await load.run(spec(kind, 200));

    for (const phase of ['paused', 'running'] as const) {
      if (phase === 'running') {
        consumer.start();
        progress(SCRIPT, 'ingest consumer resumed: it drains the queued webhooks during the next bursts');
      }
      for (const kind of ['legacy', 'v2'] as const) {
        progress(SCRIPT, `${phase}: ${AMOUNT} requests, ${CONNECTIONS} concurrent: bare server, ${kind}, bare server`);
        // The floor: a bare burst right before and one right after, averaged (one burst alone
        // is at the mercy of what the other engineers' tests do at that second).
        const before = await measured(load, { url: bare.url, kind: 'bare', amount: AMOUNT, connections: CONNECTIONS });
        const run = await measured(load, spec(kind, AMOUNT));
        const after = await measured(load, { url: bare.url, kind: 'bare', amount: AMOUNT, connections: CONNECTIONS });
        const mean = (key: 'p50' | 'p99' | 'requestsPerSecond' | 'cpuMsPerRequest') => round((before[key] + after[key]) / 2, 3);
        const bareRun: MeasuredRun = {
          ...before, p50: mean('p50'), p99: mean('p99'), requestsPerSecond: mean('requestsPerSecond'), cpuMsPerRequest: mean('cpuMsPerRequest'),
        };
        if (run.notOk + run.errors > 0 || run.ok !== AMOUNT) throw new Error(`${kind} ${phase}: ${run.notOk} non-2xx and ${run.errors} errors of ${AMOUNT}`);
        runs[`${kind}-${phase}`] = { target: run, bare: bareRun };
        progress(SCRIPT, `${phase} ${kind}: p50 ${run.p50} ms, p99 ${run.p99} ms, ${run.requestsPerSecond} req/s, CPU ${run.cpuMsPerRequest} ms/request (bare: p50 ${bareRun.p50} ms, p99 ${bareRun.p99} ms, ${bareRun.requestsPerSecond} req/s, CPU ${bareRun.cpuMsPerRequest} ms/request)`);
      }
    }
  } finally {
    await load.stop();
    await bare.stop();
    await stack.stop();
    await rm(dataDir, { recursive: true, force: true });
  }

  const figures: Figure[] = [];
  for (const [key, { target, bare: floor }] of Object.entries(runs)) {
    const [kind, phase] = key.split('-') as ['legacy' | 'v2', keyof typeof TARGETS];
    const endpoint = kind === 'legacy' ? 'POST /webhooks/ds/{token}' : 'POST /webhooks/ds-v2';
    const context = `p50 ${target.p50} ms (bare ${floor.p50} ms), ${target.requestsPerSecond} req/s (bare ${floor.requestsPerSecond} req/s), `
      + `CPU ${target.cpuMsPerRequest} ms/request (bare ${floor.cpuMsPerRequest} ms)`;
    figures.push(ratioFigure(`${SCRIPT}: ${endpoint} p99, consumer ${phase}`, target.p99, floor.p99, 'ms', { maxRatio: TARGETS[phase] }, context));
  }
  return {
    figures,
    details: Object.fromEntries(Object.entries(runs).map(([key, run]) => [key, { stack: run.target, bare: run.bare }])),
    counts: { webhookRequests: AMOUNT, webhookSeconds: round(AMOUNT / (runs['legacy-paused']?.target.requestsPerSecond ?? 1), 2) },
  };
}

runScript(SCRIPT, main, import.meta.url);
