/**
 * Figure 7, the cost model: the AWS bill of one round of 300 dossiers, from the request counts
 * the other benchmarks measured (bench/.out/*.json: ingest-rate, rounds-scale, review-page) and
 * the prices below. Writes the figure, and the breakdown table between the markers of
 * docs/cost.md (which explains every line). Run after the others (`npm run bench` does).
 *
 *   npx tsx bench/cost.ts
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { absoluteFigure, progress, readCounts, round, ROOT, runScript, type Figure } from './lib.ts';

const SCRIPT = 'cost';

/**
 * AWS prices for eu-west-3 (Paris), USD, checked on 2026-12-02 through stored copies of public
 * sources (this machine has no internet): each line names its source, and docs/cost.md says what
 * each source states and which prices remain unverified. "Price List" is the AWS Price List
 * (https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/<offer>/current/eu-west-3/index.json,
 * or its Query API), read here through copies of its eu-west-3 values published in public
 * repositories (bulk offer files published 2026-09/10, read 2026-10-09; Query API read 2026-09-07).
 * Free tiers are ignored (the figure is what a round costs at the margin).
 */
export const PRICES = {
  region: 'eu-west-3 (Paris)',
  takenOn: '2026-12-02, checked against the sources in docs/cost.md',
  // Price List AWSLambda eu-west-3, EUW3-Lambda-GB-Second-ARM (first tier); artillery prices.js: eu-west-3 at the base arm64 price
  lambdaGbSecondArm: 0.0000133334,
  // Price List AWSLambda eu-west-3, EUW3-Request-ARM: 0.0000002 per request
  lambdaPerMillionRequests: 0.20,
  // Price List Query API, EUW3-WriteRequestUnits (after the -50% on-demand cut of 2024-11-01, https://aws.amazon.com/blogs/database/new-amazon-dynamodb-lowers-pricing-for-on-demand-throughput-and-global-tables/)
  dynamoDbPerMillionWriteUnits: 0.7423,
  // Price List Query API, EUW3-ReadRequestUnits (same cut)
  dynamoDbPerMillionReadUnits: 0.1487,
  // unverified for Paris: us-east-1 figure, unchanged by the 2024 cut (https://github.com/awslabs/agentcore-samples/pull/1854); not used by the figure
  dynamoDbStorageGbMonth: 0.25,
  // Price List AmazonS3 eu-west-3, EUW3-Requests-Tier1: 0.0000053 per request
  s3PutPer1000: 0.0053,
  // Price List AmazonS3 eu-west-3, EUW3-Requests-Tier2: 0.00000042 per request
  s3GetPer1000: 0.00042,
  // Price List AmazonS3 eu-west-3, EUW3-TimedStorage-ByteHrs (first 50 TB)
  s3StandardGbMonth: 0.024,
  // unverified for Paris: the generic (us-east-1) 0.10 USD per 1,000 outbound mails quoted by third parties; https://aws.amazon.com/ses/pricing/ not reachable
  sesPer1000Mails: 0.10,
  // Price List AmazonApiGateway eu-west-3, EUW3-ApiGatewayHttpRequest: 0.00000117 per request (first tier)
  httpApiPerMillion: 1.17,
  // Price List Query API, EUW3-ScheduledInvocation: 1.20 per million after the free 14 M (us-east-1: 1.00)
  schedulerPerMillion: 1.20,
  // Price List Query API, EUW3-Requests-Tier1 (SQS standard): 0.40 per million
  sqsPerMillion: 0.40,
  // Price List AmazonEC2 eu-west-3, EUW3-NatGateway-Hours (0.048 is eu-west-1's, EU-NatGateway-Hours)
  natGatewayHour: 0.05,
  // Price List AmazonEC2 eu-west-3, EUW3-NatGateway-Bytes
  natGatewayPerGb: 0.05,
  // Price List AmazonVPC eu-west-3, EUW3-PublicIPv4:InUseAddress; all regions since 2024-02-01 (https://aws.amazon.com/blogs/aws/new-aws-public-ipv4-address-charge-public-ip-insights/)
  publicIpv4Hour: 0.005,
} as const;

