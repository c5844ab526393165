/**
 * Figure 4, Lambda packages: each function (functions/*.ts) bundled with the options of
 * infra/constructs/lambda-function.ts's NodejsFunction (esbuild, ESM, minify, node24 target,
 * mainFields module/main, the require banner, the SDK bundled, source maps apart), weighed;
 * then its cold import in a fresh node process against an empty handler bundled the same way.
 * The esbuild metafile of each bundle is kept in bench/.out/bundles/ (what weighs what).
 *
 *   npx tsx bench/lambda-bundles.ts
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build, type Metafile, type Plugin } from 'esbuild';
import { ESBUILD_TARGET, ESM_REQUIRE_SHIM } from '../infra/constructs/lambda-function.ts';
import { absoluteFigure, median, OUT_DIR, progress, ratioFigure, round, ROOT, runScript, type Figure } from './lib.ts';

const SCRIPT = 'lambda-bundles';
const MAX_BUNDLE_KB = 1024;
const MAX_IMPORT_RATIO = 2;
const IMPORT_RUNS = 5;
const run = promisify(execFile);
const OUT = join(OUT_DIR, 'bundles');

/** What the functions read from the environment when they load: plain values, no ARN, so nothing calls AWS. */
const FUNCTION_ENV: Record<string, string> = {
  AWS_REGION: 'eu-west-3', AWS_ACCESS_KEY_ID: 'bench', AWS_SECRET_ACCESS_KEY: 'bench',
  TABLE_NAME: 'bench', BUCKET_NAME: 'bench', INGEST_QUEUE_URL: 'https://sqs.eu-west-3.amazonaws.com/000000000000/bench',
  DS_API_URL: 'https://demarche.numerique.gouv.fr/api/v2/graphql', DS_API_TOKEN: 'bench', DS_WRITE_TOKEN: 'bench', DS_DEMARCHE_NUMBER: '98765',
  WEBHOOK_TOKEN: 'b'.repeat(43), DS_WEBHOOK_V2_SECRET: `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
  REVIEW_PAGE_URL: 'https://bench.example/', REVIEW_LINK_SECRET: 'r'.repeat(43),
  POWERTOOLS_SERVICE_NAME: 'ds-selection', POWERTOOLS_LOG_LEVEL: 'ERROR', NODE_NO_WARNINGS: '1',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  // write-back-decisions: its settings, as the stack sets them from the stage file.
  WRITE_BACK_SETTINGS: JSON.stringify({
    instructeurId: 'SW5zdHJ1Y3RldXItMQ==',
    motivations: { selected: 'Projet retenu (session {session}).', not_selected: 'Projet non retenu (session {session}).' },
  }),
};

async function bundle(name: string, entry: string, plugins: Plugin[] = []): Promise<{ file: string; bytes: number; metafile: Metafile }> {
  const outdir = join(OUT, name);
  await rm(outdir, { recursive: true, force: true });
  // The options CDK's NodejsFunction passes to esbuild for FunctionWithLogGroup.
  const result = await build({
    entryPoints: [entry], bundle: true, platform: 'node', target: ESBUILD_TARGET, format: 'esm',
    outfile: join(outdir, 'index.mjs'), minify: true, sourcemap: true, sourcesContent: false,
    mainFields: ['module', 'main'], banner: { js: ESM_REQUIRE_SHIM }, tsconfig: join(ROOT, 'tsconfig.json'),
    absWorkingDir: ROOT, metafile: true, logLevel: 'error', plugins,
  });
  await writeFile(join(outdir, 'metafile.json'), JSON.stringify(result.metafile));
  const file = join(outdir, 'index.mjs');
  return { file, bytes: (await stat(file)).size, metafile: result.metafile };
}

/**
 * One fresh node process importing the bundle: `importMs` from `import()` to its end (node's own
 * start-up excluded: the figure), `processMs` from spawn to exit as the parent sees it (start-up
 * included: what the issue's first measurement compared, given in the note for context).
 */
async function coldImport(file: string): Promise<{ importMs: number; processMs: number }> {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t)); process.exit(0);`;
  const started = performance.now();
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { env: { PATH: process.env.PATH ?? '', ...FUNCTION_ENV }, cwd: ROOT });
  return { importMs: Number(stdout), processMs: performance.now() - started };
}

async function importMs(file: string): Promise<number> {
  return (await coldImport(file)).importMs;
}

/** The biggest inputs of a bundle, by package or folder: where its weight comes from. */
function heaviest(metafile: Metafile, count = 4): string {
  const byPackage = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [path, { bytesInOutput }] of Object.entries(output.inputs)) {
      const key = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(path)?.[1] ?? path.split('/').slice(0, 2).join('/');
      byPackage.set(key, (byPackage.get(key) ?? 0) + bytesInOutput);
    }
  }
  return [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, count).map(([key, bytes]) => `${key} ${Math.round(bytes / 1024)} KB`).join(', ');
}

