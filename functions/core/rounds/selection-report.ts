import type { DossierRecord } from '../dossier.ts';
import type { DecisionOutcome, DecisionReasonCode, DecisionRecord, RoundRecord } from './model.ts';
import { selectionTotals } from './rank-dossiers.ts';

/**
 * The selection report: JSON (stable key order, pretty) and CSV (RFC 4180, CRLF), one line per
 * decision, ranked dossiers first. Dossier titles and administrations only: no emails, no names
 * of people, no reviewer ids, no comments. Staff read it: the CSV's headers, decisions and
 * reasons are French; the JSON keeps the stable codes (`outcome`, `reasonCode`) for tools.
 */

export interface SelectionReport {
  json: string;
  csv: string;
}

export interface ReportLine {
  rank: number | null;
  dossierNumber: number;
  title: string;
  administration: string;
  eigPostsRequested: number;
  score: number | null;
  reviewCount: number;
  outcome: DecisionOutcome;
  /** Stable, for tools: read this, not the French `reason`. */
  reasonCode: DecisionReasonCode;
  /** For staff, in French. */
  reason: string;
}

export const OUTCOME_LABELS: Readonly<Record<DecisionOutcome, string>> = {
  selected: 'sélectionné',
  waitlisted: "liste d'attente",
  not_selected: 'non sélectionné',
};

export const CSV_HEADER = ['rang', 'dossier', 'titre', 'administration', 'postes demandés', 'score', 'évaluations comptées', 'décision', 'motif'];

function reportOrder(a: DecisionRecord, b: DecisionRecord): number {
  if (a.rank !== null && b.rank !== null) return a.rank - b.rank;
  if (a.rank !== null) return -1;
  if (b.rank !== null) return 1;
  return a.dossierNumber - b.dossierNumber;
}

export function reportLines(decisions: readonly DecisionRecord[], dossiers: readonly DossierRecord[]): ReportLine[] {
  const byNumber = new Map(dossiers.map((d) => [d.number, d]));
  return [...decisions].sort(reportOrder).map((decision) => {
    const project = byNumber.get(decision.dossierNumber)?.project;
    return {
      rank: decision.rank,
      dossierNumber: decision.dossierNumber,
      title: project?.title ?? '',
      administration: project?.administration?.name ?? '',
      eigPostsRequested: decision.eigPostsRequested,
      score: decision.score,
      reviewCount: decision.reviewCount,
      outcome: decision.outcome,
      reasonCode: decision.reasonCode,
      reason: decision.reason,
    };
  });
}

/**
 * One CSV field (RFC 4180): quoted when it holds a comma, a quote, CR or LF, quotes doubled.
 * Text that a spreadsheet would run as a formula (= + - @ tab CR first) is prefixed with `'`
 * (titles come from applicants).
 */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function selectionReport(
  round: Pick<RoundRecord, 'id' | 'capacityPosts' | 'criteria' | 'selectionClosedAt'>,
  decisions: readonly DecisionRecord[],
  dossiers: readonly DossierRecord[],
): SelectionReport {
  const lines = reportLines(decisions, dossiers);
  const json = JSON.stringify({
    roundId: round.id,
    selectionClosedAt: round.selectionClosedAt,
    capacityPosts: round.capacityPosts,
    criteria: round.criteria.map((c) => ({ id: c.id, label: c.label, weight: c.weight })),
    totals: selectionTotals(decisions, round.capacityPosts),
    decisions: lines,
  }, null, 2);
  const rows = [
    CSV_HEADER,
    ...lines.map((l) => [
      l.rank, l.dossierNumber, l.title, l.administration, l.eigPostsRequested, l.score, l.reviewCount, OUTCOME_LABELS[l.outcome], l.reason,
    ]),
  ];
  const csv = rows.map((row) => row.map(csvField).join(',')).join('\r\n');
  return { json: `${json}\n`, csv: `${csv}\r\n` };
}