/** What a round is, beyond what the benchmarks measure: each one a stated assumption. */
export const ASSUMPTIONS = {
  dossiers: 300,
  reviewersPerDossier: 2,
  reviewers: 40,
  /** Days a round lasts (bimonthly). */
  roundDays: 61,
  /** DS webhooks per dossier over a round (deposit, edits, state changes): each is one ack and one ingestion. */
  webhooksPerDossier: 4,
  /** Attachments per dossier, in MB (3 PDFs). */
  attachmentMbPerDossier: 5,
  /** Billed duration and memory of each function, per invocation (local timings do not transfer to Lambda: conservative round figures). */
  webhookAck: { ms: 60, mb: 256 },
  ingest: { ms: 1500, mb: 1024, messagesPerInvocation: 2 },
  reconcile: { ms: 800, mb: 256, everyMinutes: 10, dynamoDbRequestsPerRun: 3 },
  reviewPage: { ms: 150, mb: 512 },
  roundStep: { ms: 20_000, mb: 512, runs: 6 },
  purge: { ms: 2000, mb: 256, runsPerDay: 1 },
  /** Page views per assignment: list, dossier, draft (POST + redirected GET), submit (POST + GET). */
  reviewPageViewsPerAssignment: 6,
  /** DynamoDB capacity units per request (items up to a few KB: a dossier item is 2-4 KB). */
  unitsPerWrite: 3,
  unitsPerRead: 1,
  /** Share of DynamoDB requests that write (ingest: 5 of 8; rounds: most). */
  writeShare: 0.5,
  /** Mails per round beyond close-submissions (measured): two reminders, conflict reassignments, staff. */
  extraMails: 2 * 40 + 10 + 2,
  /** Data through the NAT gateway per round: DS API answers and files (GB). */
  natGbPerRound: 2,
  /** Retention of a round's files after its selection (months): the storage line counts the round's two months only. */
  retentionMonths: 24,
};

interface Line { item: string; quantity: string; formula: string; usd: number }

