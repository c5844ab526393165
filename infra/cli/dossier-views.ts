import { withdrawalOf, type AttachmentRecord, type AttachmentRef, type DossierRecord, type Withdrawal } from '#core/dossier';
import { eligibilityOf, type Eligibility } from '#core/eligibility';
import type { EligibilityRules } from '#schemas/eligibility';
import { ELIGIBILITY_RULES } from '#shared/eligibility-config';
import { formatBytes, formatTable, truncate } from './output.ts';

/**
 * What the CLI shows of dossiers: plain functions from records to the JSON it prints (a
 * contract of this CLI: docs/cli.md, docs/architecture.md "Contracts others rely on") and to the lines a person reads.
 */

/** An attachment's state for staff: the record's status, or `pending` when ingestion has not got to the file yet. */
export type AttachmentView = 'stored' | 'scan_pending' | 'fetch_failed' | 'pending';

/** One line of `dossiers list --json`. */
export interface DossierSummaryView {
  number: number;
  demarcheNumber: number;
  status: DossierRecord['status'];
  state: string | null;
  round: string;
  dateDerniereModification: string | null;
  title: string | null;
  files: { stored: number; total: number };
  /** The eligibility flag under today's rules (schemas/eligibility-config.json); null for a dossier never read from DS. */
  eligibility: Eligibility | null;
  /** The round of its deposit, when the dossier was moved to `round` because that one's submissions had closed. */
  roundMovedFrom?: string;
}

/** An attachment as DS lists it (AttachmentRef), with where its archiving stands. */
export interface AttachmentDetailView extends AttachmentRef {
  status: AttachmentView;
  lastError?: string;
}

/** `dossiers show N --json`. */
export interface DossierDetailView {
  number: number;
  demarcheNumber: number;
  state: string | null;
  status: DossierRecord['status'];
  dateDerniereModification: string | null;
  dateDepot: string | null;
  round: string;
  roundMovedFrom?: string;
  /** Why the dossier left the selection on DS (classé sans suite, deleted), when it did. */
  withdrawal: Withdrawal | null;
  eligibility: Eligibility | null;
  project: DossierRecord['project'];
  issues: DossierRecord['issues'];
  /** What staff should know that does not make the dossier invalid ([] when none). */
  notes: NonNullable<DossierRecord['notes']>;
  filesComplete: boolean;
  snapshotKey: string | null;
  ingestedAt: string;
  attachments: AttachmentDetailView[];
}

/** Attachment records by S3 key: the key is content-addressed, so it names one file of one version. */
export function recordsByKey(records: AttachmentRecord[]): Map<string, AttachmentRecord> {
  return new Map(records.map((record) => [record.key, record]));
}

export function attachmentStatus(ref: AttachmentRef, records: Map<string, AttachmentRecord>): AttachmentView {
  return records.get(ref.key)?.status ?? 'pending';
}

/**
 * Files of the current version that are archived. `records` may be omitted when the dossier
 * says its files are complete: then every one is (ingestion sets filesComplete last).
 */
export function storedFileCount(dossier: DossierRecord, records: Map<string, AttachmentRecord> = new Map()): number {
  if (dossier.filesComplete) return dossier.attachments.length;
  return dossier.attachments.filter((ref) => attachmentStatus(ref, records) === 'stored').length;
}

/** Computed when shown, from the stored project: a rule changed in the configuration applies at once. */
function eligibilityView(dossier: DossierRecord, rules: EligibilityRules): Eligibility | null {
  return dossier.project ? eligibilityOf(dossier.project, rules) : null;
}

export function dossierSummary(dossier: DossierRecord, storedFiles: number, rules: EligibilityRules = ELIGIBILITY_RULES): DossierSummaryView {
  return {
    number: dossier.number,
    demarcheNumber: dossier.demarcheNumber,
    status: dossier.status,
    state: dossier.state,
    round: dossier.round,
    dateDerniereModification: dossier.dateDerniereModification,
    title: dossier.project?.title ?? null,
    files: { stored: storedFiles, total: dossier.attachments.length },
    eligibility: eligibilityView(dossier, rules),
    ...(dossier.roundMovedFrom ? { roundMovedFrom: dossier.roundMovedFrom } : {}),
  };
}

