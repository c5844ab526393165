import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Command } from 'commander';
import * as z from 'zod';
import { DsMutations, mutationRequest } from '#adapters/ds-api/ds-mutations';
import { WriteBackRefusedError, writeBackDecisions, type WriteBackResult } from '#core/write-back/write-back-decisions';
import { DEFAULT_DS_API_URL } from '#schemas/env';
import { LOCAL_WRITE_BACK_FILE, LocalWriteBackSchema, WRITE_TOKEN_OUTPUT, writeBackSettingsOf, type WriteBackSettings } from '#schemas/write-back';
import type { ResolvedStack } from './connect.ts';
import { examples, withConnection, type CommandContext } from './context.ts';
import { NotFoundError, PartialFailureError, RefusedError, StackUnreachableError } from './errors.ts';
import { formatTable, plural, writeJson, writeLines } from './output.ts';
import { parseRoundId, staffActor } from './rounds.ts';

/*
 * `ds-selection rounds write-back --round R [--dry-run] [--recheck] [--json]`: the decisions of
 * a closed round written back to DS (functions/core/write-back), as the write-back-decisions
 * function does on schedule, with the stage's write token (its own secret, DsWriteTokenSecretArn)
 * or, locally, the simulator's (DATA_DIR/write-back.json, written by `npm start` with DS_WRITE_BACK=1).
 */


export interface WriteBackAccess {
  url: string;
  token: string;
  settings: WriteBackSettings;
}

/** Where write-back talks to DS, and as whom: the local stack's file, or the stage's config and secret. */
export async function writeBackAccess(stack: ResolvedStack, region: string): Promise<WriteBackAccess> {
  const local = stack.outputs.local;
  if (local) {
    const file = join(local.dataDir, LOCAL_WRITE_BACK_FILE);
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) {
      throw new StackUnreachableError(`write-back is off in ${stack.description}: restart it with DS_WRITE_BACK=1 (no ${file})`);
    }
    const parsed = LocalWriteBackSchema.safeParse(JSON.parse(text));
    if (!parsed.success) throw new StackUnreachableError(`${file} is not valid: restart the local stack\n${z.prettifyError(parsed.error)}`);
    return { url: parsed.data.dsApiUrl, token: parsed.data.writeToken, settings: parsed.data.settings };
  }
  const settings = stack.stageConfig ? writeBackSettingsOf(stack.stageConfig.writeBack) : undefined;
  if (!settings) {
    throw new StackUnreachableError(`write-back is off for ${stack.description}: set "writeBack": { "enabled": true, "instructeurId": ... } in infra/stages/${stack.outputs.stage}.json and deploy (docs/deploy.md section 16)`);
  }
  const arn = stack.rawOutputs[WRITE_TOKEN_OUTPUT];
  if (!arn) throw new StackUnreachableError(`${stack.description} has no ${WRITE_TOKEN_OUTPUT} output: deploy it with writeBack enabled`);
  const secrets = new SecretsManagerClient({ region });
  try {
    const { SecretString } = await secrets.send(new GetSecretValueCommand({ SecretId: arn }));
    const token = SecretString?.trim();
    if (!token) throw new StackUnreachableError(`the DS write token secret is empty: aws secretsmanager put-secret-value --secret-id ${arn} --secret-string TOKEN`);
    return { url: stack.stageConfig?.dsApiUrl ?? DEFAULT_DS_API_URL, token, settings };
  } finally {
    secrets.destroy();
  }
}

