/**
 * `npm run bench`: every benchmark of bench/, one child process each, in order, then
 * bench/results.json and bench/RESULTS.md (the table the README shows). Every figure is a
 * ratio against a floor measured in the same run (or an absolute target), so results compare
 * across machines; docs/benchmarks.md says how each one works.
 *
 *   npm run bench                       all of them (about 4 minutes on 2 busy cores)
 *   npm run bench -- webhook-ack        one (or several) by name; the others' figures are kept from the last run
 */
import { spawn } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { BENCH_DIR, OUT_DIR, progress, round, ROOT, type Figure, type ScriptResult } from './lib.ts';

/** In run order: cost reads the counts of ingest-rate, rounds-scale and review-page. */
const SCRIPTS = [
  { name: 'webhook-ack', timeoutSeconds: 180 },
  { name: 'ingest-rate', timeoutSeconds: 240 },
  { name: 'attachment-stream', timeoutSeconds: 180 },
  { name: 'lambda-bundles', timeoutSeconds: 180 },
  { name: 'rounds-scale', timeoutSeconds: 420 },
  { name: 'review-page', timeoutSeconds: 180 },
  { name: 'cost', timeoutSeconds: 60 },
] as const;

interface Results {
  date: string;
  machine: { cpus: number; cpuModel: string; node: string; platform: string; loadAverageAtStart: number[] };
  seconds: number;
  scripts: Record<string, { date: string; seconds: number; ok: boolean; error?: string }>;
  figures: Figure[];
  counts: Record<string, number>;
}

const RESULTS_JSON = join(BENCH_DIR, 'results.json');
const RESULTS_MD = join(BENCH_DIR, 'RESULTS.md');

function runChild(name: string, timeoutSeconds: number): Promise<{ ok: boolean; error?: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(BENCH_DIR, `${name}.ts`)], {
      cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    const timer = setTimeout(() => {
      progress(name, `over ${timeoutSeconds} s: stopped`);
      child.kill('SIGTERM');
    }, timeoutSeconds * 1000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code === 0 ? { ok: true } : { ok: false, error: signal ? `stopped (${signal})` : `exit code ${code}` });
    });
  });
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

const cell = (value: number | null | undefined) => (value === null || value === undefined || Number.isNaN(value) ? '-' : String(value));

function markdown(results: Results): string {
  const rows = results.figures.map((f) => `| ${f.name} | ${cell(f.value)} ${f.unit} | ${f.baseline === null ? '-' : `${cell(f.baseline)} ${f.unit}`} | ${f.ratio === null ? '-' : `${cell(f.ratio)}x`} | ${f.target} | ${f.met ? 'yes' : '**no**'} |`);
  const notes = results.figures.filter((f) => f.note).map((f) => `- **${f.name}**: ${f.note}`);
  const met = results.figures.filter((f) => f.met).length;
  return [
    '# Benchmark results',
    '',
    `Written by \`npm run bench\` on ${results.date} (${results.machine.cpus} CPUs, ${results.machine.cpuModel}, Node ${results.machine.node}, `
      + `load average ${results.machine.loadAverageAtStart.map((l) => round(l, 1)).join(' / ')} at start: a shared machine). `
      + `${met} of ${results.figures.length} targets met. How each figure is measured: [docs/benchmarks.md](../docs/benchmarks.md).`,
    '',
    '| figure | value | baseline (same run) | ratio | target | met |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    'Rerun: `npm run bench` (all, 3-4 minutes), or one figure: `npm run bench -- webhook-ack` '
      + `(${SCRIPTS.map((s) => s.name).join(', ')}).`,
    '',
    '## Notes',
    '',
    ...notes,
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const wanted = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
  const unknown = wanted.filter((name) => !SCRIPTS.some((s) => s.name === name));
  if (unknown.length > 0) {
    console.error(`unknown benchmark(s): ${unknown.join(', ')}; known: ${SCRIPTS.map((s) => s.name).join(', ')}`);
    process.exit(4);
  }
  const chosen = SCRIPTS.filter((s) => wanted.length === 0 || wanted.includes(s.name));
  const previous = await readJson<Results>(RESULTS_JSON);
  const started = performance.now();
  const loadAverageAtStart = loadavg();
  const scripts: Results['scripts'] = { ...(previous?.scripts ?? {}) };
  let failed = 0;
  for (const [index, script] of chosen.entries()) {
    progress('bench', `[${index + 1}/${chosen.length}] ${script.name}`);
    await rm(join(OUT_DIR, `${script.name}.json`), { force: true });
    const t0 = performance.now();
    const outcome = await runChild(script.name, script.timeoutSeconds);
    if (!outcome.ok) failed++;
    scripts[script.name] = { date: new Date().toISOString(), seconds: round((performance.now() - t0) / 1000, 1), ...outcome };
    progress('bench', `${script.name}: ${outcome.ok ? 'done' : `FAILED (${outcome.error})`} in ${scripts[script.name]!.seconds} s`);
  }

  // Figures of the scripts run now, and the last figures of the others (their date is in `scripts`).
  const figures: Figure[] = [];
  const counts: Record<string, number> = {};
  for (const script of SCRIPTS) {
    const result = await readJson<ScriptResult>(join(OUT_DIR, `${script.name}.json`));
    if (result) {
      figures.push(...result.figures);
      Object.assign(counts, result.counts ?? {});
    } else if (!chosen.includes(script)) {
      figures.push(...(previous?.figures ?? []).filter((f) => f.name.startsWith(`${script.name}:`)));
    } else {
      figures.push({ name: `${script.name}: (the script failed)`, value: NaN, baseline: null, ratio: null, target: 'runs', met: false, unit: '', note: scripts[script.name]?.error ?? 'failed' });
    }
  }
  const cpu = cpus();
  const results: Results = {
    date: new Date().toISOString(),
    machine: { cpus: cpu.length, cpuModel: cpu[0]?.model.trim() ?? 'unknown', node: process.version, platform: `${process.platform} ${process.arch}`, loadAverageAtStart },
    seconds: round((performance.now() - started) / 1000, 1),
    scripts,
    figures,
    counts: { ...(previous?.counts ?? {}), ...counts },
  };
  await writeFile(RESULTS_JSON, `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(RESULTS_MD, markdown(results));
  const met = figures.filter((f) => f.met).length;
  progress('bench', `${met} of ${figures.length} targets met; bench/results.json and bench/RESULTS.md written (${results.seconds} s)`);
  if (failed > 0) process.exit(1);
}

await main();
