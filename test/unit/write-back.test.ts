import { describe, expect, it } from 'vitest';
import { DsUnavailableError } from '#core/errors';
import type { DossierRecord } from '#core/dossier';
import type { DecisionOutcome, DecisionRecord, ExclusionRecord, RoundRecord } from '#core/rounds/model';
import type { DsDossierView, DsState, MutationOutcome, WriteBackMutation, WriteBackRecord } from '#core/write-back/model';
import { motivationText, planWriteBack, sessionLabel } from '#core/write-back/plan';
import {
  WriteBackRefusedError, writeBackDecisions, type DsDecisionWriter, type WriteBackDependencies, type WriteBackStore,
} from '#core/write-back/write-back-decisions';
import { DsMutations, mutationRequest } from '#adapters/ds-api/ds-mutations';
import { TokenBucket } from '#adapters/ds-api/request-pacer';
import { parseStageConfig } from '#infra/stage-config';
import { DEFAULT_MOTIVATIONS, WriteBackSettingsSchema, WriteBackStageSchema, type WriteBackSettings } from '#schemas/write-back';

/*
 * Write-back (issue 8 point 2): what each outcome sends from each DS state, partial failures,
 * reruns that do only what is left, dry runs that send nothing, the pacing under DS's rate and
 * the requests the adapter sends. DS is a small fake with DS's state machine.
 */

const ROUND = '2026-03';
const SETTINGS: WriteBackSettings = WriteBackSettingsSchema.parse({ instructeurId: 'SW5zdHJ1Y3RldXItMQ==' });
const WITH_ANNOTATIONS: WriteBackSettings = { ...SETTINGS, annotations: { score: 'Q2hhbXAtOTAwMQ==', rank: 'Q2hhbXAtOTAwMg==' } };

function decision(dossierNumber: number, outcome: DecisionOutcome, extra: Partial<DecisionRecord> = {}): DecisionRecord {
  return {
    roundId: ROUND, dossierNumber, outcome, rank: dossierNumber % 100, score: 3.5, reviewCount: 2, eigPostsRequested: 1,
    reasonCode: outcome === 'selected' ? 'selected_within_capacity' : outcome === 'waitlisted' ? 'waitlisted_over_capacity' : 'below_minimum_score',
    reason: 'raison', ...extra,
  };
}

const view = (number: number, state: DsState, annotations: Record<string, string | null> = {}): DsDossierView => ({
  id: Buffer.from(`Dossier-${number}`).toString('base64'), number, state, motivation: null, annotations,
});

const names = (mutations: WriteBackMutation[]) => mutations.map((m) => m.name);

