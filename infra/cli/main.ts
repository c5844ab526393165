import { Command } from 'commander';
import { registerAttachmentCommands } from './attachments.ts';
import { defaultContext, examples, type CommandContext } from './context.ts';
import { registerDlqCommands } from './dlq.ts';
import { registerDossierCommands } from './dossiers.ts';
import { registerDossierExclusionCommands } from './dossier-exclusions.ts';
import { registerDossierPurgeCommands } from './dossier-purge.ts';
import { registerMailCommands } from './mails.ts';
import { EXIT_CODES_HELP, explainError, type ExitCode } from './errors.ts';
import { processIo, type CliIo } from './output.ts';
import { registerReportCommand } from './report.ts';
import { registerReviewerCommands } from './reviewers.ts';
import { registerReviewCommands } from './reviews.ts';
import { registerRoundCommands } from './rounds.ts';
import { registerSyncCommand } from './sync.ts';
import { registerWriteBackCommand } from './write-back.ts';

/**
 * `ds-selection`: the staff CLI (docs/cli.md). bin/ds-selection.js loads this file through
 * tsx and calls `main`; tests call `run` with their own streams.
 */

const STACK_HELP = `
Which stack:
  By default the local stack started by \`npm start\`, found through $DATA_DIR/stack.json
  (DATA_DIR defaults to .data). With --stage NAME, the deployed stack DsSelection-NAME, found
  through its CloudFormation outputs with the default AWS credentials (AWS_PROFILE, ...).`;

export function buildProgram(context: CommandContext): Command {
  const { io } = context;
  const program = new Command('ds-selection')
    .description('Staff CLI of ds-selection: dossiers and their files, backfill from DS, dead letters, rounds, reviewers, reviews and the selection report.')
    .option('--stage <name>', 'talk to the deployed stage DsSelection-<name> (default: the local stack)')
    .option('--data-dir <dir>', 'local stack data folder holding stack.json (default: $DATA_DIR or .data)')
    .option('--region <region>', 'AWS region (default: AWS_REGION, else the stage file infra/stages/<name>.json)')
    // Before any subcommand exists, so that every one inherits these settings.
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', `${STACK_HELP}\n${examples(
      'npx ds-selection dossiers list --round 2026-03',
      'npx ds-selection dossiers show 23456789 --json',
      'npx ds-selection --stage prod sync --since 2026-03-01',
      'npx ds-selection rounds close-submissions --round 2026-03 --dry-run',
      'npx ds-selection report --round 2026-03 --out ./selection-2026-03',
    )}`)
    .addHelpText('afterAll', EXIT_CODES_HELP);
  registerDossierCommands(program, context);
  // exclude / include belong to the selection (functions/core/rounds), under the `dossiers` group.
  const dossiers = program.commands.find((command) => command.name() === 'dossiers');
  if (!dossiers) throw new Error('the dossiers command group is missing');
  registerDossierExclusionCommands(dossiers, context);
  registerDossierPurgeCommands(dossiers, context);
  registerAttachmentCommands(program, context);
  registerSyncCommand(program, context);
  registerDlqCommands(program, context);
  registerRoundCommands(program, context);
  // write-back belongs to the rounds group (infra/cli/write-back.ts).
  const rounds = program.commands.find((command) => command.name() === 'rounds');
  if (!rounds) throw new Error('the rounds command group is missing');
  registerWriteBackCommand(rounds, context);
  registerReviewerCommands(program, context);
  registerReviewCommands(program, context);
  registerReportCommand(program, context);
  registerMailCommands(program, context);
  return program;
}

/** Runs one command line (without `node` and the script) and returns its exit code; never throws. */
export async function run(argv: string[], context: CommandContext | CliIo = processIo()): Promise<ExitCode> {
  const commandContext = 'connect' in context ? context : defaultContext(context);
  try {
    await buildProgram(commandContext).parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    const { exitCode, message } = explainError(error);
    if (message) commandContext.io.stderr.write(`ds-selection: ${message}\n`);
    if (exitCode === 1 && commandContext.io.env.DEBUG && error instanceof Error && error.stack) {
      commandContext.io.stderr.write(`${error.stack}\n`);
    }
    return exitCode;
  }
}

/** The process entry point: exit code set, not forced, so that stdout is flushed first. */
export async function main(argv: string[] = process.argv.slice(2)): Promise<void> {
  // `ds-selection ... | head` closes stdout early: that is the reader's choice, not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  process.exitCode = await run(argv);
}
