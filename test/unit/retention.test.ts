import { describe, expect, it } from 'vitest';
import type { DossierRecord } from '#core/dossier';
import type { DecisionRecord } from '#core/rounds/model';
import {
  PURGED_DECISION_REASON, dossierObjectPrefixes, expiredRounds, isReduced, isRoundExpired, monthsBefore, needsDeletionPurge,
  projectMentionsEmail, purgeDueAt, reducedDecision, roundReportPrefix, tombstoneExpiresAt, tombstoneOf, type RetentionRound,
} from '#core/retention/policy';
import { PurgeEventSchema, RetentionConfigSchema } from '#schemas/retention';
import { RETENTION_CONFIG, parseRetentionConfig } from '#shared/retention-config';
import { safetyNetExpirationDays } from '#infra/constructs/storage';

const policy = { closedRoundRetentionMonths: 24, deletedDossierTombstoneDays: 180 };
const round = (id: string, overrides: Partial<RetentionRound> = {}): RetentionRound => ({
  id, status: 'closed', openedAt: `${id}-01T08:00:00.000Z`, selectionClosedAt: `${id}-22T08:00:00.000Z`, ...overrides,
});

describe('the retention decision', () => {
  it('monthsBefore: calendar months in UTC, the day clamped so that nothing is purged early', () => {
    expect(monthsBefore(new Date('2028-03-22T08:00:00Z'), 24).toISOString()).toBe('2026-03-22T08:00:00.000Z');
    expect(monthsBefore(new Date('2026-03-31T10:00:00Z'), 1).toISOString()).toBe('2026-02-28T10:00:00.000Z');
    expect(monthsBefore(new Date('2028-02-29T00:00:00Z'), 12).toISOString()).toBe('2027-02-28T00:00:00.000Z');
    expect(monthsBefore(new Date('2027-01-15T00:00:00Z'), 13).toISOString()).toBe('2025-12-15T00:00:00.000Z');
    expect(() => monthsBefore(new Date(), -1)).toThrow(RangeError);
  });

  it('a closed round expires exactly N months after its selection closed, not a millisecond before', () => {
    const closed = round('2026-03');
    expect(isRoundExpired(closed, new Date('2028-03-22T07:59:59.999Z'), policy)).toBe(false);
    expect(isRoundExpired(closed, new Date('2028-03-22T08:00:00.000Z'), policy)).toBe(true);
    expect(purgeDueAt(closed, policy)?.toISOString()).toBe('2028-03-22T08:00:00.000Z');
    // The configured N, not a constant.
    expect(isRoundExpired(closed, new Date('2026-09-22T08:00:00.000Z'), { closedRoundRetentionMonths: 6 })).toBe(true);
  });

  it('an open or reviewing round never expires, however old; a purged one is done; a closed one without its date counts from its opening', () => {
    const now = new Date('2035-01-01T00:00:00Z');
    expect(isRoundExpired(round('2026-03', { status: 'open', selectionClosedAt: null }), now, policy)).toBe(false);
    expect(isRoundExpired(round('2026-03', { status: 'reviewing', selectionClosedAt: null }), now, policy)).toBe(false);
    expect(isRoundExpired(round('2026-03', { purgedAt: '2028-04-01T00:00:00.000Z' }), now, policy)).toBe(false);
    expect(isRoundExpired(round('2026-03', { selectionClosedAt: null }), new Date('2028-03-01T08:00:00Z'), policy)).toBe(true);
    expect(purgeDueAt(round('2026-03', { status: 'open' }), policy)).toBeUndefined();
  });

  it('expiredRounds: only those due, oldest first', () => {
    const rounds = [round('2026-07'), round('2026-03'), round('2027-01'), round('2026-05', { purgedAt: 'x' })];
    expect(expiredRounds(rounds, new Date('2028-08-01T00:00:00Z'), policy).map((r) => r.id)).toEqual(['2026-03', '2026-07']);
  });

  it('a dossier needs the deletion purge when DS deleted it and it is not a tombstone yet', () => {
    expect(needsDeletionPurge({ status: 'deleted' })).toBe(true);
    expect(needsDeletionPurge({ status: 'deleted', purgedAt: '2026-03-01T00:00:00.000Z' })).toBe(false);
    expect(needsDeletionPurge({ status: 'stored' })).toBe(false);
    expect(needsDeletionPurge({ status: 'not_found' })).toBe(false);
  });
});

