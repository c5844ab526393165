import type { Command } from 'commander';
import { DossierNotInRoundError } from '#core/rounds/errors';
import { setDossierExclusion, type DossierExclusionResult } from '#core/rounds/exclude-dossier';
import { RoundStepRefusedError } from '#core/rounds/run-round-step';
import { NotFoundError, UsageError } from './errors.ts';
import { examples, parseDossierNumber, withConnection, type CommandContext } from './context.ts';
import { writeJson, writeLines } from './output.ts';
import { parseRoundId, staffActor } from './rounds.ts';

/**
 * `dossiers exclude N --round R --reason "..."` and `dossiers include N ...`: staff take a
 * dossier out of a round (an eligibility flag confirmed, a duplicate...) or put it back. The
 * rules are functions/core/rounds/exclude-dossier.ts; this file parses, calls, prints. Attached
 * to the `dossiers` group (infra/cli/dossiers.ts) by main.ts.
 */

export function registerDossierExclusionCommands(dossiers: Command, context: CommandContext): void {
  for (const excluded of [true, false]) {
    const name = excluded ? 'exclude' : 'include';
    dossiers
      .command(name)
      .description(excluded
        ? 'take a dossier out of a round: it gets no reviewer if submissions are still open, its missing reviews no longer hold the closing, '
          + 'and close-selection gives it no rank (not_selected, reason code excluded, with your reason). Reversible (dossiers include). '
          + 'Refused once the selection is closed (exit 6). Audited (exclude-dossier).'
        : 'put back a dossier excluded from a round (dossiers exclude): it is reviewed and ranked again. Refused once the selection is closed '
          + '(exit 6). Audited (include-dossier).')
      .argument('<number>', 'the dossier number', parseDossierNumber)
      .requiredOption('--round <round>', 'the round the dossier is in, e.g. 2026-03', parseRoundId)
      .requiredOption('--reason <text>', excluded ? 'why (shown in the report, in French for staff)' : 'why it is back (kept with the record)')
      .option('--dry-run', 'say what would change: nothing written, no audit record')
      .option('--json', 'print { roundId, dossierNumber, excluded, dryRun, changed, status, record, previous }')
      .addHelpText('after', examples(
        excluded
          ? 'ds-selection dossiers exclude 23456789 --round 2026-03 --reason "Administration non éligible (association)" --dry-run'
          : 'ds-selection dossiers include 23456789 --round 2026-03 --reason "Éligibilité confirmée par la DINUM"',
      ))
      .action(async (number: number, options: { round: string; reason: string; dryRun?: boolean; json?: boolean }, command: Command) => {
        await withConnection(context, command, async ({ rounds, roundDossiers }) => {
          let result: DossierExclusionResult;
          try {
            result = await setDossierExclusion(
              { roundId: options.round, dossierNumber: number, excluded, reason: options.reason, actor: staffActor(context.io), dryRun: options.dryRun === true },
              { rounds, dossiers: roundDossiers, clock: { now: () => new Date() } },
            );
          } catch (error) {
            throw staffCommandError(error, options.round);
          }
          if (options.json) writeJson(context.io, result);
          else writeLines(context.io.stdout, [exclusionLine(result)]);
        });
      });
  }
}

/** The use cases' errors as the CLI's exit codes: a round never opened or a dossier not in it, 3; a bad reason, 4; refusals stay 6. */
export function staffCommandError(error: unknown, roundId: string): unknown {
  if (error instanceof RoundStepRefusedError && error.reason === 'no_round') return new NotFoundError(`round ${roundId} has not been opened`);
  if (error instanceof DossierNotInRoundError) return new NotFoundError(error.message);
  if (error instanceof RangeError) return new UsageError(`--reason: ${error.message}`);
  return error;
}

/** One line, in French for staff. */
export function exclusionLine(result: DossierExclusionResult): string {
  const what = result.excluded ? 'exclu de' : 'réintégré dans';
  const head = `dossiers ${result.excluded ? 'exclude' : 'include'} : dossier ${result.dossierNumber} ${what} la session ${result.roundId}`;
  const simulation = result.dryRun ? " (simulation : rien n'est écrit)" : '';
  if (!result.changed) {
    return `${head}${simulation} : ${result.excluded ? 'il était déjà exclu' : "il n'était pas exclu"}, rien ne change${result.previous && result.previous.reason !== result.record.reason && !result.dryRun ? ' (motif mis à jour)' : ''}.`;
  }
  const effect = result.excluded
    ? (result.status === 'open' ? "aucun évaluateur ne lui sera affecté, il ne sera pas classé" : "ses évaluations manquantes ne bloquent plus la clôture, il ne sera pas classé")
    : 'il sera évalué et classé';
  return `${head}${simulation} : ${effect}. Motif : ${result.record.reason}`;
}