describe('what each outcome sends from each DS state', () => {
  const cases: [DecisionOutcome, DsState, string[] | 'conflict'][] = [
    ['selected', 'en_construction', ['dossierPasserEnInstruction', 'dossierAccepter']],
    ['selected', 'en_instruction', ['dossierAccepter']],
    ['selected', 'accepte', []],
    ['selected', 'refuse', 'conflict'],
    ['selected', 'sans_suite', 'conflict'],
    ['not_selected', 'en_construction', ['dossierPasserEnInstruction', 'dossierRefuser']],
    ['not_selected', 'en_instruction', ['dossierRefuser']],
    ['not_selected', 'refuse', []],
    ['not_selected', 'sans_suite', []],
    ['not_selected', 'accepte', 'conflict'],
    ['waitlisted', 'en_construction', ['dossierPasserEnInstruction']],
    ['waitlisted', 'en_instruction', []],
    ['waitlisted', 'accepte', 'conflict'],
    ['waitlisted', 'refuse', 'conflict'],
  ];
  it.each(cases)('%s from %s', (outcome, state, expected) => {
    const plan = planWriteBack(decision(1, outcome), view(1, state), SETTINGS);
    if (expected === 'conflict') {
      expect(plan.kind).toBe('conflict');
      if (plan.kind === 'conflict') expect(plan.message).toMatch(/by hand/);
    } else {
      expect(plan.kind).toBe('mutations');
      if (plan.kind === 'mutations') expect(names(plan.mutations)).toEqual(expected);
    }
  });

  it('accepts and refuses with the configured motivation, placeholders filled in', () => {
    const accept = planWriteBack(decision(7, 'selected'), view(7, 'en_instruction'), SETTINGS);
    const refuse = planWriteBack(decision(7, 'not_selected'), view(7, 'en_instruction'), { ...SETTINGS, motivations: { selected: 'x', not_selected: 'Session {round} ({session}), dossier {dossier}.' } });
    expect(accept).toEqual({ kind: 'mutations', mutations: [{ name: 'dossierAccepter', motivation: motivationText(DEFAULT_MOTIVATIONS.selected, { roundId: ROUND, dossierNumber: 7 }) }] });
    expect(accept.kind === 'mutations' && 'motivation' in accept.mutations[0]! && accept.mutations[0].motivation).toContain('mars-avril 2026');
    expect(refuse).toEqual({ kind: 'mutations', mutations: [{ name: 'dossierRefuser', motivation: 'Session 2026-03 (mars-avril 2026), dossier 7.' }] });
    expect(sessionLabel('2026-11')).toBe('novembre-décembre 2026');
  });

  it('writes the score and rank into the private annotations, unless DS holds them already', () => {
    const fresh = planWriteBack(decision(12, 'waitlisted', { score: 3.75, rank: 4 }), view(12, 'en_instruction'), WITH_ANNOTATIONS);
    expect(fresh).toEqual({ kind: 'mutations', mutations: [{ name: 'dossierModifierAnnotations', annotations: [
      { id: 'Q2hhbXAtOTAwMQ==', value: { decimalNumber: 3.75 } }, { id: 'Q2hhbXAtOTAwMg==', value: { integerNumber: 4 } },
    ] }] });
    const written = planWriteBack(decision(12, 'waitlisted', { score: 3.75, rank: 4 }), view(12, 'en_instruction', { 'Q2hhbXAtOTAwMQ==': '3,75', 'Q2hhbXAtOTAwMg==': '4' }), WITH_ANNOTATIONS);
    expect(written).toEqual({ kind: 'mutations', mutations: [] });
    const unscored = planWriteBack(decision(12, 'not_selected', { score: null, rank: null }), view(12, 'refuse'), WITH_ANNOTATIONS);
    expect(unscored).toEqual({ kind: 'mutations', mutations: [] });
  });
});

describe('configuration', () => {
  it('is off by default, and needs the instructeur once on', () => {
    expect(WriteBackStageSchema.parse({})).toMatchObject({ enabled: false });
    expect(parseStageConfig({ name: 'dev', demarcheNumbers: [1] }).writeBack).toBeUndefined();
    expect(WriteBackStageSchema.safeParse({ enabled: true }).success).toBe(false);
    expect(WriteBackStageSchema.parse({ enabled: true, instructeurId: 'SW5zdHJ1Y3RldXItMQ==' }).motivations).toEqual(DEFAULT_MOTIVATIONS);
  });

  it('refuses unknown placeholders and empty motivations (DS requires one to refuse)', () => {
    expect(WriteBackSettingsSchema.safeParse({ instructeurId: 'SW5zdHJ1Y3RldXItMQ==', motivations: { selected: 'Bravo {nom}' } }).success).toBe(false);
    expect(WriteBackSettingsSchema.safeParse({ instructeurId: 'SW5zdHJ1Y3RldXItMQ==', motivations: { not_selected: '  ' } }).success).toBe(false);
    expect(WriteBackSettingsSchema.safeParse({ instructeurId: 'SW5zdHJ1Y3RldXItMQ==', unknown: 1 }).success).toBe(false);
  });
});

/** DS's state machine, with refusals on demand. */
class FakeDs implements DsDecisionWriter {
  states = new Map<number, DsState>();
  motivations = new Map<number, string>();
  annotations = new Map<number, Record<string, string>>();
  sent: { number: number; mutation: WriteBackMutation }[] = [];
  reads = 0;
  /** Dossiers whose next passer en instruction DS refuses (a correction is pending). */
  correctionPending = new Set<number>();
  /** Throw DsUnavailableError on the n-th read (1-based). */
  unavailableOnRead?: number;
  /** Apply the next mutation of this dossier but answer as DS does to a replay. */
  lostAnswer = new Set<number>();

