/**
 * Figure 5, rounds at scale: `close-submissions` and `close-selection` of a round of 200
 * dossiers and of a round of 2,000, with 40 reviewers, on the local engines (dynalite,
 * aws-ses-v2-local, s3rver), through the same run-round-step handler the schedules call. Every
 * AWS SDK call of this process is counted (bench/stack.ts wraps the clients' send).
 *
 * Linear means the requests per dossier are the same at 200 and at 2,000 (within 10%); and no
 * step may make a request per (dossier x reviewer) pair: at 40 reviewers that would show as 40+
 * requests per dossier, where the assignments themselves are 2 per dossier (reviewersPerDossier).
 *
 *   npx tsx bench/rounds-scale.ts     (BENCH_ROUNDS_SMALL, BENCH_ROUNDS_LARGE, BENCH_ROUNDS_REVIEWERS)
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { lambdaContext } from '../infra/local/lambda-context.ts';
import { generateDossiers } from './dossiers.ts';
import { absoluteFigure, progress, ratioFigure, round, ROOT, runScript, type Figure } from './lib.ts';
import { sdkCalls, startBenchStack } from './stack.ts';

const SCRIPT = 'rounds-scale';
const SMALL = Number(process.env.BENCH_ROUNDS_SMALL ?? 200);
const LARGE = Number(process.env.BENCH_ROUNDS_LARGE ?? 2000);
const REVIEWERS = Number(process.env.BENCH_ROUNDS_REVIEWERS ?? 40);
const MAX_GROWTH = 1.1;
const COLLEGES = ['administration', 'numerique', 'recherche'];
const ROUNDS = [
  { id: '2026-05', dossiers: SMALL, dateDepot: '2026-05-12T10:00:00+02:00', firstNumber: 50_000_000 },
  { id: '2026-07', dossiers: LARGE, dateDepot: '2026-07-08T10:00:00+02:00', firstNumber: 60_000_000 },
];
const STEPS = ['open', 'close-submissions', 'close-selection'] as const;

interface StepMeasure { seconds: number; dynamodb: number; ses: number; s3: number; byCommand: Record<string, number>; summary: unknown }

async function main() {
  progress(SCRIPT, `starting the local stack; rounds of ${SMALL} and ${LARGE} dossiers, ${REVIEWERS} reviewers`);
  const bench = await startBenchStack(SCRIPT);
  try {
    const simulator = bench.stack.simulator!;
    for (const r of ROUNDS) generateDossiers(simulator, { count: r.dossiers, firstNumber: r.firstNumber, filesPerDossier: 2, fileBytes: 1024, dateDepot: r.dateDepot });
    const total = ROUNDS.reduce((sum, r) => sum + r.dossiers, 0);
    progress(SCRIPT, `ingesting ${total} dossiers (sync, then the worker drains the queue)`);
    await bench.cliJson('sync');
    const ticker = setInterval(() => progress(SCRIPT, `... ingesting (${bench.log.length} batches done)`), 15_000);
    try {
      await bench.consumer.drain({ timeoutMs: 480_000, pollMs: 200 });
    } finally {
      clearInterval(ticker);
    }
    const csv = join(bench.dataDir, 'reviewers.csv');
    const lines = Array.from({ length: REVIEWERS }, (_, i) => `reviewer${i + 1}@example.gouv.fr,Reviewer ${i + 1},,${COLLEGES[i % COLLEGES.length]}`);
    await writeFile(csv, `email,name,conflicts,college\n${lines.join('\n')}\n`);
    await bench.cli('reviewers', 'import', csv, '--json');

    const { handler } = await import(join(ROOT, 'functions', 'run-round-step.ts')) as { handler: (event: unknown, context: Context) => Promise<{ summary: unknown }> };
    const measures: Record<string, Record<string, StepMeasure>> = {};
    for (const r of ROUNDS) {
      measures[r.id] = {};
      for (const step of STEPS) {
        progress(SCRIPT, `round ${r.id} (${r.dossiers} dossiers): ${step}`);
        sdkCalls.reset();
        sdkCalls.start();
        const started = performance.now();
        const result = await handler({ step, round: r.id, actor: 'staff:bench', force: step !== 'close-submissions' }, lambdaContext('run-round-step', 900));
        const seconds = (performance.now() - started) / 1000;
        sdkCalls.stop();
        measures[r.id]![step] = {
          seconds: round(seconds), dynamodb: sdkCalls.total('DynamoDB'), ses: sdkCalls.total('SESv2'), s3: sdkCalls.total('S3'),
          byCommand: sdkCalls.byCommand(), summary: result.summary,
        };
        progress(SCRIPT, `  ${round(seconds)} s, ${sdkCalls.total('DynamoDB')} DynamoDB requests, ${sdkCalls.total('SESv2')} SES calls, ${sdkCalls.total('S3')} S3 requests`);
      }
    }

    const small = measures[ROUNDS[0]!.id]!;
    const large = measures[ROUNDS[1]!.id]!;
    const figures: Figure[] = [];
    for (const step of ['close-submissions', 'close-selection'] as const) {
      const perSmall = small[step]!.dynamodb / SMALL;
      const perLarge = large[step]!.dynamodb / LARGE;
      figures.push(ratioFigure(`${SCRIPT}: ${step} DynamoDB requests per dossier, ${LARGE} vs ${SMALL} dossiers`, perLarge, perSmall, 'requests/dossier', { maxRatio: MAX_GROWTH },
        `${large[step]!.dynamodb} requests for ${LARGE} dossiers in ${large[step]!.seconds} s, ${small[step]!.dynamodb} for ${SMALL} in ${small[step]!.seconds} s; `
        + `SES calls ${large[step]!.ses} / ${small[step]!.ses}; S3 requests ${large[step]!.s3} / ${small[step]!.s3}`));
      figures.push(absoluteFigure(`${SCRIPT}: ${step} DynamoDB requests per dossier at ${LARGE} (no request per dossier x reviewer pair)`, round(perLarge, 2), 'requests/dossier',
        { below: REVIEWERS }, `${REVIEWERS} reviewers: a request per (dossier x reviewer) pair would be ${REVIEWERS}+ per dossier; the assignments themselves are 2 per dossier`));
    }
    figures.push(absoluteFigure(`${SCRIPT}: close-submissions of ${LARGE} dossiers, seconds`, large['close-submissions']!.seconds, 's', { max: 300 }, 'informative: against the function timeout (run-round-step)'));
    // requests = fixed + perDossier x dossiers, through the two rounds measured (the cost model evaluates it at its own size).
    const totalOf = (m: Record<string, StepMeasure>, key: 'dynamodb' | 'ses' | 's3') => STEPS.reduce((sum, step) => sum + m[step]![key], 0);
    const line = (key: 'dynamodb' | 'ses' | 's3') => {
      const perDossier = (totalOf(large, key) - totalOf(small, key)) / (LARGE - SMALL);
      return { perDossier: round(perDossier, 4), fixed: round(totalOf(small, key) - perDossier * SMALL, 1) };
    };
    const [dynamodb, ses, s3] = [line('dynamodb'), line('ses'), line('s3')];
    return {
      figures,
      counts: {
        roundReviewers: REVIEWERS,
        roundDynamoDbFixed: dynamodb.fixed, roundDynamoDbPerDossier: dynamodb.perDossier,
        roundSesFixed: ses.fixed, roundSesPerDossier: ses.perDossier,
        roundS3Fixed: s3.fixed, roundS3PerDossier: s3.perDossier,
        roundSecondsAtLarge: round(STEPS.reduce((sum, step) => sum + large[step]!.seconds, 0), 1),
      },
      details: measures,
    };
  } finally {
    await bench.stop();
  }
}

runScript(SCRIPT, main, import.meta.url);
