import type { DossierRecord } from '../dossier.ts';
import { ELIGIBILITY_LABELS, type Eligibility } from '../eligibility.ts';
import type { CapacityUse, DecisionOutcome, DecisionReasonCode, DecisionRecord, RoundRecord } from './model.ts';
import { OUTCOME_LABELS, selectionTotals, type SelectionTotals } from './rank-dossiers.ts';

export { OUTCOME_LABELS } from './rank-dossiers.ts';

/**
 * The selection report: JSON (stable key order, pretty) and CSV (RFC 4180, CRLF), one line per
 * decision, ranked dossiers first. Dossier titles and administrations only: no emails, no names
 * of people, no reviewer ids, no comments (the committee's reason is staff's text about the
 * dossier; who wrote it stays in the decision record and the audit). Staff read it: the CSV's
 * headers, decisions and reasons are French; the JSON keeps the stable codes (`outcome`,
 * `proposedOutcome`, `reasonCode`, `eligibility.flag`) for tools.
 */

export interface SelectionReport {
  json: string;
  csv: string;
}

/** What the eligibility rules say of a dossier (core/eligibility.ts): a flag for staff, never a decision. */
export type EligibilityView = Eligibility;

/** How the report learns a dossier's eligibility: the rules of the deployment (functions/shared/eligibility-config.ts). */
export type EligibilityOf = (dossier: DossierRecord) => EligibilityView | undefined;

export interface ReportLine {
  rank: number | null;
  dossierNumber: number;
  title: string;
  administration: string;
  eigPostsRequested: number;
  /** The profiles the dossier asks for (`Directeur·rice de produit`, ...); [] on dossiers from before profiles. */
  profiles: string[];
  /** null when the report was built without the rules. */
  eligibility: EligibilityView | null;
  score: number | null;
  reviewCount: number;
  /** What the ranking proposed; `outcome` is final (the committee's word when it decided). */
  proposedOutcome: DecisionOutcome;
  outcome: DecisionOutcome;
  /** Stable, for tools: read this, not the French `reason`. */
  reasonCode: DecisionReasonCode;
  /** For staff, in French. */
  reason: string;
  /** The committee's reason when it set the outcome, else null. */
  committeeReason: string | null;
}

/** Posts of the selected dossiers, by profile requested. */
export interface ProfilePosts {
  profile: string;
  /** Sum of the posts of the selected dossiers that ask for this profile. */
  posts: number;
  dossiers: number;
}

export const PROFILES_NOTE = 'Un dossier qui demande plusieurs profils compte dans chacun : la somme des postes par profil peut dépasser les postes sélectionnés.';


export const CSV_HEADER = [
  'rang', 'dossier', 'titre', 'administration', 'postes demandés', 'profils', 'éligibilité', "motif d'éligibilité", 'score',
  'évaluations comptées', 'proposition du classement', 'décision', 'motif',
];

function reportOrder(a: DecisionRecord, b: DecisionRecord): number {
  if (a.rank !== null && b.rank !== null) return a.rank - b.rank;
  if (a.rank !== null) return -1;
  if (b.rank !== null) return 1;
  return a.dossierNumber - b.dossierNumber;
}

/** `project.profiles`, read defensively: dossiers stored before profiles existed have none. */
export function profilesOf(dossier: Pick<DossierRecord, 'project'> | undefined): string[] {
  const value = (dossier?.project as { profiles?: unknown } | null | undefined)?.profiles;
  return Array.isArray(value) ? value.filter((p): p is string => typeof p === 'string' && p.trim() !== '') : [];
}

export function reportLines(decisions: readonly DecisionRecord[], dossiers: readonly DossierRecord[], eligibilityOf?: EligibilityOf): ReportLine[] {
  const byNumber = new Map(dossiers.map((d) => [d.number, d]));
  return [...decisions].sort(reportOrder).map((decision) => {
    const dossier = byNumber.get(decision.dossierNumber);
    const project = dossier?.project;
    return {
      rank: decision.rank,
      dossierNumber: decision.dossierNumber,
      title: project?.title ?? '',
      administration: project?.administration?.name ?? '',
      eigPostsRequested: decision.eigPostsRequested,
      profiles: profilesOf(dossier),
      eligibility: dossier && eligibilityOf ? eligibilityOf(dossier) ?? null : null,
      score: decision.score,
      reviewCount: decision.reviewCount,
      proposedOutcome: decision.proposedOutcome ?? decision.outcome,
      outcome: decision.outcome,
      reasonCode: decision.reasonCode,
      reason: decision.reason,
      committeeReason: decision.committeeReason ?? null,
    };
  });
}

/** Posts of the SELECTED dossiers per profile, in the order profiles first appear; a dossier asking two profiles counts in both. */
export function postsByProfile(lines: readonly ReportLine[]): ProfilePosts[] {
  const byProfile = new Map<string, ProfilePosts>();
  for (const line of lines) {
    if (line.outcome !== 'selected') continue;
    for (const profile of new Set(line.profiles)) {
      const entry = byProfile.get(profile) ?? { profile, posts: 0, dossiers: 0 };
      entry.posts += line.eigPostsRequested;
      entry.dossiers += 1;
      byProfile.set(profile, entry);
    }
  }
  return [...byProfile.values()];
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

export interface SelectionReportDocument {
  roundId: string;
  selectionClosedAt: string | null;
  capacityPosts: number;
  /** Round capacity, ceiling, used before, left, available (null for rounds closed before the ceiling). */
  capacity: CapacityUse | null;
  criteria: { id: string; label: string; weight: number }[];
  totals: SelectionTotals;
  profiles: { note: string; selected: ProfilePosts[] };
  decisions: ReportLine[];
}

export function selectionReportDocument(
  round: Pick<RoundRecord, 'id' | 'capacityPosts' | 'criteria' | 'selectionClosedAt' | 'capacityUse'>,
  decisions: readonly DecisionRecord[],
  dossiers: readonly DossierRecord[],
  eligibilityOf?: EligibilityOf,
): SelectionReportDocument {
  const lines = reportLines(decisions, dossiers, eligibilityOf);
  return {
    roundId: round.id,
    selectionClosedAt: round.selectionClosedAt,
    capacityPosts: round.capacityPosts,
    capacity: round.capacityUse ?? null,
    criteria: round.criteria.map((c) => ({ id: c.id, label: c.label, weight: c.weight })),
    totals: selectionTotals(decisions, round.capacityPosts),
    profiles: { note: PROFILES_NOTE, selected: postsByProfile(lines) },
    decisions: lines,
  };
}

export function selectionReport(
  round: Pick<RoundRecord, 'id' | 'capacityPosts' | 'criteria' | 'selectionClosedAt' | 'capacityUse'>,
  decisions: readonly DecisionRecord[],
  dossiers: readonly DossierRecord[],
  eligibilityOf?: EligibilityOf,
): SelectionReport {
  const document = selectionReportDocument(round, decisions, dossiers, eligibilityOf);
  const rows = [
    CSV_HEADER,
    ...document.decisions.map((l) => [
      l.rank, l.dossierNumber, l.title, l.administration, l.eigPostsRequested, l.profiles.join(' ; '),
      l.eligibility ? ELIGIBILITY_LABELS[l.eligibility.flag] : '', l.eligibility?.reason ?? '', l.score, l.reviewCount,
      OUTCOME_LABELS[l.proposedOutcome], OUTCOME_LABELS[l.outcome], l.reason,
    ]),
  ];
  const csv = rows.map((row) => row.map(csvField).join(',')).join('\r\n');
  return { json: `${JSON.stringify(document, null, 2)}\n`, csv: `${csv}\r\n` };
}