export function dossierDetail(
  dossier: DossierRecord, attachmentRecords: AttachmentRecord[], rules: EligibilityRules = ELIGIBILITY_RULES,
): DossierDetailView {
  const records = recordsByKey(attachmentRecords);
  return {
    number: dossier.number,
    demarcheNumber: dossier.demarcheNumber,
    state: dossier.state,
    status: dossier.status,
    dateDerniereModification: dossier.dateDerniereModification,
    dateDepot: dossier.dateDepot,
    round: dossier.round,
    ...(dossier.roundMovedFrom ? { roundMovedFrom: dossier.roundMovedFrom } : {}),
    withdrawal: withdrawalOf(dossier) ?? null,
    eligibility: eligibilityView(dossier, rules),
    project: dossier.project,
    issues: dossier.issues,
    notes: dossier.notes ?? [],
    filesComplete: dossier.filesComplete,
    snapshotKey: dossier.snapshotKey,
    ingestedAt: dossier.ingestedAt,
    attachments: dossier.attachments.map((ref) => {
      const record = records.get(ref.key);
      return {
        champId: ref.champId,
        ...(ref.rowId ? { rowId: ref.rowId } : {}),
        label: ref.label,
        filename: ref.filename,
        contentType: ref.contentType,
        byteSize: ref.byteSize,
        checksum: ref.checksum,
        virusScan: ref.virusScan,
        status: record?.status ?? 'pending',
        key: ref.key,
        ...(record?.lastError ? { lastError: record.lastError } : {}),
      };
    }),
  };
}

const TITLE_WIDTH = 40;

export function dossierTable(rows: DossierSummaryView[]): string[] {
  return formatTable(
    [
      { header: 'NUMBER', align: 'right' },
      { header: 'STATUS' },
      { header: 'STATE' },
      { header: 'ROUND' },
      { header: 'MODIFIED' },
      { header: 'FILES', align: 'right' },
      { header: 'ELIGIBILITY' },
      { header: 'TITLE' },
    ],
    rows.map((row) => [
      String(row.number),
      row.status,
      row.state ?? '-',
      row.round,
      row.dateDerniereModification ?? '-',
      `${row.files.stored}/${row.files.total}`,
      row.eligibility?.flag ?? '-',
      truncate(row.title ?? '-', TITLE_WIDTH),
    ]),
  );
}

/** `dossiers show N` for a person: the fields staff look at first, then the issues and the files. */
export function dossierDetailLines(detail: DossierDetailView): string[] {
  const project = detail.project ?? {};
  const field = (name: string, value: unknown) => `  ${name.padEnd(16)}${value === undefined || value === null || value === '' ? '-' : String(value)}`;
  const stored = detail.attachments.filter((attachment) => attachment.status === 'stored').length;
  const lines = [
    `Dossier ${detail.number} (démarche ${detail.demarcheNumber})`,
    field('title', project.title),
    field('administration', project.administration?.name),
    field('theme', project.theme),
    field('EIG posts', project.eigPostsRequested),
    field('profiles', (project.profiles ?? []).join(', ')),
    field('legal form', project.administration?.legalFormCode
      ? `${project.administration.legalFormCode}${project.administration.legalForm ? ` (${project.administration.legalForm})` : ''}`
      : project.administration?.legalForm),
    field('beta.gouv.fr', project.betaGouvCommitment === undefined ? undefined : project.betaGouvCommitment ? 'committed' : 'not ticked'),
    field('eligibility', detail.eligibility ? `${detail.eligibility.flag} (${detail.eligibility.reasonCode}): ${detail.eligibility.reason}` : undefined),
    field('wished start', project.wishedStartDate),
    field('status', detail.status),
    field('DS state', detail.state),
    field('round', detail.roundMovedFrom ? `${detail.round} (deposited in ${detail.roundMovedFrom}, whose submissions had closed)` : detail.round),
    ...(detail.withdrawal ? [field('withdrawn', `${detail.withdrawal.reason} (${detail.withdrawal.reasonCode})`)] : []),
    field('deposited', detail.dateDepot),
    field('modified', detail.dateDerniereModification),
    field('ingested', detail.ingestedAt),
    '',
    detail.issues.length === 0 ? 'Issues: none' : `Issues (${detail.issues.length}):`,
    ...detail.issues.map((issue) => `  ${issue.path}: ${issue.message}`),
    ...(detail.notes.length === 0 ? [] : [`Notes (${detail.notes.length}):`, ...detail.notes.map((note) => `  ${note.path}: ${note.message}`)]),
    '',
    `Attachments: ${stored}/${detail.attachments.length} stored`,
  ];
  if (detail.attachments.length > 0) {
    const table = formatTable(
      [{ header: 'STATUS' }, { header: 'SIZE', align: 'right' }, { header: 'FILENAME' }, { header: 'LABEL' }],
      detail.attachments.map((attachment) => [
        attachment.status + (attachment.lastError ? ` (${attachment.lastError})` : ''),
        formatBytes(attachment.byteSize),
        attachment.filename,
        truncate(attachment.label, 40),
      ]),
    );
    lines.push(...table.map((line) => `  ${line}`));
  }
  return lines;
}
