import { mkdir, writeFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { DecisionRecord, RoundRecord } from '#core/rounds/model';
import { selectionTotals } from '#core/rounds/rank-dossiers';
import { capacityText, postsText } from '#core/rounds/capacity';
import { selectionReport, selectionReportDocument, type SelectionReportDocument } from '#core/rounds/selection-report';
import { ELIGIBILITY_LABELS } from '#core/eligibility';
import { dossierEligibility } from './connect.ts';
import { reportKeys } from '#adapters/s3/report-store';
import { NotFoundError, RefusedError } from './errors.ts';
import { examples, withConnection, type CommandContext } from './context.ts';
import { writeLines } from './output.ts';
import { decisionTable, parseRoundId, pluralFr } from './rounds.ts';

/**
 * The selection of a closed round. The report is built from the stored decisions and dossiers
 * by the code close-selection used for the copy it wrote to S3 (selectionReport), so it is the
 * same document, and it is there even if the S3 copy is not.
 */

/** Spreadsheet software reads a CSV as UTF-8 only when it starts with a BOM (the S3 copy has one too). */
const UTF8_BOM = '\uFEFF';

export const REPORT_FILES = { json: 'selection.json', csv: 'selection.csv' } as const;

export function registerReportCommand(program: Command, context: CommandContext): void {
  program
    .command('report')
    .description(
      'the selection of a closed round: every dossier with its rank, weighted mean score, counted reviews, EIG posts, '
      + 'decision (selected, waitlisted, not_selected) and reason. --out writes the report files (JSON and CSV, as sent to staff). '
      + 'A round not closed yet is refused (exit 6).',
    )
    .requiredOption('--round <round>', 'the round, e.g. 2026-03', parseRoundId)
    .option('--json', 'print the report JSON { roundId, selectionClosedAt, capacityPosts, capacity, criteria, totals, profiles, decisions }')
    .option('--out <dir>', `write ${REPORT_FILES.json} and ${REPORT_FILES.csv} into this folder (created if needed; files of the same name are replaced)`)
    .addHelpText('after', examples(
      'ds-selection report --round 2026-03',
      'ds-selection report --round 2026-03 --out ./selection-2026-03',
      'ds-selection --stage prod report --round 2026-03 --json | jq \'.decisions[] | select(.outcome == "selected")\'',
    ))
    .action(async (options: { round: string; json?: boolean; out?: string }, command: Command) => {
      await withConnection(context, command, async ({ rounds, roundDossiers, outputs }) => {
        const round = await rounds.getRound(options.round);
        if (!round) throw new NotFoundError(`round ${options.round} has not been opened: no report`);
        if (round.status !== 'closed') {
          throw new RefusedError(
            `refused: round ${round.id} is ${round.status}: its report exists once the selection is closed (ds-selection rounds close-selection --round ${round.id})`,
          );
        }
        const [decisions, dossiers] = await Promise.all([rounds.listDecisions(round.id), roundDossiers.listRoundDossiers(round.id)]);
        const report = selectionReport(round, decisions, dossiers, dossierEligibility);
        if (options.out !== undefined) {
          const dir = isAbsolute(options.out) ? options.out : resolve(context.io.cwd, options.out);
          await mkdir(dir, { recursive: true });
          const paths = { json: join(dir, REPORT_FILES.json), csv: join(dir, REPORT_FILES.csv) };
          await Promise.all([
            writeFile(paths.json, report.json, 'utf8'),
            writeFile(paths.csv, report.csv.startsWith(UTF8_BOM) ? report.csv : `${UTF8_BOM}${report.csv}`, 'utf8'),
          ]);
          context.io.stderr.write(`wrote ${paths.json} and ${paths.csv}\n`);
        }
        if (options.json) {
          context.io.stdout.write(report.json);
          return;
        }
        const titles = new Map(dossiers.map((dossier) => [dossier.number, dossier.project?.title ?? '-']));
        const document = selectionReportDocument(round, decisions, dossiers, dossierEligibility);
        writeLines(context.io.stdout, reportLines(round, decisions, titles, document));
        const { jsonKey } = reportKeys(round.id);
        context.io.stderr.write(`\nLe rapport écrit par close-selection : s3://${outputs.BucketName}/${jsonKey.replace(/\.json$/, '.{json,csv}')}\n`);
      });
    });
}

/**
 * The headline (counts, posts against capacity) and the decisions table, in French for staff.
 * It says how many dossiers were ranked and reviews counted, and plainly when none was.
 */
export function reportLines(
  round: RoundRecord, decisions: readonly DecisionRecord[], titles: ReadonlyMap<number, string> = new Map(), document?: SelectionReportDocument,
): string[] {
  const t = selectionTotals(decisions, round.capacityPosts);
  const lines = [
    `Session ${round.id}, sélection close le ${round.selectionClosedAt ?? '-'} : ${pluralFr(t.dossiers, 'dossier', 'dossiers')}, `
    + `${pluralFr(t.ranked, 'classé', 'classés')} (${pluralFr(t.countedReviews, 'évaluation comptée', 'évaluations comptées')}), `
    + `${pluralFr(t.selected, 'sélectionné', 'sélectionnés')} (${t.postsSelected} ${t.postsSelected > 1 ? 'postes EIG' : 'poste EIG'} sur ${t.capacityPosts}), `
    + `${t.waitlisted} en liste d'attente, ${pluralFr(t.notSelected, 'non sélectionné', 'non sélectionnés')}`,
  ];
  if (t.dossiers > 0 && t.countedReviews === 0) lines.push("Aucune évaluation n'a été comptée : aucun dossier n'a été classé ni sélectionné.");
  if (round.capacityUse) lines.push(`Postes : ${capacityText(round.capacityUse)} ; pourvus : ${postsText(t.postsSelected)}.`);
  const outOfRanking = [
    ...(t.excluded > 0 ? [`${pluralFr(t.excluded, "exclu par l'équipe", "exclus par l'équipe")}`] : []),
    ...(t.withdrawn > 0 ? [`${pluralFr(t.withdrawn, "retiré après l'affectation", "retirés après l'affectation")}`] : []),
    ...(t.committeeDecisions > 0 ? [`${pluralFr(t.committeeDecisions, 'décision du comité', 'décisions du comité')} (proposition du classement en regard)`] : []),
  ];
  if (outOfRanking.length > 0) lines.push(`Hors classement ou décidés par le comité : ${outOfRanking.join(', ')}.`);
  if (document) {
    const selected = document.profiles.selected;
    lines.push(selected.length > 0
      ? `Postes sélectionnés par profil : ${selected.map((p) => `${p.profile} ${p.posts} (${pluralFr(p.dossiers, 'dossier', 'dossiers')})`).join(', ')}. ${document.profiles.note}`
      : 'Postes sélectionnés par profil : aucun profil renseigné sur les dossiers sélectionnés.');
  }
  if (decisions.length > 0) {
    // A PROFILS column only when dossiers have profiles (those stored before profiles have none).
    const profiles = document ? new Map(document.decisions.filter((l) => l.profiles.length > 0).map((l) => [l.dossierNumber, l.profiles.join(', ')])) : undefined;
    const eligibility = document
      ? new Map(document.decisions.flatMap((l) => (l.eligibility ? [[l.dossierNumber, ELIGIBILITY_LABELS[l.eligibility.flag]] as [number, string]] : [])))
      : undefined;
    lines.push('', ...decisionTable(decisions, titles, { ...(profiles ? { profiles } : {}), ...(eligibility ? { eligibility } : {}) }));
    const flagged = document?.decisions.filter((l) => l.eligibility && l.eligibility.flag !== 'eligible') ?? [];
    if (flagged.length > 0) {
      lines.push('', `Éligibilité à vérifier ou non éligibles : ${pluralFr(flagged.length, 'dossier', 'dossiers')} (signalés, non exclus : dossiers exclude)`);
      lines.push(...flagged.map((l) => `  dossier ${l.dossierNumber} : ${ELIGIBILITY_LABELS[l.eligibility!.flag]} - ${l.eligibility!.reason} (${l.eligibility!.reasonCode})`));
    }
  }
  return lines;
}