  constructor(initial: Record<number, DsState>) {
    for (const [n, s] of Object.entries(initial)) this.states.set(Number(n), s);
  }

  async readDossier(number: number) {
    this.reads += 1;
    if (this.unavailableOnRead === this.reads) throw new DsUnavailableError('DS GraphQL: no usable answer after 5 attempts (last: HTTP 503)');
    const state = this.states.get(number);
    return state ? { ...view(number, state, this.annotations.get(number) ?? {}), motivation: this.motivations.get(number) ?? null } : undefined;
  }

  async send(dossierId: string, mutation: WriteBackMutation): Promise<MutationOutcome> {
    const number = Number(Buffer.from(dossierId, 'base64').toString().split('-')[1]);
    this.sent.push({ number, mutation });
    const state = this.states.get(number)!;
    const move = (from: DsState, to: DsState): MutationOutcome => {
      if (state !== from) return { ok: false, errors: [`Le dossier est déjà ${state}`] };
      this.states.set(number, to);
      if (this.lostAnswer.delete(number)) return { ok: false, errors: [`Le dossier est déjà ${to}`] };
      return { ok: true, state: to };
    };
    switch (mutation.name) {
      case 'dossierPasserEnInstruction':
        if (this.correctionPending.has(number)) return { ok: false, errors: ['Le dossier est en attente de correction'] };
        return move('en_construction', 'en_instruction');
      case 'dossierAccepter': this.motivations.set(number, mutation.motivation); return move('en_instruction', 'accepte');
      case 'dossierRefuser': this.motivations.set(number, mutation.motivation); return move('en_instruction', 'refuse');
      case 'dossierModifierAnnotations':
        this.annotations.set(number, { ...this.annotations.get(number), ...Object.fromEntries(mutation.annotations.map((a) => [a.id, String(Object.values(a.value)[0])])) });
        return { ok: true };
    }
  }
}

class FakeStore implements WriteBackStore {
  records = new Map<number, WriteBackRecord>();
  audits: { roundId: string; summary: Record<string, unknown> }[] = [];
  writes = 0;
  async listWriteBacks() { return [...this.records.values()].map((r) => structuredClone(r)); }
  async putWriteBack(record: WriteBackRecord) { this.writes += 1; this.records.set(record.dossierNumber, structuredClone(record)); }
  async putWriteBackAudit(record: { roundId: string; summary: Record<string, unknown> }) { this.audits.push(record); }
}

function roundRecord(status: RoundRecord['status']): RoundRecord {
  return {
    id: ROUND, status, openedAt: '2026-03-01T08:00:00Z', submissionsClosedAt: '2026-05-01T06:00:00Z', reviewDeadline: '2026-05-15T06:00:00Z',
    selectionClosedAt: status === 'closed' ? '2026-05-22T07:00:00Z' : null, capacityPosts: 4, reviewersPerDossier: 2, criteria: [], version: 3,
  };
}

function setup(options: { status?: RoundRecord['status']; decisions: DecisionRecord[]; ds: FakeDs; exclusions?: ExclusionRecord[]; roundDossiers?: number[]; settings?: WriteBackSettings }) {
  const store = new FakeStore();
  let tick = 0;
  const deps: WriteBackDependencies = {
    rounds: {
      getRound: async (id) => (id === ROUND ? roundRecord(options.status ?? 'closed') : undefined),
      listRoundsByStatus: async (status) => ((options.status ?? 'closed') === status ? [roundRecord(status)] : []),
      listDecisions: async () => options.decisions.map((d) => ({ ...d })),
      listExclusions: async () => options.exclusions ?? [],
    },
    dossiers: { listRoundDossiers: async () => (options.roundDossiers ?? options.decisions.map((d) => d.dossierNumber)).map((number) => ({ number }) as DossierRecord) },
    store,
    ds: options.ds,
    settings: options.settings ?? SETTINGS,
    clock: { now: () => new Date(Date.parse('2026-05-23T07:00:00Z') + (tick++) * 1000) },
  };
  return { deps, store };
}

const SAMPLE = () => [decision(101, 'selected'), decision(102, 'not_selected'), decision(103, 'waitlisted'), decision(104, 'selected')];

