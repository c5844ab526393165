/**
 * Figure 6, the review page: server time of a reviewer's list and of a dossier page, 500
 * requests each, one at a time (so each latency is the server's time plus loopback), through
 * the local stack's gateway and the serve-review-page handler, against the bare node:http server
 * answering in the same process; then the first-load weight of a dossier page in Chromium
 * (test/helpers/browser.ts measureFirstLoad), when Chromium is installed.
 *
 * Then where a view's time goes (details.breakdown, means per view): the same handler module
 * called directly with the event the gateway would build (no HTTP, no gateway), the time spent in
 * DynamoDB calls (SDK and dynalite, both in this process), and the HTML rendering alone (the
 * page's records read once, rendered as many times).
 *
 *   npx tsx bench/review-page.ts
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { h, type VNode } from 'preact';
import { createDocumentClient } from '#adapters/dynamodb/client';
import { DynamoReviewPageReads } from '#adapters/dynamodb/review-page-reads';
import { openDossierPage, openListPage, type PageDependencies } from '#core/reviews/reviewer-pages';
import { formToken, reviewToken } from '#core/rounds/review-links';
import { listHref } from '../functions/review-page/links.ts';
import { DossierPage } from '../functions/review-page/views/dossier-page.tsx';
import { ListPage } from '../functions/review-page/views/list-page.tsx';
import { renderDocument } from '../functions/review-page/views/render.ts';
import { lambdaContext } from '../infra/local/lambda-context.ts';
import { browserAvailability, launchChromium, measureFirstLoad } from '../test/helpers/browser.ts';
import { generateDossiers } from './dossiers.ts';
import { absoluteFigure, percentile, progress, ratioFigure, round, ROOT, runScript, skippedFigure, startBareServer, type Figure } from './lib.ts';
import { LoadGenerator } from './load.ts';
import { sdkCalls, startBenchStack } from './stack.ts';

const SCRIPT = 'review-page';
const ROUND = '2026-09';
const REQUESTS = Number(process.env.BENCH_REVIEW_REQUESTS ?? 500);
const MAX_RATIO = 3;
const MAX_FIRST_LOAD_KB = 500;

type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<{ statusCode?: number }>;

/** A GET as the local gateway hands it to the function (infra/local/http-gateway.ts toApiGatewayEvent). */
function gatewayEvent(url: string, routePath: string): APIGatewayProxyEventV2 {
  const { host, pathname, search, searchParams } = new URL(url);
  const now = new Date();
  return {
    version: '2.0', routeKey: `GET ${routePath}`, rawPath: pathname, rawQueryString: search.slice(1),
    headers: { host, connection: 'keep-alive' }, queryStringParameters: Object.fromEntries(searchParams),
    requestContext: {
      accountId: '000000000000', apiId: 'local', domainName: host, domainPrefix: 'local',
      http: { method: 'GET', path: pathname, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: '' },
      requestId: 'bench', routeKey: `GET ${routePath}`, stage: '$default', time: now.toUTCString(), timeEpoch: now.getTime(),
    },
    isBase64Encoded: false,
  };
}

