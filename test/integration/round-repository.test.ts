import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  AssignmentRecord, AuditRecord, DecisionRecord, NotificationRecord, ReviewRecord, ReviewerRecord, RoundRecord,
} from '#core/rounds/model';
import { DynamoRoundRepository } from '#adapters/dynamodb/round-repository';
import { ENGINES, type RunningEngine } from '../helpers/dynamodb-engines.ts';

/** Each test gets its own round ids, so tests sharing a table stay independent. */
let lastYear = 2100;
const newRoundId = () => `${++lastYear}-03`;

function round(overrides: Partial<RoundRecord> = {}): RoundRecord {
  return {
    id: newRoundId(),
    status: 'open',
    openedAt: '2026-03-01T07:00:00.000Z',
    submissionsClosedAt: null,
    reviewDeadline: null,
    selectionClosedAt: null,
    capacityPosts: 12,
    reviewersPerDossier: 2,
    criteria: [{ id: 'impact', label: 'Impact', weight: 2 }, { id: 'faisabilite', label: 'Faisabilité', weight: 1 }],
    version: 1,
    ...overrides,
  };
}

const reviewerId = (n: number) => n.toString(16).padStart(16, '0');

function reviewer(n: number, overrides: Partial<ReviewerRecord> = {}): ReviewerRecord {
  return { id: reviewerId(n), email: `reviewer${n}@example.fr`, name: `Évaluatrice ${n}`, conflicts: [], active: true, ...overrides };
}

function review(roundId: string, dossierNumber: number, reviewerN: number, overrides: Partial<ReviewRecord> = {}): ReviewRecord {
  return {
    roundId, dossierNumber, reviewerId: reviewerId(reviewerN),
    scores: { impact: 4, faisabilite: 3 }, comment: 'Projet solide.', conflictOfInterest: false,
    submittedAt: '2026-05-02T10:00:00.000Z', ...overrides,
  };
}

function notification(roundId: string, overrides: Partial<NotificationRecord> = {}): NotificationRecord {
  return {
    roundId, reviewerId: reviewerId(1), key: 'assignment', template: 'assignment', status: 'sending',
    updatedAt: '2026-05-01T08:00:00.000Z', ...overrides,
  };
}