export function registerWriteBackCommand(rounds: Command, context: CommandContext): void {
  rounds
    .command('write-back')
    .description('write a closed round\'s decisions back to DS: selected → accepté, not_selected → refusé (each with its motivation, which '
      + 'DS mails to the applicant), waitlisted → en instruction; the score and rank into private annotations when configured. Reads '
      + 'each dossier on DS first and sends only what is left, so a rerun changes nothing; dossiers already written back are not read '
      + 'again (--recheck reads them). Excluded and withdrawn dossiers, and dossiers without a decision, are skipped with a reason. '
      + 'Exit 5 when DS refused some dossiers (the others are done: fix and run again), 6 when the round is not closed.')
    .requiredOption('--round <round>', 'the closed round, e.g. 2026-03', parseRoundId)
    .option('--dry-run', 'read DS and print each mutation it would send: nothing sent, nothing written')
    .option('--recheck', 'read DS again for the dossiers already written back')
    .option('--json', 'print { roundId, dryRun, summary, dossiers: [{ dossierNumber, outcome, action, reason?, stateBefore?, stateAfter?, mutations, sent?, errors?, requests? }] }')
    .addHelpText('after', examples(
      'ds-selection rounds write-back --round 2026-03 --dry-run',
      'ds-selection rounds write-back --round 2026-03',
      'ds-selection --stage prod rounds write-back --round 2026-03 --json | jq .summary',
    ))
    .action(async (options: { round: string; dryRun?: boolean; recheck?: boolean; json?: boolean }, command: Command) => {
      await withConnection(context, command, async (connection) => {
        const access = await writeBackAccess(connection.stack, command.optsWithGlobals<{ region?: string }>().region ?? connection.outputs.region);
        const ds = new DsMutations({
          url: access.url, token: access.token, instructeurId: access.settings.instructeurId, userAgent: 'ds-selection-cli',
          onRetry: (notice) => context.io.stderr.write(`DS ${notice.operationName}: attempt ${notice.attempt} failed (${notice.reason}), retrying in ${(notice.delayMs / 1000).toFixed(1)} s\n`),
        });
        let result: WriteBackResult;
        try {
          result = await writeBackDecisions(
            { roundId: options.round, dryRun: options.dryRun === true, recheck: options.recheck === true, actor: staffActor(context.io) },
            { rounds: connection.rounds, dossiers: connection.roundDossiers, store: connection.writeBacks, ds, settings: access.settings, clock: { now: () => new Date() } },
          );
        } catch (error) {
          if (!(error instanceof WriteBackRefusedError)) throw error;
          if (error.reason === 'no_round') throw new NotFoundError(error.message);
          throw new RefusedError(`refused: ${error.message}`);
        }
        const withRequests = result.dossiers.map((d) => (result.dryRun && d.dossierId
          ? { ...d, requests: d.mutations.map((m) => mutationRequest(d.dossierId!, access.settings.instructeurId, m)) }
          : d));
        if (options.json) writeJson(context.io, { ...result, dossiers: withRequests });
        else printResult(context, result, access.settings.instructeurId);
        const failed = Number(result.summary.failed ?? 0) + Number(result.summary.not_attempted ?? 0);
        if (!result.dryRun && failed > 0) {
          throw new PartialFailureError(`${plural(failed, 'dossier')} not written back (${result.summary.stoppedEarly ?? 'DS refused, or the state on DS conflicts'}): `
            + `see the errors above, fix, then run it again (it sends only what is left)`);
        }
      });
    });
}

function printResult(context: CommandContext, result: WriteBackResult, instructeurId: string): void {
  const { io } = context;
  const rows = result.dossiers.map((d) => [
    String(d.dossierNumber), d.outcome ?? '-', d.stateBefore ?? '-', d.stateAfter ?? (d.action === 'planned' ? '' : '-'), d.action + (d.reason ? ` (${d.reason})` : ''),
    (d.sent ?? d.mutations.map((m) => ({ name: m.name, ok: true }))).map((m) => `${m.name}${m.ok ? '' : ' ✗'}`).join(', '),
  ]);
  writeLines(io.stdout, formatTable(
    [{ header: 'dossier', align: 'right' }, { header: 'outcome' }, { header: 'DS before' }, { header: 'DS after' }, { header: 'action' }, { header: 'mutations' }],
    rows,
  ));
  for (const d of result.dossiers.filter((x) => x.errors?.length)) io.stdout.write(`${d.dossierNumber}: ${d.errors!.join('; ')}\n`);
  if (result.dryRun) {
    for (const d of result.dossiers.filter((x) => x.action === 'planned' && x.mutations.length > 0)) {
      for (const mutation of d.mutations) {
        const request = mutationRequest(d.dossierId!, instructeurId, mutation);
        io.stdout.write(`would send ${request.operationName} ${JSON.stringify(request.variables)}\n`);
      }
    }
  }
  const s = result.summary;
  io.stderr.write(`round ${result.roundId}${result.dryRun ? ' (dry run: nothing sent)' : ''}: ${s.done} done, ${s.failed} failed, ${s.skipped} skipped`
    + `${result.dryRun ? `, ${s.planned} planned` : ''}${Number(s.not_attempted) ? `, ${s.not_attempted} not attempted` : ''}; ${s.mutationsSent} mutation(s) sent\n`);
}
