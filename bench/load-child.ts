/**
 * The load generator, in its own process so that autocannon's work never runs on the event
 * loop of the server it measures. bench/webhook-ack.ts and bench/review-page.ts fork it and send
 * one LoadSpec per run; it answers with the latency percentiles and the rate.
 */
import { Agent, request } from 'node:http';
import autocannon, { type RequestSpec } from 'autocannon';
import { sign } from '#core/standard-webhooks';

export interface LoadSpec {
  url: string;
  /** bare: POST a small body; legacy / v2: DS's webhooks with a fresh dossier (v2: a fresh sequence) per request; get: GET url. */
  kind: 'bare' | 'legacy' | 'v2' | 'get';
  amount: number;
  connections: number;
  /** First dossier number (legacy, v2) or sequence (v2) of this run. */
  first?: number;
  /** Dossier numbers to cycle through (legacy, v2). */
  numbers?: number[];
  demarche?: number;
  v2Secret?: string;
  headers?: Record<string, string>;
}

export interface LoadResult {
  p50: number;
  p99: number;
  max: number;
  requestsPerSecond: number;
  ok: number;
  notOk: number;
  errors: number;
}

function requestFor(spec: LoadSpec): RequestSpec {
  let n = 0;
  const numbers = spec.numbers ?? [23456789];
  if (spec.kind === 'legacy') {
    return {
      method: 'POST',
      setupRequest: (request) => {
        const dossier = numbers[n++ % numbers.length]!;
        const body = new URLSearchParams({ procedure_id: String(spec.demarche), dossier_id: String(dossier), state: 'en_construction', updated_at: '2026-03-05 14:22:11 +0100' }).toString();
        return { ...request, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body };
      },
    };
  }
  if (spec.kind === 'v2') {
    return {
      method: 'POST',
      setupRequest: (request) => {
        const sequence = (spec.first ?? 1) + n;
        const dossier = numbers[n++ % numbers.length]!;
        const body = JSON.stringify({
          webhook_id: 'V2ViaG9vay1iZW5jaA==', demarche_number: spec.demarche,
          events: [{ sequence, type: 'dossier_modifie', dossier_number: dossier, timestamp: '2026-03-05T14:22:11+01:00' }],
        });
        const id = `msg_bench_${sequence}`;
        const timestamp = String(Math.floor(Date.now() / 1000));
        return {
          ...request, body,
          headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': timestamp, 'webhook-signature': sign(spec.v2Secret!, id, timestamp, Buffer.from(body)) },
        };
      },
    };
  }
  if (spec.kind === 'get') return { method: 'GET', ...(spec.headers ? { headers: spec.headers } : {}) };
  return { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'procedure_id=98765&dossier_id=1&state=en_construction&updated_at=2026-03-05+14%3A22%3A11+%2B0100' };
}

/**
 * One request at a time on a kept-alive connection, timed in microseconds (autocannon's
 * histogram counts whole milliseconds, too coarse for a bare server answering in 0.2 ms).
 */
async function runSequential(spec: LoadSpec): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const latencies: number[] = [];
  let ok = 0;
  let notOk = 0;
  const started = performance.now();
  for (let i = 0; i < spec.amount; i++) {
    const t0 = performance.now();
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(spec.url, { method: 'GET', agent, headers: spec.headers ?? {} }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
    latencies.push(performance.now() - t0);
    if (status >= 200 && status < 300) ok++;
    else notOk++;
  }
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  const sorted = latencies.sort((a, b) => a - b);
  const at = (p: number) => Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]! * 100) / 100;
  return { p50: at(0.5), p99: at(0.99), max: at(1), requestsPerSecond: Math.round(ok / seconds), ok, notOk, errors: 0 };
}

/**
 * The request, timed: the first request prepared and the last response received. autocannon
 * ends a run with `amount` on its one-second ticker, so the run's own duration (and a rate
 * derived from it) is rounded up to whole seconds.
 */
function timed(request: RequestSpec, clock: { first?: number; last?: number }): RequestSpec {
  const setup = request.setupRequest;
  return {
    ...request,
    setupRequest: (req, context) => {
      clock.first ??= performance.now();
      return setup ? setup(req, context) : req;
    },
    onResponse: () => {
      clock.last = performance.now();
    },
  };
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  if (spec.kind === 'get' && spec.connections === 1) return runSequential(spec);
  const clock: { first?: number; last?: number } = {};
  const result = await autocannon({ url: spec.url, amount: spec.amount, connections: spec.connections, timeout: 30, requests: [timed(requestFor(spec), clock)] });
  const seconds = ((clock.last ?? 0) - (clock.first ?? 0)) / 1000;
  return {
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    requestsPerSecond: Math.round(result['2xx'] / seconds),
    ok: result['2xx'],
    notOk: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

if (process.send) {
  process.on('message', (spec: LoadSpec | 'exit') => {
    if (spec === 'exit') process.exit(0);
    runLoad(spec).then(
      (result) => process.send!({ result }),
      (error: unknown) => process.send!({ error: String(error) }),
    );
  });
  process.send({ ready: true });
}