describe('what a purged record is reduced to', () => {
  const dossier: DossierRecord = {
    number: 4242, demarcheNumber: 98765, state: 'en_construction', status: 'stored', dateDerniereModification: '2026-03-05T14:22:11+01:00',
    modifiedAtMs: 1772716931000, dateDepot: '2026-03-02T09:00:00+01:00', round: '2026-05', roundMovedFrom: '2026-03',
    project: { title: 'Projet', contactEmails: ['porteuse@mairie.fr'], team: [{ name: 'Alice Martin', role: 'mentor', email: 'alice@mairie.fr' }] },
    issues: [{ path: 'project.title', message: 'x' }], attachments: [{ champId: '1', label: 'CV', filename: 'cv-alice.pdf', contentType: 'application/pdf', byteSize: 1, checksum: 'x', virusScan: 'safe', key: 'attachments/4242/1/ab/cv-alice.pdf' }],
    filesComplete: true, snapshotKey: 'dossiers/4242/1772716931000.json', ingestedAt: '2026-03-05T16:31:00.000Z',
  };

  it('a tombstone keeps the number, round and DS dates, status deleted, and nothing personal', () => {
    const at = new Date('2026-06-01T10:00:00Z');
    const tombstone = tombstoneOf(dossier, at, 'erasure_request');
    expect(tombstone).toEqual({
      number: 4242, demarcheNumber: 98765, state: 'en_construction', status: 'deleted', dateDerniereModification: dossier.dateDerniereModification,
      modifiedAtMs: dossier.modifiedAtMs, dateDepot: dossier.dateDepot, round: '2026-05', roundMovedFrom: '2026-03',
      project: null, issues: [], attachments: [], filesComplete: true, snapshotKey: null, ingestedAt: dossier.ingestedAt,
      purgedAt: '2026-06-01T10:00:00.000Z', purgeReason: 'erasure_request',
    });
    expect(JSON.stringify(tombstone)).not.toMatch(/alice|mairie|cv-/i);
    expect(tombstoneExpiresAt(at, policy)).toBe(Math.floor(at.getTime() / 1000) + 180 * 86_400);
  });

  it('a decision keeps its numbers and reason code; staff\'s and the committee\'s words and names go; reducing twice changes nothing', () => {
    const decision: DecisionRecord = {
      roundId: '2026-03', dossierNumber: 4242, outcome: 'not_selected', rank: null, score: null, reviewCount: 0, eigPostsRequested: 2,
      reasonCode: 'committee_decision', reason: 'Le comité : Mme Martin est déjà financée', proposedOutcome: 'selected',
      committeeReason: 'Mme Martin est déjà financée', committeeActor: 'staff:jdupont',
    };
    const reduced = reducedDecision(decision);
    expect(reduced).toEqual({
      roundId: '2026-03', dossierNumber: 4242, outcome: 'not_selected', rank: null, score: null, reviewCount: 0, eigPostsRequested: 2,
      reasonCode: 'committee_decision', reason: PURGED_DECISION_REASON, proposedOutcome: 'selected',
    });
    expect(isReduced(decision)).toBe(false);
    expect(isReduced(reduced)).toBe(true);
    expect(reducedDecision(reduced)).toEqual(reduced);
  });

  it('the S3 prefixes are per dossier and per round, and refuse what could widen them', () => {
    expect(dossierObjectPrefixes(4242)).toEqual(['attachments/4242/', 'dossiers/4242/']);
    expect(roundReportPrefix('2026-03')).toBe('reports/2026-03/');
    expect(() => dossierObjectPrefixes(0)).toThrow(RangeError);
    expect(() => roundReportPrefix('../x')).toThrow(RangeError);
    expect(() => roundReportPrefix('')).toThrow(RangeError);
  });

  it('projectMentionsEmail finds an address in any field, case-insensitively, whole field only', () => {
    expect(projectMentionsEmail(dossier.project, 'ALICE@mairie.fr')).toBe(true);
    expect(projectMentionsEmail(dossier.project, 'porteuse@mairie.fr')).toBe(true);
    expect(projectMentionsEmail(dossier.project, 'mairie.fr')).toBe(false);
    expect(projectMentionsEmail(null, 'alice@mairie.fr')).toBe(false);
    expect(projectMentionsEmail(dossier.project, ' ')).toBe(false);
  });
});

describe('the retention configuration', () => {
  it('schemas/retention-config.json: 24 months by default, its comment says the DPO must confirm it', () => {
    expect(RETENTION_CONFIG).toMatchObject({ closedRoundRetentionMonths: 24, deletedDossierTombstoneDays: 180 });
    expect(RETENTION_CONFIG.$comment).toMatch(/DPO/);
    // The lifecycle safety net fires after the scheduled purge would have: retention + margin, in 31-day months.
    expect(safetyNetExpirationDays(RETENTION_CONFIG)).toBe((24 + RETENTION_CONFIG.s3SafetyNetMarginMonths) * 31);
  });

  it('a bad file is refused, naming the field', () => {
    expect(() => parseRetentionConfig({ ...RETENTION_CONFIG, closedRoundRetentionMonths: 0 })).toThrow(/closedRoundRetentionMonths/);
    expect(() => parseRetentionConfig({ ...RETENTION_CONFIG, s3SafetyNetMarginMonths: 1 })).toThrow(/s3SafetyNetMarginMonths/);
    expect(() => parseRetentionConfig({ ...RETENTION_CONFIG, deletedDossierTombstoneDays: 30 })).toThrow(/outlive a round/);
    expect(RetentionConfigSchema.safeParse({ ...RETENTION_CONFIG, retentionMonth: 3 }).success).toBe(false);
  });

  it('the purge event: {} is everything, the 5-minute sweep names its scope, an actor is schedule or staff:<name>', () => {
    expect(PurgeEventSchema.parse({})).toEqual({ scope: 'all', actor: 'schedule' });
    expect(PurgeEventSchema.parse(null)).toEqual({ scope: 'all', actor: 'schedule' });
    expect(PurgeEventSchema.parse({ scope: 'deleted-dossiers' })).toEqual({ scope: 'deleted-dossiers', actor: 'schedule' });
    expect(PurgeEventSchema.safeParse({ actor: 'alice@example.fr' }).success).toBe(false);
    expect(PurgeEventSchema.safeParse({ scope: 'everything' }).success).toBe(false);
  });
});