async function main() {
  const ingest = await readCounts('ingest-rate');
  const rounds = await readCounts('rounds-scale');
  const review = await readCounts('review-page');
  if (!ingest || !rounds || !review) throw new Error('run ingest-rate, rounds-scale and review-page first (npm run bench does)');
  const a = ASSUMPTIONS;
  const p = PRICES;
  const gbs = (invocations: number, f: { ms: number; mb: number }) => invocations * (f.ms / 1000) * (f.mb / 1024);
  const webhooks = a.dossiers * a.webhooksPerDossier;
  const ingestRuns = webhooks;
  const reconcileRuns = (a.roundDays * 24 * 60) / a.reconcile.everyMinutes;
  const assignments = a.dossiers * a.reviewersPerDossier;
  const pageViews = assignments * a.reviewPageViewsPerAssignment;
  const purgeRuns = a.roundDays * a.purge.runsPerDay;
  const invocations = {
    webhook: webhooks, ingest: ingestRuns / a.ingest.messagesPerInvocation, reconcile: reconcileRuns, review: pageViews, rounds: a.roundStep.runs, purge: purgeRuns,
  };
  const lambdaRequests = Object.values(invocations).reduce((sum, n) => sum + n, 0);
  const lambdaGbs = gbs(invocations.webhook, a.webhookAck) + gbs(invocations.ingest, { ms: a.ingest.ms * a.ingest.messagesPerInvocation, mb: a.ingest.mb })
    + gbs(invocations.reconcile, a.reconcile) + gbs(invocations.review, a.reviewPage) + gbs(invocations.rounds, a.roundStep) + gbs(invocations.purge, a.purge);

  // DynamoDB requests: measured per dossier (ingest, rounds) and per page view (review page); the v2 webhook's dedupe is 2 per webhook.
  const dynamoRequests = ingestRuns * ingest.ingestDynamoDbPerDossier! + webhooks * 2
    + rounds.roundDynamoDbFixed! + a.dossiers * rounds.roundDynamoDbPerDossier! + pageViews * review.reviewPageDynamoDbPerView! + reconcileRuns * a.reconcile.dynamoDbRequestsPerRun;
  const writeUnits = dynamoRequests * a.writeShare * a.unitsPerWrite;
  const readUnits = dynamoRequests * (1 - a.writeShare) * a.unitsPerRead;
  const s3Puts = ingestRuns * ingest.ingestS3PutsPerDossier! + rounds.roundS3Fixed! + a.dossiers * rounds.roundS3PerDossier!;
  // Every attachment link a reviewer opens is a GET; the CLI's downloads too: one per file per assignment.
  const s3Gets = assignments * 3;
  const storedGb = (a.dossiers * a.attachmentMbPerDossier) / 1024;
  const mails = rounds.roundSesFixed! + a.dossiers * rounds.roundSesPerDossier! + a.extraMails;
  const httpRequests = webhooks + pageViews;
  const schedulerRuns = reconcileRuns + a.roundStep.runs + purgeRuns;
  const sqsRequests = ingestRuns * (1 + ingest.ingestSqsPerDossier!);
  const months = a.roundDays / 30.4;

  const lines: Line[] = [
    { item: 'Lambda requests', quantity: `${Math.round(lambdaRequests)} invocations`, formula: `${Math.round(lambdaRequests)} / 1e6 x ${p.lambdaPerMillionRequests}`, usd: (lambdaRequests / 1e6) * p.lambdaPerMillionRequests },
    { item: 'Lambda compute (arm64)', quantity: `${round(lambdaGbs, 0)} GB-s`, formula: `${round(lambdaGbs, 0)} x ${p.lambdaGbSecondArm}`, usd: lambdaGbs * p.lambdaGbSecondArm },
    { item: 'DynamoDB writes (on-demand)', quantity: `${Math.round(writeUnits)} WRU`, formula: `${Math.round(writeUnits)} / 1e6 x ${p.dynamoDbPerMillionWriteUnits}`, usd: (writeUnits / 1e6) * p.dynamoDbPerMillionWriteUnits },
    { item: 'DynamoDB reads (on-demand)', quantity: `${Math.round(readUnits)} RRU`, formula: `${Math.round(readUnits)} / 1e6 x ${p.dynamoDbPerMillionReadUnits}`, usd: (readUnits / 1e6) * p.dynamoDbPerMillionReadUnits },
    { item: 'S3 PUT', quantity: `${Math.round(s3Puts)} PUT`, formula: `${Math.round(s3Puts)} / 1000 x ${p.s3PutPer1000}`, usd: (s3Puts / 1000) * p.s3PutPer1000 },
    { item: 'S3 GET', quantity: `${Math.round(s3Gets)} GET`, formula: `${Math.round(s3Gets)} / 1000 x ${p.s3GetPer1000}`, usd: (s3Gets / 1000) * p.s3GetPer1000 },
    { item: 'S3 storage (the round\'s two months)', quantity: `${round(storedGb, 2)} GB x ${round(months, 1)} months`, formula: `${round(storedGb, 2)} x ${round(months, 1)} x ${p.s3StandardGbMonth}`, usd: storedGb * months * p.s3StandardGbMonth },
    { item: 'SES mails', quantity: `${Math.round(mails)} mails`, formula: `${Math.round(mails)} / 1000 x ${p.sesPer1000Mails}`, usd: (mails / 1000) * p.sesPer1000Mails },
    { item: 'API Gateway HTTP API', quantity: `${httpRequests} requests`, formula: `${httpRequests} / 1e6 x ${p.httpApiPerMillion}`, usd: (httpRequests / 1e6) * p.httpApiPerMillion },
    { item: 'EventBridge Scheduler', quantity: `${Math.round(schedulerRuns)} invocations`, formula: `${Math.round(schedulerRuns)} / 1e6 x ${p.schedulerPerMillion}`, usd: (schedulerRuns / 1e6) * p.schedulerPerMillion },
    { item: 'SQS', quantity: `${Math.round(sqsRequests)} requests`, formula: `${Math.round(sqsRequests)} / 1e6 x ${p.sqsPerMillion}`, usd: (sqsRequests / 1e6) * p.sqsPerMillion },
  ];
  const total = lines.reduce((sum, line) => sum + line.usd, 0);
  const natMonthly = 730 * p.natGatewayHour + 730 * p.publicIpv4Hour;
  const natRound = natMonthly * months + a.natGbPerRound * p.natGatewayPerGb;
  const retention = storedGb * a.retentionMonths * p.s3StandardGbMonth;
  progress(SCRIPT, `one round of ${a.dossiers} dossiers: ${round(total, 3)} USD without the NAT gateway; the NAT gateway: ${round(natMonthly, 2)} USD a month`);

  const table = [
    `One round of ${a.dossiers} dossiers, ${a.reviewers} reviewers, ${a.roundDays} days; prices of ${p.region} taken ${p.takenOn}; counts measured by \`npm run bench\``,
    `(ingest: ${ingest.ingestDynamoDbPerDossier} DynamoDB requests and ${ingest.ingestS3PutsPerDossier} S3 PUT per ingestion; rounds: ${rounds.roundDynamoDbFixed} + ${rounds.roundDynamoDbPerDossier} x dossiers DynamoDB requests; review page: ${review.reviewPageDynamoDbPerView} per page view).`,
    '',
    '| item | quantity | formula | USD |',
    '|---|---|---|---|',
    ...lines.map((line) => `| ${line.item} | ${line.quantity} | ${line.formula} | ${line.usd.toFixed(4)} |`),
    `| **total, without the NAT gateway** | | | **${total.toFixed(3)}** |`,
    `| NAT gateway + its public IPv4 (fixed egress IP on) | 730 h a month | 730 x (${p.natGatewayHour} + ${p.publicIpv4Hour}) a month, + ${a.natGbPerRound} GB x ${p.natGatewayPerGb} | ${natMonthly.toFixed(2)} a month (${natRound.toFixed(2)} a round) |`,
    `| keeping the round's files ${a.retentionMonths} months (retention) | ${round(storedGb, 2)} GB | ${round(storedGb, 2)} x ${a.retentionMonths} x ${p.s3StandardGbMonth} | ${retention.toFixed(2)} over the retention |`,
  ].join('\n');
  const docPath = join(ROOT, 'docs', 'cost.md');
  const doc = await readFile(docPath, 'utf8').catch(() => undefined);
  const begin = '<!-- cost:begin (written by bench/cost.ts) -->';
  const end = '<!-- cost:end -->';
  if (doc?.includes(begin) && doc.includes(end)) {
    await writeFile(docPath, `${doc.slice(0, doc.indexOf(begin) + begin.length)}\n${table}\n${doc.slice(doc.indexOf(end))}`);
    progress(SCRIPT, 'docs/cost.md: breakdown updated');
  }
  const figures: Figure[] = [
    absoluteFigure(`${SCRIPT}: one round of ${a.dossiers} dossiers, without the NAT gateway`, round(total, 3), 'USD', { below: 1 },
      `the NAT gateway (fixed egress IP) adds ${natMonthly.toFixed(2)} USD a month; prices ${p.region}, sources and unverified ones in docs/cost.md`),
  ];
  return { figures, details: { lines, natMonthly, natRound, retention, assumptions: a, prices: p } };
}

runScript(SCRIPT, main, import.meta.url);
