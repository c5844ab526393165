import * as z from 'zod';
import { ChampSchema, DossierEnvelopeSchema, DsDossierSchema, type Champ } from '#schemas/ds-dossier';
import type { FormMapping } from '#schemas/eig-form';
import { filesOf, snapshotKey, withoutUrl, type FileToFetch } from './attachments.ts';
import { instantMs, statusOf, type DossierRecord, type ValidationIssue } from './dossier.ts';
import { mapEigProject, zodIssues } from './eig-project.ts';
import { roundOf } from './round.ts';

export interface InterpretedDossier {
  record: DossierRecord;
  /** The files of this version with their short-lived URLs. */
  files: FileToFetch[];
}

/** The dossier without its champs: validated as a whole, while champs are validated one by one. */
const DossierShellSchema = DsDossierSchema.extend({
  champs: z.array(z.unknown()),
  annotations: z.array(z.unknown()).optional(),
});

/** Each champ on its own, so one bad champ does not hide the files and values of the others. */
function parseChamps(raw: unknown): { champs: Champ[]; issues: ValidationIssue[] } {
  if (!Array.isArray(raw)) return { champs: [], issues: [{ path: 'champs', message: 'champs is not a list' }] };
  const champs: Champ[] = [];
  const issues: ValidationIssue[] = [];
  raw.forEach((value, i) => {
    const parsed = ChampSchema.safeParse(value);
    if (parsed.success) champs.push(parsed.data);
    else issues.push(...zodIssues(parsed.error, `champs.${i}`));
  });
  return { champs, issues };
}

export const LINKED_DOSSIER_NOT_READABLE = 'linked dossier not readable';

/**
 * DossierLinkChamps whose link names a dossier (`stringValue`) that DS did not return: DS hides
 * a linked dossier of a démarche the token cannot read (a nested `unauthorized`, the rest of
 * the dossier intact), and returns none for one that is gone. The dossier is kept, and stays
 * reviewable; the champ gets a note (DossierRecord.notes), by path, so staff can see why its link
 * is empty (no value is quoted).
 */
export function unreadableLinks(raw: unknown): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const visit = (champs: unknown, path: string) => {
    if (!Array.isArray(champs)) return;
    champs.forEach((champ: Record<string, unknown> | null, i) => {
      if (!champ || typeof champ !== 'object') return;
      if (champ.__typename === 'DossierLinkChamp' && champ.dossier === null
        && typeof champ.stringValue === 'string' && champ.stringValue.trim() !== '') {
        issues.push({
          path: `${path}.${i}.dossier`,
          message: `${LINKED_DOSSIER_NOT_READABLE}: DS returned no dossier for this link (one of a démarche the API token cannot read, or one that is gone)`,
        });
      }
      if (Array.isArray(champ.rows)) {
        champ.rows.forEach((row: { champs?: unknown } | null, r) => visit(row?.champs, `${path}.${i}.rows.${r}.champs`));
      }
    });
  };
  const dossier = (raw ?? {}) as Record<string, unknown>;
  visit(dossier.champs, 'champs');
  visit(dossier.annotations, 'annotations');
  return issues;
}

/**
 * Turns a DS GraphQL dossier into the record we store. Never throws on bad data: whatever
 * fails validation becomes an issue and the dossier is stored `invalid`. Only a dossier
 * without a number or a `dateDerniereModification` cannot be versioned; it is stored as
 * version 0 (so any readable version replaces it).
 */
export function interpretDossier(
  requestedNumber: number, raw: unknown, mapping: FormMapping, now: Date,
): InterpretedDossier {
  const envelope = DossierEnvelopeSchema.safeParse(raw);
  const shell = DossierShellSchema.safeParse(raw);
  const rawObject = (raw ?? {}) as Record<string, unknown>;
  const { champs, issues: champIssues } = parseChamps(rawObject.champs);
  const issues: ValidationIssue[] = [...(shell.success ? [] : zodIssues(shell.error, '')), ...champIssues];
  if (envelope.success && envelope.data.number !== requestedNumber) {
    issues.push({ path: 'number', message: `DS answered dossier ${envelope.data.number} for ${requestedNumber}` });
  }

  const number = requestedNumber;
  const dateDerniereModification = envelope.success ? envelope.data.dateDerniereModification : null;
  const modifiedAtMs = dateDerniereModification ? instantMs(dateDerniereModification) : 0;
  const mapped = mapEigProject({
    number,
    champs,
    demandeur: shell.success ? shell.data.demandeur : null,
    usagerEmail: shell.success ? (shell.data.usager?.email ?? null) : null,
  }, mapping);
  issues.push(...mapped.issues);
  // Not the applicant's fault, and the rest of the dossier is whole: a note for staff, not an issue.
  const notes = unreadableLinks(raw);

  const files = filesOf(number, champs);
  const dateDepot = envelope.success ? (envelope.data.dateDepot ?? null) : null;
  const record: DossierRecord = {
    number,
    demarcheNumber: envelope.success ? (envelope.data.demarche?.number ?? 0) : 0,
    state: envelope.success ? (envelope.data.state ?? null) : null,
    status: statusOf(issues.length === 0, files.length === 0),
    dateDerniereModification,
    modifiedAtMs,
    dateDepot,
    round: roundOf(dateDepot),
    project: mapped.project,
    issues,
    ...(notes.length > 0 ? { notes } : {}),
    attachments: files.map(withoutUrl),
    filesComplete: files.length === 0,
    snapshotKey: snapshotKey(number, modifiedAtMs),
    ingestedAt: now.toISOString(),
  };
  return { record, files };
}
