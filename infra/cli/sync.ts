import type { Command } from 'commander';
import { IngestQueueError } from '#adapters/sqs/ingest-queue';
import type { IngestMessage } from '#schemas/ingest-message';
import { changedDossierMessages, deletedDossierMessages, listChangedDossiers, listGoneDossiers } from '#core/reconcile';
import { PartialFailureError } from './errors.ts';
import { collectDsNumbers, examples, parseInstant, withConnection, type CommandContext } from './context.ts';
import { plural, writeJson } from './output.ts';
import { ProgressBar } from './progress.ts';

export interface SyncResult {
  /** Dossiers listed as changed. */
  listed: number;
  /** Dossiers listed as deleted on DS, or in its bin (`pendingDeletedDossiers`): queued to be marked deleted. */
  deleted: number;
  queued: number;
  demarches: number[];
  since: string | null;
}

export function registerSyncCommand(program: Command, context: CommandContext): void {
  program
    .command('sync')
    .summary('backfill: queue every dossier of the démarche(s) for ingestion')
    .description(
      'backfill: list every dossier of the démarche(s) on DS (updated since --since, or all) and queue each for ingestion, '
      + 'through the same queue and worker as webhooks; dossiers deleted on DS or in its bin (since --since) are queued to be '
      + 'marked deleted. Safe to repeat: ingestion only writes newer versions.',
    )
    .option('--since <iso>', 'only dossiers updated at or after this instant (ISO 8601; a date alone is midnight UTC)', parseInstant)
    .option('--demarche <number>', 'démarche to sync (repeatable); default: the stack\'s démarches', collectDsNumbers)
    .option('--json', 'print { listed, deleted, queued, demarches, since } instead of the summary line')
    .addHelpText('after', examples(
      'ds-selection sync',
      'ds-selection sync --since 2026-03-01T00:00:00+01:00',
      'ds-selection --stage prod sync --demarche 98765 --json',
    ))
    .action(async (options: { since?: string; demarche?: number[]; json?: boolean }, command: Command) => {
      await withConnection(context, command, async (connection) => {
        const { client, demarcheNumbers } = await connection.ds(options.demarche);
        const result: SyncResult = { listed: 0, deleted: 0, queued: 0, demarches: demarcheNumbers, since: options.since ?? null };
        const progress = new ProgressBar(context.io.stderr, { label: 'sync: dossiers queued' });
        let failure: unknown;
        const queue = async (messages: IngestMessage[]) => {
          try {
            await connection.ingestQueue.send(messages);
            result.queued += messages.length;
          } catch (error) {
            if (error instanceof IngestQueueError) result.queued += error.total - error.failedCount;
            throw error;
          }
          progress.update(result.queued);
        };
        try {
          for (const demarche of demarcheNumbers) {
            // The same listings as the scheduled reconciliation, without its cursor.
            for await (const page of listChangedDossiers(client, { demarche, ...(options.since ? { updatedSince: options.since } : {}) })) {
              result.listed += page.nodes.length;
              await queue(changedDossierMessages(demarche, page.nodes, 'sync', new Date()));
            }
            // Deleted, or in DS's bin: a backfill must not keep what DS no longer shows.
            for await (const page of listGoneDossiers(client, { demarche, ...(options.since ? { deletedSince: options.since } : {}) })) {
              result.deleted += page.nodes.length;
              await queue(deletedDossierMessages(demarche, page.nodes, 'sync', new Date()));
            }
          }
        } catch (error) {
          failure = error;
        } finally {
          progress.finish();
        }
        const elapsed = `${(progress.elapsedMs / 1000).toFixed(1)} s`;
        const deleted = result.deleted > 0 ? ` (and ${result.deleted} deleted)` : '';
        const summary = `sync: ${plural(result.listed, 'dossier')} listed on DS${deleted}, ${result.queued} queued for ingestion `
          + `(démarche ${demarcheNumbers.join(', ')}${options.since ? `, since ${options.since}` : ''}) in ${elapsed}`;
        if (options.json) writeJson(context.io, result);
        context.io.stderr.write(`${summary}\n`);
        if (failure === undefined) return;
        // Once something is queued the run did part of its job: say so rather than hide it behind the error.
        if (result.queued > 0) {
          throw new PartialFailureError(`sync stopped before the end: ${describe(failure)}; run it again to finish`, { cause: failure });
        }
        throw failure;
      });
    });
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
