import { localEnvSchema } from '#schemas/env';
import { SCHEDULES, WRITE_BACK_SCHEDULES } from '../schedules.ts';
import { PortInUseError, startLocalStack, type RunningLocalStack } from './local-stack.ts';

/**
 * `npm start`: the whole system on this machine. Prints where everything is, then an activity
 * line per ingested batch; Ctrl-C stops it cleanly (data stays in DATA_DIR).
 */

function banner({ outputs, simulator }: RunningLocalStack, dataDirOption: string): string {
  const local = outputs.local!;
  const cli = `npx ds-selection${dataDirOption}`;
  const sample = simulator ? [...simulator.dossiers.keys()][0] : 23456789;
  const form = `procedure_id=${local.demarcheNumbers[0]}&dossier_id=${sample}&state=en_construction&updated_at=2026-03-05%2014%3A22%3A10%20%2B0100`;
  return [
    '',
    'ds-selection is running locally.',
    '',
    `  API            ${outputs.ApiUrl}   (GET /health)`,
    `  DS webhook     ${outputs.LegacyWebhookUrl}`,
    `  DS webhook v2  ${outputs.V2WebhookUrl}`,
    `  Mails (SES)    ${local.mailUrl}`,
    `  DS             ${simulator ? `simulator at ${local.dsApiUrl} (${simulator.dossiers.size} sample dossiers from events/dossiers)` : local.dsApiUrl}`,
    `  Data           ${local.dataDir}`,
    '',
    'Try:',
    `  curl -X POST -H 'content-type: application/x-www-form-urlencoded' \\`,
    `       --data '${form}' \\`,
    `       ${outputs.LegacyWebhookUrl}`,
    ...(simulator ? [
      `  curl -X POST '${simulator.baseUrl}/_simulator/webhooks?dossier=${sample}&kind=v2'   # or let the DS simulator send it (signed v2)`,
    ] : []),
    `  ${cli} dossiers show ${sample}`,
    `  ${cli} attachments download ${sample} --out ~/ds-selection-files`,
    `  ${cli} sync            # backfill every dossier of the démarche`,
    `  ${cli} dossiers list --round 2026-03`,
    `  ${cli} dlq list`,
    '',
    'Ctrl-C to stop; data survives restarts.',
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  // The SDK warns on every client that Node 20 support ends; the local mode runs fine on 20.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // Every variable is checked before anything starts: a typo stops here, with nothing written in DATA_DIR.
  const parsed = localEnvSchema([...SCHEDULES, ...WRITE_BACK_SCHEDULES].map((s) => s.name)).safeParse(process.env);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) console.error(`Invalid configuration: ${String(issue.path[0] ?? 'environment')}: ${issue.message}`);
    process.exit(2);
  }
  const log = (line: string) => console.log(`${new Date().toISOString().slice(11, 19)}  ${line}`);
  let stack: RunningLocalStack;
  try {
    const { PORT, MAIL_PORT, DS_SIMULATOR_PORT, DATA_DIR } = parsed.data;
    // Stable ports, so a bookmarked mail page or simulator URL still works after a restart.
    const next = (offset: number) => (PORT === 0 || PORT + offset > 65_535 ? 0 : PORT + offset);
    const servicePorts = { mail: MAIL_PORT ?? next(1), simulator: DS_SIMULATOR_PORT ?? next(2) };
    stack = await startLocalStack({ port: PORT, servicePorts, dataDir: DATA_DIR, env: process.env, log });
  } catch (error) {
    console.error(`Cannot start: ${error instanceof PortInUseError ? error.message : (error as Error).message}`);
    process.exit(error instanceof PortInUseError ? 2 : 1);
  }
  // The CLI finds the stack through DATA_DIR: repeat it in the commands shown unless it is the default.
  console.log(banner(stack, parsed.data.DATA_DIR === '.data' ? '' : ` --data-dir ${parsed.data.DATA_DIR}`));
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping...`);
    await stack.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

await main();