describe.each(ENGINES)('DynamoRoundRepository on $name', ({ start }) => {
  let engine: RunningEngine;
  let repo: DynamoRoundRepository;
  /** Two items per Query page: every list below crosses pages. */
  let paged: DynamoRoundRepository;

  beforeAll(async () => {
    engine = await start();
    repo = new DynamoRoundRepository({ client: engine.client, tableName: engine.tableName });
    paged = new DynamoRoundRepository({ client: engine.client, tableName: engine.tableName, queryPageSize: 2 });
  });
  afterAll(async () => {
    await engine?.stop();
  });

  const rawItem = async (pk: string, sk: string) =>
    (await engine.client.send(new GetCommand({ TableName: engine.tableName, Key: { pk, sk } }))).Item;

  describe('rounds', () => {
    it('creates a round once under ROUND#<id> / #ROUND; a second create returns the current one', async () => {
      const first = round();
      expect(await repo.createRound(first)).toEqual({ written: true });
      expect(await repo.getRound(first.id)).toEqual(first);
      expect(await rawItem(`ROUND#${first.id}`, '#ROUND')).toMatchObject({ type: 'round', gsi1pk: 'ROUNDS', gsi1sk: `open#${first.id}` });

      const again = await repo.createRound({ ...first, capacityPosts: 99 });
      expect(again).toEqual({ written: false, current: first });
      expect(await repo.getRound('1999-01')).toBeUndefined();
    });

    it('updates only from the expected version, storing version + 1; a stale update gets the current round', async () => {
      const created = round();
      await repo.createRound(created);
      const reviewing = { ...created, status: 'reviewing' as const, submissionsClosedAt: '2026-05-01T07:00:00.000Z', reviewDeadline: '2026-05-22T07:00:00.000Z' };
      expect(await repo.updateRound(reviewing, 1)).toEqual({ written: true });
      const stored = await repo.getRound(created.id);
      expect(stored).toEqual({ ...reviewing, version: 2 });
      expect(await rawItem(`ROUND#${created.id}`, '#ROUND')).toMatchObject({ gsi1sk: `reviewing#${created.id}` });

      const stale = await repo.updateRound({ ...created, status: 'closed' }, 1);
      expect(stale).toEqual({ written: false, current: { ...reviewing, version: 2 } });
      // A missing round is not created by an update.
      const missing = round();
      expect(await repo.updateRound(missing, 1)).toEqual({ written: false, current: undefined });
      expect(await repo.getRound(missing.id)).toBeUndefined();
    });

    it('lets exactly one of concurrent updates of the same version win', async () => {
      const created = round();
      await repo.createRound(created);
      const results = await Promise.all([12, 13, 14].map((capacityPosts) => repo.updateRound({ ...created, capacityPosts }, 1)));
      expect(results.filter((r) => r.written)).toHaveLength(1);
      expect((await repo.getRound(created.id))?.version).toBe(2);
    });

    it('lists rounds by status (oldest first) and all rounds, across pages, with the status kept in step', async () => {
      // A fresh table: the index partition ROUNDS holds every round of the table.
      const tableName = await engine.createTable();
      const own = new DynamoRoundRepository({ client: engine.client, tableName, queryPageSize: 2 });
      const ids = ['2026-01', '2026-03', '2026-05', '2026-07', '2026-09', '2025-11'];
      for (const id of ids) await own.createRound(round({ id }));
      await own.updateRound(round({ id: '2026-01', status: 'closed' }), 1);
      await own.updateRound(round({ id: '2025-11', status: 'closed' }), 1);
      await own.updateRound(round({ id: '2026-03', status: 'reviewing' }), 1);

      expect((await own.listRoundsByStatus('open')).map((r) => r.id)).toEqual(['2026-05', '2026-07', '2026-09']);
      expect((await own.listRoundsByStatus('closed')).map((r) => r.id)).toEqual(['2025-11', '2026-01']);
      expect((await own.listRoundsByStatus('reviewing')).map((r) => r.id)).toEqual(['2026-03']);
      const all = await own.listRounds();
      expect(all.map((r) => [r.id, r.status])).toEqual([
        ['2025-11', 'closed'], ['2026-01', 'closed'], ['2026-03', 'reviewing'], ['2026-05', 'open'], ['2026-07', 'open'], ['2026-09', 'open'],
      ]);
      for (const record of all) expect(Object.keys(record).filter((k) => ['pk', 'sk', 'gsi1pk', 'gsi1sk', 'type'].includes(k))).toEqual([]);
    });
  });

  describe('reviewers', () => {
    it('puts and lists more than 25 reviewers (several batches, several pages), replacing on a second put', async () => {
      const tableName = await engine.createTable();
      const own = new DynamoRoundRepository({ client: engine.client, tableName, queryPageSize: 7 });
      const reviewers = Array.from({ length: 60 }, (_, i) => reviewer(i + 1));
      // Duplicates in the input: the last one wins (a batch may not name a key twice).
      await own.putReviewers([...reviewers, reviewer(3, { name: 'Renommée' })]);
      const listed = await own.listReviewers();
      expect(listed).toHaveLength(60);
      expect(listed.map((r) => r.id)).toEqual(reviewers.map((r) => r.id).sort());
      expect(listed.find((r) => r.id === reviewerId(3))).toEqual(reviewer(3, { name: 'Renommée' }));

      await own.putReviewers([reviewer(5, { active: false, suppressed: true })]);
      expect((await own.listReviewers()).find((r) => r.id === reviewerId(5))).toEqual(reviewer(5, { active: false, suppressed: true }));
      const { Item } = await engine.client.send(new GetCommand({ TableName: tableName, Key: { pk: `REVIEWER#${reviewerId(5)}`, sk: '#REVIEWER' } }));
      expect(Item).toMatchObject({ type: 'reviewer', gsi2pk: 'REVIEWERS', gsi2sk: reviewerId(5) });
      await own.putReviewers([]);
    });
  });

  describe('assignments and reviews', () => {
    it('puts assignments idempotently (same key, same set) and lists them by round, ordered by dossier', async () => {
      const roundId = newRoundId();
      const other = newRoundId();
      const assignments: AssignmentRecord[] = [];
      for (const dossierNumber of [900, 12, 3_000_000]) {
        for (const n of [1, 2]) assignments.push({ roundId, dossierNumber, reviewerId: reviewerId(n), assignedAt: '2026-05-01T07:00:00.000Z' });
      }
      // 40 more, to cross the 25-request batch limit.
      for (let d = 1; d <= 40; d++) assignments.push({ roundId, dossierNumber: 10_000 + d, reviewerId: reviewerId(3), assignedAt: '2026-05-01T07:00:00.000Z' });
      await repo.putAssignments(assignments);
      await repo.putAssignments(assignments);
      await repo.putAssignments([{ roundId: other, dossierNumber: 12, reviewerId: reviewerId(1), assignedAt: '2026-07-01T07:00:00.000Z' }]);

      const listed = await paged.listAssignments(roundId);
      expect(listed).toHaveLength(46);
      expect(new Set(listed.map((a) => `${a.dossierNumber}/${a.reviewerId}`))).toEqual(new Set(assignments.map((a) => `${a.dossierNumber}/${a.reviewerId}`)));
      expect(listed.slice(0, 3)).toEqual([assignments[2], assignments[3], assignments[0]]); // 12 before 900: numeric order
      expect(listed.at(-1)?.dossierNumber).toBe(3_000_000);
      expect(await repo.listAssignments(other)).toHaveLength(1);

      // The reviewer's index partition: their assignments across rounds, for the review page.
      const { Items = [] } = await engine.client.send(new QueryCommand({
        TableName: engine.tableName, IndexName: 'gsi1',
        KeyConditionExpression: 'gsi1pk = :pk AND begins_with(gsi1sk, :prefix)',
        ExpressionAttributeValues: { ':pk': `REVIEWER#${reviewerId(1)}`, ':prefix': 'ROUND#' },
      }));
      expect(Items.map((item) => item.gsi1sk)).toEqual([`ROUND#${roundId}#0000000012`, `ROUND#${roundId}#0000000900`, `ROUND#${roundId}#0003000000`, `ROUND#${other}#0000000012`]);
    });

    it('keeps one review per (dossier, reviewer): a later submission replaces the earlier one', async () => {
      const roundId = newRoundId();
      await repo.putReview(review(roundId, 7, 1));
      await repo.putReview(review(roundId, 7, 2, { conflictOfInterest: true, scores: {} }));
      await repo.putReview(review(roundId, 8, 1));
      const edited = review(roundId, 7, 1, { scores: { impact: 5, faisabilite: 5 }, comment: 'Revu après échange : très bon.', submittedAt: '2026-05-03T09:00:00.000Z' });
      await repo.putReview(edited);

      const listed = await paged.listReviews(roundId);
      expect(listed).toEqual([edited, review(roundId, 7, 2, { conflictOfInterest: true, scores: {} }), review(roundId, 8, 1)]);
      expect(await rawItem(`ROUND#${roundId}`, `REVIEW#0000000007#${reviewerId(1)}`)).toMatchObject({
        type: 'review', gsi1pk: `REVIEWER#${reviewerId(1)}`, gsi1sk: `REVIEW#${roundId}#0000000007`,
      });
      // Kinds of items under one round never mix.
      expect(await repo.listAssignments(roundId)).toEqual([]);
    });

    it('writes a review only from the version the form was opened on (stale forms lose), and reads it back consistently', async () => {
      const roundId = newRoundId();
      const draft = review(roundId, 7, 1, { status: 'draft', version: 1, submittedAt: null, updatedAt: '2026-05-02T10:00:00.000Z' });
      expect(await repo.putReviewIfVersion(draft, 0)).toEqual({ written: true });
      expect(await repo.getReview(roundId, 7, reviewerId(1))).toEqual(draft);
      // A second tab opened before the draft was saved: expected version 0, the store holds 1.
      const otherTab = review(roundId, 7, 1, { status: 'submitted', version: 1, comment: 'autre onglet' });
      expect(await repo.putReviewIfVersion(otherTab, 0)).toEqual({ written: false, current: draft });
      const submitted = review(roundId, 7, 1, { status: 'submitted', version: 2 });
      expect(await repo.putReviewIfVersion(submitted, 1)).toEqual({ written: true });
      expect(await repo.putReviewIfVersion({ ...submitted, version: 3 }, 1)).toEqual({ written: false, current: submitted });
      // Two tabs saving the same version at once: exactly one wins.
      const racing = await Promise.all([2, 2, 2].map((v, i) => repo.putReviewIfVersion({ ...submitted, version: 3, comment: `tab ${i}` }, v)));
      expect(racing.filter((r) => r.written)).toHaveLength(1);
      // A review from before versions existed (no version attribute) is at version 0.
      const legacy = review(roundId, 8, 1);
      await repo.putReview(legacy);
      expect(await repo.putReviewIfVersion({ ...legacy, version: 1, comment: 'edited' }, 0)).toEqual({ written: true });
      expect(await repo.getReview(roundId, 9, reviewerId(1))).toBeUndefined();
      await expect(repo.putReviewIfVersion(legacy, -1)).rejects.toThrow(RangeError);
    });

    it('lists one reviewer\'s assignments and reviews of one round through the index, and gets a reviewer', async () => {
      const roundId = newRoundId();
      const other = newRoundId();
      const mine = [30, 4, 12].map((dossierNumber): AssignmentRecord => ({ roundId, dossierNumber, reviewerId: reviewerId(7), assignedAt: '2026-05-01T07:00:00.000Z' }));
      await repo.putAssignments([
        ...mine,
        { roundId, dossierNumber: 4, reviewerId: reviewerId(8), assignedAt: '2026-05-01T07:00:00.000Z', replaces: reviewerId(9) },
        { roundId: other, dossierNumber: 5, reviewerId: reviewerId(7), assignedAt: '2026-07-01T07:00:00.000Z' },
      ]);
      await repo.putReview(review(roundId, 12, 7));
      await repo.putReview(review(roundId, 4, 8));
      await repo.putReview(review(other, 5, 7));
      expect((await paged.listReviewerAssignments(roundId, reviewerId(7))).map((a) => a.dossierNumber)).toEqual([4, 12, 30]);
      expect(await repo.listReviewerAssignments(roundId, reviewerId(8))).toEqual([expect.objectContaining({ dossierNumber: 4, replaces: reviewerId(9) })]);

      await repo.putReviewers([reviewer(77, { active: false })]);
      expect(await repo.getReviewer(reviewerId(77))).toEqual(reviewer(77, { active: false }));
      expect(await repo.getReviewer(reviewerId(78))).toBeUndefined();
    });

    it('keeps the latest exclusion and committee decision per dossier, apart from every other kind', async () => {
      const roundId = newRoundId();
      const at = '2026-05-20T10:00:00.000Z';
      await repo.putExclusion({ roundId, dossierNumber: 40, excluded: true, reason: 'Collectivité territoriale', actor: 'staff:jdupont', at });
      await repo.putExclusion({ roundId, dossierNumber: 7, excluded: true, reason: 'Doublon de 40', actor: 'staff:jdupont', at });
      await repo.putExclusion({ roundId, dossierNumber: 40, excluded: false, reason: 'Opérateur de l\'État après vérification', actor: 'staff:amartin', at: '2026-05-21T09:00:00.000Z' });
      expect((await paged.listExclusions(roundId)).map((e) => [e.dossierNumber, e.excluded, e.actor])).toEqual([[7, true, 'staff:jdupont'], [40, false, 'staff:amartin']]);
      await repo.putCommitteeDecision({ roundId, dossierNumber: 12, outcome: 'selected', reason: 'Priorité ministérielle', actor: 'staff:jdupont', at });
      await repo.putCommitteeDecision({ roundId, dossierNumber: 12, outcome: 'waitlisted', reason: 'Capacité', actor: 'staff:jdupont', at });
      expect(await repo.listCommitteeDecisions(roundId)).toEqual([{ roundId, dossierNumber: 12, outcome: 'waitlisted', reason: 'Capacité', actor: 'staff:jdupont', at }]);
      expect(await repo.listDecisions(roundId)).toEqual([]);
      expect(await repo.listAssignments(roundId)).toEqual([]);
      expect(await repo.listExclusions(newRoundId())).toEqual([]);
    });

    it('refuses keys that would be ambiguous', async () => {
      await expect(repo.putReview(review('2026-05', 1.5, 1))).rejects.toThrow(RangeError);
      await expect(repo.putAssignments([{ roundId: '2026-05', dossierNumber: 1, reviewerId: 'a#b', assignedAt: '2026-05-01T07:00:00.000Z' }])).rejects.toThrow(/without '#'/);
    });
  });

  describe('notifications', () => {
    const staleBefore = new Date('2026-05-01T07:45:00.000Z'); // 15 min before the claims' updatedAt

    it('claims once: the first claim wins, a second is refused while sending or once sent', async () => {
      const roundId = newRoundId();
      const claim = notification(roundId);
      expect(await repo.claimNotification(claim, staleBefore)).toBe(true);
      expect(await repo.claimNotification({ ...claim, updatedAt: '2026-05-01T08:00:05.000Z' }, staleBefore)).toBe(false);
      expect(await repo.listNotifications(roundId)).toEqual([claim]);
      expect(await rawItem(`ROUND#${roundId}`, `NOTIFY#${reviewerId(1)}#assignment`)).toMatchObject({ type: 'notification', status: 'sending' });

      await repo.markNotificationSent(claim, 'ses-message-1');
      expect(await repo.listNotifications(roundId)).toEqual([{ ...claim, status: 'sent', messageId: 'ses-message-1' }]);
      // `sent` is never claimed again, however old.
      expect(await repo.claimNotification({ ...claim, updatedAt: '2026-06-01T00:00:00.000Z' }, new Date('2026-06-01T00:00:00.000Z'))).toBe(false);
    });

    it('lets exactly one of concurrent claims win', async () => {
      const roundId = newRoundId();
      const results = await Promise.all([0, 1, 2, 3].map((i) => repo.claimNotification(notification(roundId, { updatedAt: `2026-05-01T08:00:0${i}.000Z` }), staleBefore)));
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('reclaims a claim stuck in sending since before staleBefore (a crash between claim and send)', async () => {
      const roundId = newRoundId();
      const crashed = notification(roundId, { updatedAt: '2026-05-01T07:30:00.000Z' });
      expect(await repo.claimNotification(crashed, staleBefore)).toBe(true);
      const retry = notification(roundId, { updatedAt: '2026-05-01T08:00:00.000Z' });
      expect(await repo.claimNotification(retry, staleBefore)).toBe(true);
      expect(await repo.claimNotification({ ...retry, updatedAt: '2026-05-01T08:00:30.000Z' }, staleBefore)).toBe(false);
      expect(await repo.listNotifications(roundId)).toEqual([retry]);
      // The crashed run's release comes too late: the claim is someone else's now, and stays.
      await repo.releaseNotification(crashed);
      expect(await repo.listNotifications(roundId)).toEqual([retry]);
    });

    it('releases a claim after a failed send, so that the next run claims it again; never releases a sent one', async () => {
      const roundId = newRoundId();
      const claim = notification(roundId, { key: 'reminder:2026-05-14', template: 'reminder' });
      expect(await repo.claimNotification(claim, staleBefore)).toBe(true);
      await repo.releaseNotification(claim);
      expect(await repo.listNotifications(roundId)).toEqual([]);
      expect(await repo.claimNotification(claim, staleBefore)).toBe(true);
      await repo.markNotificationSent(claim, 'ses-message-2');
      await repo.releaseNotification(claim);
      expect(await repo.listNotifications(roundId)).toEqual([{ ...claim, status: 'sent', messageId: 'ses-message-2' }]);
      // An instant with an offset is stored in UTC, and compared as such.
      const other = notification(roundId, { reviewerId: reviewerId(3), updatedAt: '2026-05-01T10:00:00+02:00' });
      expect(await repo.claimNotification(other, staleBefore)).toBe(true);
      expect((await repo.listNotifications(roundId)).find((n) => n.reviewerId === reviewerId(3))?.updatedAt).toBe('2026-05-01T08:00:00.000Z');
      await repo.releaseNotification(other);
      expect(await repo.listNotifications(roundId)).toHaveLength(1);
      await expect(repo.claimNotification({ ...other, updatedAt: 'hier' }, staleBefore)).rejects.toThrow(/ISO instant/);
      // Releasing what was never claimed does nothing.
      await repo.releaseNotification(notification(roundId, { reviewerId: reviewerId(9) }));
    });

    it('lists a round\'s notifications across pages, ordered by reviewer then key', async () => {
      const roundId = newRoundId();
      const records = [
        notification(roundId, { reviewerId: reviewerId(2), key: 'reminder:2026-05-14', template: 'reminder' }),
        notification(roundId, { reviewerId: reviewerId(1), key: 'assignment' }),
        notification(roundId, { reviewerId: reviewerId(2), key: 'assignment' }),
        notification(roundId, { reviewerId: reviewerId(1), key: 'reminder:2026-05-14', template: 'reminder' }),
        notification(roundId, { reviewerId: reviewerId(1), key: 'reminder:2026-05-21', template: 'reminder' }),
      ];
      for (const record of records) expect(await repo.claimNotification(record, staleBefore)).toBe(true);
      const listed = await paged.listNotifications(roundId);
      expect(listed.map((n) => `${n.reviewerId.slice(-1)}/${n.key}`)).toEqual([
        '1/assignment', '1/reminder:2026-05-14', '1/reminder:2026-05-21', '2/assignment', '2/reminder:2026-05-14',
      ]);
    });
  });

  describe('decisions and audit', () => {
    it('round-trips decisions (more than one batch), ordered by dossier number; a second put replaces', async () => {
      const roundId = newRoundId();
      const decisions: DecisionRecord[] = Array.from({ length: 30 }, (_, i) => ({
        roundId, dossierNumber: 30 - i, outcome: i < 3 ? 'selected' : i < 6 ? 'waitlisted' : 'not_selected',
        rank: i < 28 ? i + 1 : null, score: i < 28 ? Math.round((5 - i / 10) * 100) / 100 : null, reviewCount: i < 28 ? 2 : 0,
        eigPostsRequested: 2, reasonCode: i < 28 ? 'selected_within_capacity' : 'no_counted_review', reason: i < 28 ? 'classé' : 'aucune évaluation comptée',
      }));
      await repo.putDecisions(decisions);
      await repo.putDecisions(decisions);
      const listed = await paged.listDecisions(roundId);
      expect(listed).toEqual([...decisions].reverse());
      expect(listed[0]).toMatchObject({ dossierNumber: 1, rank: null, score: null });
      await repo.putDecisions([{ ...decisions[0]!, outcome: 'waitlisted' }]);
      expect((await repo.listDecisions(roundId)).at(-1)?.outcome).toBe('waitlisted');
    });

    it('round-trips audit records in time order; a replay of the same record changes nothing', async () => {
      const roundId = newRoundId();
      const audit = (at: string, step: AuditRecord['step'], summary: Record<string, unknown>): AuditRecord => ({
        roundId, step, at, actor: step === 'remind' ? 'staff:ops' : 'schedule', summary,
      });
      const records = [
        audit('2026-05-01T07:00:00.000Z', 'close-submissions', { changed: true, assignments: 42, mails: { sent: 10, skipped: 0 } }),
        audit('2026-03-01T07:00:00.000Z', 'open', { changed: true, dryRun: false }),
        audit('2026-05-14T07:00:00.000Z', 'remind', { changed: false, reminded: 3 }),
        audit('2026-05-14T07:00:00.000Z', 'close-selection', { refused: 'reviewing' }),
      ];
      for (const record of records) await repo.putAudit(record);
      await repo.putAudit({ ...records[1]!, summary: { overwritten: true } });
      expect(await paged.listAudit(roundId)).toEqual([records[1], records[0], records[3], records[2]]);
      expect(await rawItem(`ROUND#${roundId}`, `AUDIT#2026-03-01T07:00:00.000Z#open`)).toMatchObject({ type: 'audit' });
    });
  });
});
