import type { AttachmentRecord, AttachmentRef, DossierRecord } from '#core/dossier';
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
  project: DossierRecord['project'];
  issues: DossierRecord['issues'];
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

export function dossierSummary(dossier: DossierRecord, storedFiles: number): DossierSummaryView {
  return {
    number: dossier.number,
    demarcheNumber: dossier.demarcheNumber,
    status: dossier.status,
    state: dossier.state,
    round: dossier.round,
    dateDerniereModification: dossier.dateDerniereModification,
    title: dossier.project?.title ?? null,
    files: { stored: storedFiles, total: dossier.attachments.length },
  };
}

export function dossierDetail(dossier: DossierRecord, attachmentRecords: AttachmentRecord[]): DossierDetailView {
  const records = recordsByKey(attachmentRecords);
  return {
    number: dossier.number,
    demarcheNumber: dossier.demarcheNumber,
    state: dossier.state,
    status: dossier.status,
    dateDerniereModification: dossier.dateDerniereModification,
    dateDepot: dossier.dateDepot,
    round: dossier.round,
    project: dossier.project,
    issues: dossier.issues,
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
      { header: 'TITLE' },
    ],
    rows.map((row) => [
      String(row.number),
      row.status,
      row.state ?? '-',
      row.round,
      row.dateDerniereModification ?? '-',
      `${row.files.stored}/${row.files.total}`,
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
    field('wished start', project.wishedStartDate),
    field('status', detail.status),
    field('DS state', detail.state),
    field('round', detail.round),
    field('deposited', detail.dateDepot),
    field('modified', detail.dateDerniereModification),
    field('ingested', detail.ingestedAt),
    '',
    detail.issues.length === 0 ? 'Issues: none' : `Issues (${detail.issues.length}):`,
    ...detail.issues.map((issue) => `  ${issue.path}: ${issue.message}`),
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