async function main() {
  await mkdir(OUT, { recursive: true });
  const names = (await readdir(join(ROOT, 'functions'))).filter((file) => file.endsWith('.ts')).map((file) => file.slice(0, -3)).sort();
  const emptyEntry = join(OUT, 'empty-handler.ts');
  await writeFile(emptyEntry, 'export const handler = async () => ({ statusCode: 200 });\n');
  progress(SCRIPT, 'bundling the empty handler');
  const empty = await bundle('empty-handler', emptyEntry);
  // A second reference, for context only: a handler that does nothing but create a DynamoDB
  // document client (what every function but the legacy webhook loads at least).
  const sdkEntry = join(OUT, 'sdk-only-handler.ts');
  await writeFile(sdkEntry, "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';\nimport { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';\nconst client = DynamoDBDocumentClient.from(new DynamoDBClient({}));\nexport const handler = async () => ({ statusCode: client ? 200 : 500 });\n");
  const sdkOnly = await bundle('sdk-only-handler', sdkEntry);
  const sdkOnlyMs: number[] = [];
  for (let i = 0; i < IMPORT_RUNS; i++) sdkOnlyMs.push(await importMs(sdkOnly.file));
  progress(SCRIPT, `empty handler ${Math.round(empty.bytes / 1024)} KB; DynamoDB-client-only handler ${Math.round(sdkOnly.bytes / 1024)} KB, imports in ${round(median(sdkOnlyMs))} ms`);
  const figures: Figure[] = [];
  const details: Record<string, unknown> = {};
  for (const name of names) {
    progress(SCRIPT, `bundling functions/${name}.ts`);
    let bundled: Awaited<ReturnType<typeof bundle>>;
    try {
      bundled = await bundle(name, join(ROOT, 'functions', `${name}.ts`));
    } catch (error) {
      figures.push({ ...absoluteFigure(`${SCRIPT}: ${name} bundle`, NaN, 'KB', { below: MAX_BUNDLE_KB }), met: false, note: `did not bundle: ${(error as Error).message.split('\n')[0]}` });
      continue;
    }
    const kb = bundled.bytes / 1024;
    figures.push(absoluteFigure(`${SCRIPT}: ${name} bundle`, round(kb, 1), 'KB', { below: MAX_BUNDLE_KB }, `heaviest: ${heaviest(bundled.metafile)}`));
    // Alternated with the empty handler, so a busy moment of the machine hits both.
    const ours: number[] = [];
    const floor: number[] = [];
    const oursProcess: number[] = [];
    const floorProcess: number[] = [];
    let failure: string | undefined;
    for (let i = 0; i < IMPORT_RUNS && !failure; i++) {
      const emptyRun = await coldImport(empty.file);
      floor.push(emptyRun.importMs);
      floorProcess.push(emptyRun.processMs);
      try {
        const ourRun = await coldImport(bundled.file);
        ours.push(ourRun.importMs);
        oursProcess.push(ourRun.processMs);
      } catch (error) {
        const lines = String((error as { stderr?: string }).stderr ?? error).trim().split('\n');
        const at = Math.max(0, lines.findIndex((line) => /Error/.test(line)));
        failure = lines.slice(at, at + 3).map((line) => line.trim()).join(' ').slice(0, 300);
      }
    }
    if (failure) {
      figures.push({ name: `${SCRIPT}: ${name} cold import`, value: NaN, baseline: round(median(floor)), ratio: null, target: `ratio <= ${MAX_IMPORT_RATIO}`, met: false, unit: 'ms', note: `import failed: ${failure}` });
    } else {
      figures.push(ratioFigure(`${SCRIPT}: ${name} cold import`, median(ours), median(floor), 'ms', { maxRatio: MAX_IMPORT_RATIO }, `median of ${IMPORT_RUNS} fresh processes each; whole process (node start-up included) ${round(median(oursProcess))} ms against ${round(median(floorProcess))} ms = ${round(median(oursProcess) / median(floorProcess), 2)}x; for context, a handler that only creates a DynamoDB client imports in ${round(median(sdkOnlyMs))} ms`));
    }
    details[name] = { bytes: bundled.bytes, importMs: ours, emptyImportMs: floor, processMs: oursProcess, emptyProcessMs: floorProcess };
  }
  return { figures, details: { emptyHandlerBytes: empty.bytes, sdkOnlyHandler: { bytes: sdkOnly.bytes, importMs: sdkOnlyMs }, functions: details } };
}

runScript(SCRIPT, main, import.meta.url);