describe('writeBackDecisions', () => {
  it('refuses a round that is not closed, and a missing round', async () => {
    const ds = new FakeDs({ 101: 'en_construction' });
    await expect(writeBackDecisions({ roundId: ROUND, actor: 'schedule' }, setup({ status: 'reviewing', decisions: [decision(101, 'selected')], ds }).deps))
      .rejects.toMatchObject({ name: 'WriteBackRefusedError', reason: 'round_not_closed' });
    await expect(writeBackDecisions({ roundId: '2026-05', actor: 'schedule' }, setup({ decisions: [], ds }).deps)).rejects.toBeInstanceOf(WriteBackRefusedError);
    expect(ds.reads).toBe(0);
  });

  it('a dry run reads DS and plans, but sends nothing and writes nothing', async () => {
    const ds = new FakeDs({ 101: 'en_construction', 102: 'en_construction', 103: 'en_construction', 104: 'en_instruction' });
    const { deps, store } = setup({ decisions: SAMPLE(), ds });
    const result = await writeBackDecisions({ roundId: ROUND, dryRun: true, actor: 'staff:test' }, deps);
    expect(ds.sent).toEqual([]);
    expect(store.writes).toBe(0);
    expect(store.audits).toEqual([]);
    expect(result.dossiers.map((d) => [d.dossierNumber, d.action, names(d.mutations)])).toEqual([
      [101, 'planned', ['dossierPasserEnInstruction', 'dossierAccepter']],
      [102, 'planned', ['dossierPasserEnInstruction', 'dossierRefuser']],
      [103, 'planned', ['dossierPasserEnInstruction']],
      [104, 'planned', ['dossierAccepter']],
    ]);
  });

  it('brings every dossier to its final state, records and audits it; a rerun changes nothing', async () => {
    const ds = new FakeDs({ 101: 'en_construction', 102: 'en_construction', 103: 'en_construction', 104: 'en_instruction' });
    const { deps, store } = setup({ decisions: SAMPLE(), ds });
    const first = await writeBackDecisions({ roundId: ROUND, actor: 'schedule' }, deps);
    expect(Object.fromEntries(ds.states)).toEqual({ 101: 'accepte', 102: 'refuse', 103: 'en_instruction', 104: 'accepte' });
    expect(ds.motivations.get(102)).toContain('n\'a pas été retenu');
    expect(first.summary).toMatchObject({ decisions: 4, done: 4, failed: 0, skipped: 0, mutationsSent: 6 });
    expect(store.records.get(101)).toMatchObject({ status: 'done', dsState: 'accepte', runs: 1, errors: [] });
    expect(store.records.get(101)!.mutations.map((m) => m.name)).toEqual(['dossierPasserEnInstruction', 'dossierAccepter']);
    expect(store.audits).toHaveLength(1);

    const sentBefore = ds.sent.length;
    const again = await writeBackDecisions({ roundId: ROUND, actor: 'schedule' }, deps);
    expect(ds.sent.length).toBe(sentBefore);
    expect(again.dossiers.every((d) => d.action === 'skipped' && d.reason === 'already_done')).toBe(true);
    const rechecked = await writeBackDecisions({ roundId: ROUND, actor: 'schedule', recheck: true }, deps);
    expect(ds.sent.length).toBe(sentBefore);
    expect(rechecked.summary).toMatchObject({ done: 4, mutationsSent: 0 });
  });

  it('reports a DS refusal per dossier, does the others, and a rerun sends only what is left', async () => {
    const ds = new FakeDs({ 101: 'en_construction', 102: 'en_construction', 103: 'en_construction', 104: 'en_instruction' });
    ds.correctionPending.add(102);
    const { deps, store } = setup({ decisions: SAMPLE(), ds });
    const first = await writeBackDecisions({ roundId: ROUND, actor: 'schedule' }, deps);
    expect(first.summary).toMatchObject({ done: 3, failed: 1, mutationsRefused: 1 });
    const failed = first.dossiers.find((d) => d.dossierNumber === 102)!;
    expect(failed).toMatchObject({ action: 'failed', errors: ['Le dossier est en attente de correction'], stateAfter: 'en_construction' });
    expect(store.records.get(102)).toMatchObject({ status: 'failed', errors: ['Le dossier est en attente de correction'] });

    ds.correctionPending.delete(102);
    ds.sent = [];
    const second = await writeBackDecisions({ roundId: ROUND, actor: 'schedule' }, deps);
    expect(ds.sent.map((s) => [s.number, s.mutation.name])).toEqual([[102, 'dossierPasserEnInstruction'], [102, 'dossierRefuser']]);
    expect(second.summary).toMatchObject({ done: 1, failed: 0, skipped: 3 });
    expect(store.records.get(102)).toMatchObject({ status: 'done', runs: 2, dsState: 'refuse' });
    expect(store.records.get(102)!.mutations.map((m) => `${m.name}:${m.ok}`)).toEqual([
      'dossierPasserEnInstruction:false', 'dossierPasserEnInstruction:true', 'dossierRefuser:true',
    ]);
  });

  it('a dossier passed en instruction by an earlier run only gets its decision', async () => {
    const ds = new FakeDs({ 101: 'en_instruction' });
    const { deps } = setup({ decisions: [decision(101, 'not_selected')], ds });
    await writeBackDecisions({ roundId: ROUND, actor: 'schedule' }, deps);
    expect(ds.sent.map((s) => s.mutation.name)).toEqual(['dossierRefuser']);
  });

  it('skips excluded and withdrawn dossiers and those without a decision, with a reason', async () => {
    const ds = new FakeDs({ 101: 'en_construction', 102: 'en_construction', 103: 'sans_suite', 105: 'en_construction' });
    const exclusions: ExclusionRecord[] = [{ roundId: ROUND, dossierNumber: 102, excluded: true, reason: 'inéligible', actor: 'staff:x', at: '2026-04-01T00:00:00Z' }];
    const { deps } = setup({
      decisions: [decision(101, 'selected'), decision(102, 'not_selected'), decision(103, 'not_selected', { reasonCode: 'withdrawn' })], ds, exclusions, roundDossiers: [101, 102, 103, 105],
    });
    const result = await writeBackDecisions({ roundId: ROUND, actor: 'schedule' }, deps);
    expect(result.dossiers.map((d) => [d.dossierNumber, d.action, d.reason ?? null])).toEqual([
      [101, 'done', null], [102, 'skipped', 'excluded'], [103, 'skipped', 'withdrawn'], [105, 'skipped', 'no_decision'],
    ]);
    expect(ds.sent.every((s) => s.number === 101)).toBe(true);
  });

  it('never undoes a decision an instructeur took on DS: a conflict is reported', async () => {
    const ds = new FakeDs({ 101: 'accepte' });
    const { deps, store } = setup({ decisions: [decision(101, 'not_selected')], ds });
    const result = await writeBackDecisions({ roundId: ROUND, actor: 'schedule' }, deps);
    expect(result.dossiers[0]).toMatchObject({ action: 'failed', stateAfter: 'accepte' });
    expect(ds.sent).toEqual([]);
    expect(store.records.get(101)!.errors[0]).toMatch(/accepté on DS but the decision is not_selected/);
  });

  it('takes a mutation whose answer was lost (DS then says "déjà") as done when DS is where it leads', async () => {
    const ds = new FakeDs({ 101: 'en_instruction' });
    ds.lostAnswer.add(101);
    const { deps, store } = setup({ decisions: [decision(101, 'selected')], ds });
    const result = await writeBackDecisions({ roundId: ROUND, actor: 'schedule' }, deps);
    expect(result.dossiers[0]).toMatchObject({ action: 'done', stateAfter: 'accepte' });
    expect(store.records.get(101)).toMatchObject({ status: 'done' });
  });

  it('stops when DS is unavailable: that dossier failed, the rest not attempted, what was done stays done', async () => {
    const ds = new FakeDs({ 101: 'en_construction', 102: 'en_construction', 103: 'en_construction', 104: 'en_instruction' });
    ds.unavailableOnRead = 2;
    const { deps, store } = setup({ decisions: SAMPLE(), ds });
    const result = await writeBackDecisions({ roundId: ROUND, actor: 'schedule' }, deps);
    expect(result.dossiers.map((d) => d.action)).toEqual(['done', 'failed', 'not_attempted', 'not_attempted']);
    expect(result.summary.stoppedEarly).toBe('ds_unavailable');
    expect(store.records.get(102)).toMatchObject({ status: 'failed' });
    expect(store.records.has(103)).toBe(false);
  });

  it('stops between two dossiers past its deadline', async () => {
    const ds = new FakeDs({ 101: 'en_construction', 102: 'en_construction' });
    const { deps } = setup({ decisions: [decision(101, 'selected'), decision(102, 'selected')], ds });
    const result = await writeBackDecisions({ roundId: ROUND, actor: 'schedule', deadline: new Date('2026-05-23T07:00:00Z') }, deps);
    expect(result.dossiers.map((d) => d.action)).toEqual(['not_attempted', 'not_attempted']);
    expect(result.summary.stoppedEarly).toBe('deadline');
  });

  it('without a round, takes the latest closed one', async () => {
    const ds = new FakeDs({ 101: 'en_instruction' });
    const result = await writeBackDecisions({ actor: 'schedule' }, setup({ decisions: [decision(101, 'waitlisted')], ds }).deps);
    expect(result.roundId).toBe(ROUND);
  });
});

