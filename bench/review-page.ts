/**
 * Figure 6, the review page: server time of a reviewer's list and of a dossier page, 500
 * requests each, one at a time (so each latency is the server's time plus loopback), through
 * the local stack's gateway and the serve-review-page handler, against the bare node:http server
 * answering in the same process; then the first-load weight of a dossier page in Chromium
 * (test/helpers/browser.ts measureFirstLoad), when Chromium is installed.
 *
 *   npx tsx bench/review-page.ts
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { reviewToken } from '#core/rounds/review-links';
import { lambdaContext } from '../infra/local/lambda-context.ts';
import { browserAvailability, launchChromium, measureFirstLoad } from '../test/helpers/browser.ts';
import { generateDossiers } from './dossiers.ts';
import { absoluteFigure, progress, ratioFigure, ROOT, runScript, skippedFigure, startBareServer, type Figure } from './lib.ts';
import { LoadGenerator } from './load.ts';
import { sdkCalls, startBenchStack } from './stack.ts';

const SCRIPT = 'review-page';
const ROUND = '2026-09';
const REQUESTS = Number(process.env.BENCH_REVIEW_REQUESTS ?? 500);
const MAX_RATIO = 3;
const MAX_FIRST_LOAD_KB = 500;

async function main() {
  progress(SCRIPT, 'starting the local stack; a round of 12 dossiers and 3 reviewers');
  const bench = await startBenchStack(SCRIPT);
  const bare = await startBareServer();
  const load = await LoadGenerator.start();
  try {
    generateDossiers(bench.stack.simulator!, { count: 12, firstNumber: 70_000_000, filesPerDossier: 2, fileBytes: 64 * 1024, dateDepot: '2026-09-10T10:00:00+02:00' });
    await bench.cliJson('sync');
    await bench.consumer.drain({ timeoutMs: 120_000 });
    const csv = join(bench.dataDir, 'reviewers.csv');
    await writeFile(csv, 'email,name,conflicts,college\nalice@example.gouv.fr,Alice Martin,,administration\nbob@example.gouv.fr,Bob Durand,,numerique\ncarol@example.gouv.fr,Carol Petit,,recherche\n');
    await bench.cli('reviewers', 'import', csv, '--json');
    const { handler } = await import(join(ROOT, 'functions', 'run-round-step.ts')) as { handler: (event: unknown, context: Context) => Promise<unknown> };
    for (const step of ['open', 'close-submissions'] as const) {
      await handler({ step, round: ROUND, actor: 'staff:bench', force: step === 'open' }, lambdaContext('run-round-step', 900));
    }
    const reviews = await bench.cliJson<{ dossierNumber: number; reviewerId: string }[]>('reviews', 'list', '--round', ROUND);
    const { reviewerId, dossierNumber } = reviews[0]!;
    const token = reviewToken(bench.stack.outputs.local!.reviewLinkSecret!, ROUND, reviewerId, new Date(Date.now() + 7 * 86_400_000));
    const api = bench.stack.outputs.ApiUrl;
    const pages = {
      list: `${api}/review/${ROUND}?token=${token}`,
      dossier: `${api}/review/${ROUND}/dossiers/${dossierNumber}?token=${token}`,
    };
    for (const url of Object.values(pages)) {
      const response = await fetch(url);
      if (response.status !== 200) throw new Error(`${url.replace(/token=.*/, 'token=...')} answered ${response.status}`);
    }
    progress(SCRIPT, 'warming up (50 requests each)');
    await load.run({ url: bare.url, kind: 'get', amount: 50, connections: 1 });
    for (const url of Object.values(pages)) await load.run({ url, kind: 'get', amount: 50, connections: 1 });

    const figures: Figure[] = [];
    const details: Record<string, unknown> = {};
    const dynamoDbPerView: Record<string, number> = {};
    for (const [name, url] of Object.entries(pages)) {
      progress(SCRIPT, `${name} page: ${REQUESTS} requests one at a time, after as many on the bare server`);
      const floor = await load.run({ url: bare.url, kind: 'get', amount: REQUESTS, connections: 1 });
      sdkCalls.reset();
      sdkCalls.start();
      const page = await load.run({ url, kind: 'get', amount: REQUESTS, connections: 1 });
      sdkCalls.stop();
      dynamoDbPerView[name] = sdkCalls.total('DynamoDB') / REQUESTS;
      if (page.ok !== REQUESTS) throw new Error(`${name}: ${page.notOk} non-2xx, ${page.errors} errors`);
      details[name] = { page, bare: floor };
      figures.push(ratioFigure(`${SCRIPT}: ${name === 'list' ? "reviewer's list" : 'dossier page'} p99 server time`, page.p99, floor.p99, 'ms', { maxRatio: MAX_RATIO },
        `p50 ${page.p50} ms (bare ${floor.p50} ms), ${page.requestsPerSecond} req/s one at a time (bare ${floor.requestsPerSecond}); ${dynamoDbPerView[name]} DynamoDB requests per view`));
    }

    const availability = browserAvailability();
    if (availability.available) {
      progress(SCRIPT, 'first load of a dossier page in Chromium');
      const browser = await launchChromium();
      try {
        const firstLoad = await measureFirstLoad(browser, pages.dossier);
        const kb = firstLoad.totalBytes / 1024;
        const heaviest = [...firstLoad.resources].sort((a, b) => b.encodedBytes - a.encodedBytes).slice(0, 3)
          .map((r) => `${new URL(r.url).pathname.split('/').at(-1)} ${Math.round(r.encodedBytes / 1024)} KB`).join(', ');
        figures.push(absoluteFigure(`${SCRIPT}: dossier page first load`, Math.round(kb), 'KB', { below: MAX_FIRST_LOAD_KB }, `${firstLoad.resources.length} responses; heaviest: ${heaviest}`));
      } finally {
        await browser.close();
      }
    } else {
      figures.push(skippedFigure(`${SCRIPT}: dossier page first load`, `< ${MAX_FIRST_LOAD_KB} KB`, 'KB', availability.message));
    }
    const perView = Math.max(...Object.values(dynamoDbPerView));
    return { figures, details: { ...details, dynamoDbPerView }, counts: { reviewPageRequestsMeasured: REQUESTS, reviewPageDynamoDbPerView: perView } };
  } finally {
    await load.stop();
    await bare.stop();
    await bench.stop();
  }
}

runScript(SCRIPT, main, import.meta.url);
