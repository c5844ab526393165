/**
 * What every benchmark script shares: the figure format, progress lines, percentiles, the
 * bare `node:http` floor, and the hand-off to bench/run.ts.
 *
 * Each script runs alone (`npx tsx bench/<name>.ts`) or under `npm run bench`; either way it
 * ends by writing its figures (and the counts the cost model reads) to bench/.out/<name>.json,
 * which run.ts merges into bench/results.json and bench/RESULTS.md.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const OUT_DIR = fileURLToPath(new URL('./.out/', import.meta.url));
export const MB = 1024 * 1024;

export interface Figure {
  /** `<script>: <what>`, stable across runs. */
  name: string;
  /** What was measured, in `unit`. */
  value: number;
  /** The floor measured in the same run (or computed, e.g. dossiers / allowed rate), in the same unit; null when the figure is absolute. */
  baseline: number | null;
  /** value / baseline (null when there is no baseline). */
  ratio: number | null;
  /** e.g. `ratio <= 2`, `value < 1024 KB`. */
  target: string;
  met: boolean;
  unit: string;
  /** Anything worth a reader's eye (absolute figures, what was skipped, why). */
  note?: string;
}

export interface ScriptResult {
  script: string;
  seconds: number;
  figures: Figure[];
  /** Counts other scripts read (the cost model): requests per dossier, per round... */
  counts?: Record<string, number>;
  details?: unknown;
}

const started = performance.now();

/** One line per stage, with the elapsed time: `npm run bench` shows where it is. */
export function progress(script: string, line: string): void {
  const s = ((performance.now() - started) / 1000).toFixed(1).padStart(6);
  process.stdout.write(`[bench ${s} s] ${script}: ${line}\n`);
}

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Nearest-rank percentile of `values` (0 < p <= 100). */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function median(values: number[]): number {
  return percentile(values, 50);
}

/** A figure with a ratio against its floor; `maxRatio` or `minRatio` is the target. */
export function ratioFigure(
  name: string,
  value: number,
  baseline: number,
  unit: string,
  target: { maxRatio?: number; minRatio?: number },
  note?: string,
): Figure {
  const ratio = baseline > 0 ? value / baseline : Infinity;
  const met = (target.maxRatio === undefined || ratio <= target.maxRatio) && (target.minRatio === undefined || ratio >= target.minRatio);
  const text = target.maxRatio !== undefined ? `ratio <= ${target.maxRatio}` : `ratio >= ${target.minRatio}`;
  return { name, value: round(value), baseline: round(baseline), ratio: round(ratio), target: text, met, unit, ...(note ? { note } : {}) };
}

/** A figure with an absolute target (no floor): `value <= max` or `value >= min`. */
export function absoluteFigure(name: string, value: number, unit: string, target: { max?: number; min?: number; below?: number }, note?: string): Figure {
  const met = (target.max === undefined || value <= target.max)
    && (target.min === undefined || value >= target.min)
    && (target.below === undefined || value < target.below);
  const text = target.below !== undefined ? `< ${target.below} ${unit}` : target.max !== undefined ? `<= ${target.max} ${unit}` : `>= ${target.min} ${unit}`;
  return { name, value: round(value, 3), baseline: null, ratio: null, target: text, met, unit, ...(note ? { note } : {}) };
}

/** A figure that could not be measured here (e.g. no Chromium): reported, never `met`. */
export function skippedFigure(name: string, target: string, unit: string, why: string): Figure {
  return { name, value: NaN, baseline: null, ratio: null, target, met: false, unit, note: `skipped: ${why}` };
}

/** The floor of every latency figure: a bare node:http server answering 200, nothing else. */
export async function startBareServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export async function writeScriptResult(result: ScriptResult): Promise<void> {
  await mkdir(OUT_DIR, { recursive: true });
  await writeFile(`${OUT_DIR}${result.script}.json`, `${JSON.stringify(result, null, 2)}\n`);
  for (const figure of result.figures) {
    const ratio = figure.ratio === null ? '' : ` = ${figure.ratio}x ${figure.baseline} ${figure.unit}`;
    progress(result.script, `${figure.met ? 'MET ' : 'MISS'} ${figure.name}: ${figure.value} ${figure.unit}${ratio} (target ${figure.target})`);
  }
}

/** The counts every script left in bench/.out (what the cost model reads). */
export async function readCounts(script: string): Promise<Record<string, number> | undefined> {
  try {
    return (JSON.parse(await readFile(`${OUT_DIR}${script}.json`, 'utf8')) as ScriptResult).counts;
  } catch {
    return undefined;
  }
}

/** Runs a script's main when it is the entry point, and exits non-zero on a crash (not on a missed target). */
export function runScript(script: string, main: () => Promise<Omit<ScriptResult, 'script' | 'seconds'>>, entryUrl: string): void {
  if (process.argv[1] === undefined || !entryUrl.endsWith(process.argv[1].replace(/^.*\/bench\//, '/bench/'))) return;
  const t0 = performance.now();
  main()
    .then(async (result) => {
      await writeScriptResult({ script, seconds: round((performance.now() - t0) / 1000, 1), ...result });
      process.exit(0);
    })
    .catch((error: unknown) => {
      console.error(`${script} failed:`, error);
      process.exit(1);
    });
}