describe('DS adapter', () => {
  it('paces requests under 400 a minute (token bucket)', async () => {
    let now = 0;
    const bucket = new TokenBucket(380, 10, () => now, async (ms) => { now += ms; });
    const instants: number[] = [];
    for (let i = 0; i < 800; i++) {
      await bucket.take();
      instants.push(now);
    }
    // No 60-second window holds more than 400 requests.
    let max = 0;
    for (let i = 0, j = 0; i < instants.length; i++) {
      while (instants[i]! - instants[j]! >= 60_000) j++;
      max = Math.max(max, i - j + 1);
    }
    expect(max).toBeLessThanOrEqual(400);
    expect(instants[9]).toBe(0);
  });

  it('sends Relay-style mutations with global ids, and reads DS\'s errors as a refusal', async () => {
    const bodies: any[] = [];
    const answers = [
      { data: { dossierRefuser: { dossier: { id: 'x', state: 'refuse', motivation: 'm' }, errors: null } } },
      { data: { dossierAccepter: { dossier: null, errors: [{ message: 'Le dossier est déjà refusé' }] } } },
      { data: { dossier: { id: 'RG9zc2llci0x', number: 1, state: 'en_instruction', motivation: null, annotations: [{ id: 'a', stringValue: '4' }] } } },
    ];
    const fetch = (async (_url: string, init: RequestInit) => {
      bodies.push(JSON.parse(String(init.body)));
      return new Response(JSON.stringify(answers.shift()), { status: 200, headers: { 'content-type': 'application/json' } });
    }) as typeof globalThis.fetch;
    const ds = new DsMutations({ url: 'http://ds.test/api/v2/graphql', token: 't', instructeurId: 'SW5zdHJ1Y3RldXItMQ==', fetch });
    expect(await ds.send('RG9zc2llci0x', { name: 'dossierRefuser', motivation: 'Non retenu' })).toEqual({ ok: true, state: 'refuse' });
    expect(await ds.send('RG9zc2llci0x', { name: 'dossierAccepter', motivation: 'Retenu' })).toEqual({ ok: false, errors: ['Le dossier est déjà refusé'] });
    expect(await ds.readDossier(1)).toEqual({ id: 'RG9zc2llci0x', number: 1, state: 'en_instruction', motivation: null, annotations: { a: '4' } });
    expect(bodies[0]).toMatchObject({
      operationName: 'dossierRefuser',
      variables: { input: { dossierId: 'RG9zc2llci0x', instructeurId: 'SW5zdHJ1Y3RldXItMQ==', motivation: 'Non retenu' } },
    });
    expect(bodies[0].query).toMatch(/mutation dossierRefuser\(\$input: DossierRefuserInput!\) \{\s+dossierRefuser\(input: \$input\) \{ dossier \{ id state motivation \} errors \{ message \} \}/);
    expect(mutationRequest('D', 'I', { name: 'dossierModifierAnnotations', annotations: [{ id: 'a', value: { integerNumber: 2 } }] }).variables)
      .toEqual({ input: { dossierId: 'D', instructeurId: 'I', annotations: [{ id: 'a', value: { integerNumber: 2 } }] } });
  });
});