/** Mean and p50 of `amount` sequential calls, in ms. */
async function timeCalls(amount: number, call: () => unknown): Promise<{ mean: number; p50: number }> {
  const times: number[] = [];
  for (let i = 0; i < amount; i++) {
    const t0 = performance.now();
    await call();
    times.push(performance.now() - t0);
  }
  return { mean: round(times.reduce((a, b) => a + b, 0) / amount, 3), p50: round(percentile(times, 50), 3) };
}

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
    const breakdown: Record<string, Record<string, number>> = {};
    for (const [name, url] of Object.entries(pages)) {
      progress(SCRIPT, `${name} page: ${REQUESTS} requests one at a time, after as many on the bare server`);
      const floor = await load.run({ url: bare.url, kind: 'get', amount: REQUESTS, connections: 1 });
      sdkCalls.reset();
      sdkCalls.start();
      const page = await load.run({ url, kind: 'get', amount: REQUESTS, connections: 1 });
      sdkCalls.stop();
      dynamoDbPerView[name] = sdkCalls.total('DynamoDB') / REQUESTS;
      breakdown[name] = { httpMeanMs: round(1000 / page.requestsPerSecond, 3), dynamoDbMsPerView: round((sdkCalls.ms.get('DynamoDB') ?? 0) / REQUESTS, 3) };
      if (page.ok !== REQUESTS) throw new Error(`${name}: ${page.notOk} non-2xx, ${page.errors} errors`);
      details[name] = { page, bare: floor };
      figures.push(ratioFigure(`${SCRIPT}: ${name === 'list' ? "reviewer's list" : 'dossier page'} p99 server time`, page.p99, floor.p99, 'ms', { maxRatio: MAX_RATIO },
        `p50 ${page.p50} ms (bare ${floor.p50} ms), ${page.requestsPerSecond} req/s one at a time (bare ${floor.requestsPerSecond}); ${dynamoDbPerView[name]} DynamoDB requests per view`));
    }

    progress(SCRIPT, `where the time goes: ${REQUESTS} direct handler calls and renders per page`);
    const { handler: servePage } = await import(join(ROOT, 'functions', 'serve-review-page.ts')) as { handler: HttpHandler };
    const local = bench.stack.outputs.local!;
    const pageDeps: PageDependencies = {
      reads: new DynamoReviewPageReads({ client: createDocumentClient({ endpoint: local.endpoints.dynamodb, region: bench.stack.outputs.region, credentials: local.credentials }), tableName: bench.stack.outputs.TableName }),
      secret: local.reviewLinkSecret!, clock: { now: () => new Date() },
    };
    const listPage = await openListPage(ROUND, token, pageDeps);
    const dossierPage = await openDossierPage(ROUND, token, dossierNumber, pageDeps);
    const csrf = formToken(local.reviewLinkSecret!, ROUND, reviewerId, dossierPage.session.linkExpiresAt);
    const renders = {
      list: () => renderDocument(h(ListPage, { page: listPage, token, homeHref: listHref(ROUND, token) }) as VNode),
      dossier: () => renderDocument(h(DossierPage, { page: dossierPage, token, homeHref: listHref(ROUND, token), csrf }) as VNode),
    };
    const routes = { list: '/review/{round}', dossier: '/review/{round}/dossiers/{number}' };
    for (const name of ['list', 'dossier'] as const) {
      const event = gatewayEvent(pages[name], routes[name]);
      await timeCalls(50, () => servePage(structuredClone(event), lambdaContext('serve-review-page', 30)));
      sdkCalls.reset();
      sdkCalls.start();
      const handler = await timeCalls(REQUESTS, () => servePage(structuredClone(event), lambdaContext('serve-review-page', 30)));
      sdkCalls.stop();
      const dynamoDbMs = (sdkCalls.ms.get('DynamoDB') ?? 0) / REQUESTS;
      await timeCalls(50, renders[name]);
      const render = await timeCalls(REQUESTS, renders[name]);
      const { httpMeanMs, dynamoDbMsPerView } = breakdown[name]!;
      breakdown[name] = {
        httpMeanMs: httpMeanMs!, dynamoDbMsPerViewOverHttp: dynamoDbMsPerView!, gatewayAndHttpMs: round(httpMeanMs! - handler.mean, 3),
        handlerMeanMs: handler.mean, dynamoDbMsPerView: round(dynamoDbMs, 3), renderMeanMs: render.mean,
        // Routing, link and form-token HMACs, middy, logging, records from items: what is left of the handler.
        restOfHandlerMs: round(handler.mean - dynamoDbMs - render.mean, 3),
      };
      const b = breakdown[name]!;
      progress(SCRIPT, `${name}: ${b.httpMeanMs} ms a view over HTTP (mean): gateway and HTTP ${b.gatewayAndHttpMs}, handler ${b.handlerMeanMs} `
        + `(DynamoDB ${b.dynamoDbMsPerView}, render ${b.renderMeanMs}, the rest ${b.restOfHandlerMs})`);
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
    return { figures, details: { ...details, dynamoDbPerView, breakdown }, counts: { reviewPageRequestsMeasured: REQUESTS, reviewPageDynamoDbPerView: perView } };
  } finally {
    await load.stop();
    await bare.stop();
    await bench.stop();
  }
}

runScript(SCRIPT, main, import.meta.url);
