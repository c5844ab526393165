import type { WriteBackSettings } from '#schemas/write-back';
import { DsAuthorizationError, DsUnavailableError } from '../errors.ts';
import type { Clock } from '../ports.ts';
import type { DecisionRecord, RoundRecord } from '../rounds/model.ts';
import type { RoundDossiers, RoundRepository } from '../rounds/ports.ts';
import {
  TARGET_STATE, type DossierWriteBack, type DsDossierView, type MutationOutcome, type SentMutation, type WriteBackMutation, type WriteBackRecord,
} from './model.ts';
import { planWriteBack } from './plan.ts';

/**
 * Writes a closed round's decisions back to DS (docs/deploy.md section 16; the state rules: plan.ts):
 * `selected` accepted, `not_selected` refused (each with its motivation, which DS mails to the
 * applicant), `waitlisted` en instruction; optionally the score and rank in private annotations.
 *
 * Idempotent: each dossier is read from DS first and only what is left is sent; a dossier whose
 * record is `done` is not read again (unless `recheck`). Each dossier's outcome is recorded
 * (`WRITEBACK#<dossier>`) and the run audited (counts). A DS refusal fails that dossier only; DS
 * unavailable (after the client's retries) stops the run, an unusable token fails it.
 */

export interface WriteBackRequest {
  roundId?: string;
  /** Read DS and return the plan; send nothing, write nothing. */
  dryRun?: boolean;
  /** Read DS again for dossiers already `done`. */
  recheck?: boolean;
  actor: string;
  /** Stop between two dossiers after this instant (a Lambda's deadline); the rest waits for the next run. */
  deadline?: Date;
}

/** The DS side: reads and mutations, paced to DS's rate by the adapter. */
export interface DsDecisionWriter {
  /** The dossier now, or undefined when DS does not return it. */
  readDossier(number: number): Promise<DsDossierView | undefined>;
  /** Sends one mutation. DS's `errors` come back as `ok: false`; a token refused or DS down throw. */
  send(dossierId: string, mutation: WriteBackMutation): Promise<MutationOutcome>;
}

export interface WriteBackStore {
  listWriteBacks(roundId: string): Promise<WriteBackRecord[]>;
  putWriteBack(record: WriteBackRecord): Promise<void>;
  /** The run's audit record under the round (`AUDIT#<at>#write-back`): counts only. */
  putWriteBackAudit(record: { roundId: string; at: string; actor: string; summary: Record<string, number | string | boolean> }): Promise<void>;
}

export interface WriteBackDependencies {
  rounds: Pick<RoundRepository, 'getRound' | 'listRoundsByStatus' | 'listDecisions' | 'listExclusions'>;
  dossiers: RoundDossiers;
  store: WriteBackStore;
  ds: DsDecisionWriter;
  settings: WriteBackSettings;
  clock: Clock;
}

export interface WriteBackResult {
  roundId: string;
  dryRun: boolean;
  dossiers: DossierWriteBack[];
  /** Counts by action, and `stoppedEarly` with its cause when the run did not reach every dossier. */
  summary: Record<string, number | string | boolean>;
}

export class WriteBackRefusedError extends Error {
  override name = 'WriteBackRefusedError';
  constructor(message: string, readonly reason: 'no_round' | 'round_not_closed', readonly roundId: string | null) {
    super(message);
  }
}

/** A run that left dossiers failed or not attempted: what is left is for the next run (a rerun sends only that). */
export class WriteBackIncompleteError extends Error {
  override name = 'WriteBackIncompleteError';
}

/** Stop between two dossiers this long before the Lambda's deadline: a dossier takes at most a few DS calls. */
export const DEADLINE_MARGIN_MS = 60_000;

/** The `deadline` of a run that has `remainingMs` left at `now` (unknown or zero: no deadline). */
export function writeBackDeadline(remainingMs: number | undefined, now: Date): Date | undefined {
  return remainingMs ? new Date(now.getTime() + remainingMs - DEADLINE_MARGIN_MS) : undefined;
}

/**
 * The error a real run ends with when a dossier failed (DS refused it, or its state there
 * conflicts) or was not attempted (deadline, DS unavailable), once the others are done; undefined
 * when it wrote everything, and for a dry run. Failing the run has Lambda retry it, then the
 * schedules' dead-letter queue and its alarm see it.
 */
export function incompleteWriteBackError(result: WriteBackResult): WriteBackIncompleteError | undefined {
  const failed = Number(result.summary.failed ?? 0);
  const left = Number(result.summary.not_attempted ?? 0);
  if (result.dryRun || !(failed > 0 || left > 0)) return undefined;
  return new WriteBackIncompleteError(`write-back of round ${result.roundId}: ${failed} dossier(s) failed, ${left} not attempted `
    + `(${String(result.summary.stoppedEarly ?? 'DS refused or conflicts')}); see the WRITEBACK# records or \`ds-selection rounds write-back --round ${result.roundId} --dry-run\`, fix, run again`);
}

export async function writeBackDecisions(request: WriteBackRequest, deps: WriteBackDependencies): Promise<WriteBackResult> {
  const round = await resolveClosedRound(deps, request.roundId);
  const dryRun = request.dryRun === true;
  const [decisions, exclusions, roundDossiers, records] = await Promise.all([
    deps.rounds.listDecisions(round.id), deps.rounds.listExclusions(round.id), deps.dossiers.listRoundDossiers(round.id), deps.store.listWriteBacks(round.id),
  ]);
  const excluded = new Set(exclusions.filter((e) => e.excluded).map((e) => e.dossierNumber));
  const recordOf = new Map(records.map((r) => [r.dossierNumber, r]));
  const decided = new Set(decisions.map((d) => d.dossierNumber));
  const results: DossierWriteBack[] = [];
  const todo: DecisionRecord[] = [];

  for (const decision of [...decisions].sort((a, b) => a.dossierNumber - b.dossierNumber)) {
    const skip = (reason: DossierWriteBack['reason']) => results.push({ dossierNumber: decision.dossierNumber, outcome: decision.outcome, action: 'skipped', reason, mutations: [] });
    if (decision.reasonCode === 'excluded' || excluded.has(decision.dossierNumber)) skip('excluded');
    else if (decision.reasonCode === 'withdrawn') skip('withdrawn');
    else if (recordOf.get(decision.dossierNumber)?.status === 'done' && request.recheck !== true) skip('already_done');
    else todo.push(decision);
  }
  for (const dossier of roundDossiers) {
    if (!decided.has(dossier.number)) results.push({ dossierNumber: dossier.number, outcome: null, action: 'skipped', reason: 'no_decision', mutations: [] });
  }

  let stoppedEarly: string | null = null;
  for (const decision of todo) {
    if (stoppedEarly === null && request.deadline && deps.clock.now() >= request.deadline) stoppedEarly = 'deadline';
    if (stoppedEarly !== null) {
      results.push({ dossierNumber: decision.dossierNumber, outcome: decision.outcome, action: 'not_attempted', mutations: [] });
      continue;
    }
    try {
      results.push(await writeOne(decision, recordOf.get(decision.dossierNumber), request, deps, dryRun));
    } catch (error) {
      if (error instanceof DsAuthorizationError || !(error instanceof DsUnavailableError)) throw error;
      // DS is down (the client retried already): what is left waits for the next run.
      stoppedEarly = 'ds_unavailable';
      const message = `DS unavailable: ${error.message}`;
      if (!dryRun) await deps.store.putWriteBack(recordAfter(decision, recordOf.get(decision.dossierNumber), request, deps, [], [message], null));
      results.push({ dossierNumber: decision.dossierNumber, outcome: decision.outcome, action: 'failed', mutations: [], errors: [message] });
    }
  }

  results.sort((a, b) => a.dossierNumber - b.dossierNumber);
  const summary: WriteBackResult['summary'] = { decisions: decisions.length };
  for (const action of ['done', 'failed', 'skipped', 'planned', 'not_attempted'] as const) summary[action] = results.filter((r) => r.action === action).length;
  summary.mutationsSent = results.reduce((n, r) => n + (r.sent?.length ?? 0), 0);
  summary.mutationsRefused = results.reduce((n, r) => n + (r.sent?.filter((m) => !m.ok).length ?? 0), 0);
  if (stoppedEarly) summary.stoppedEarly = stoppedEarly;
  if (!dryRun) await deps.store.putWriteBackAudit({ roundId: round.id, at: deps.clock.now().toISOString(), actor: request.actor, summary });
  return { roundId: round.id, dryRun, dossiers: results, summary };
}

/** The round asked for, or the latest closed one; refused unless it is closed. */
async function resolveClosedRound(deps: WriteBackDependencies, roundId: string | undefined): Promise<RoundRecord> {
  if (roundId === undefined) {
    const closed = await deps.rounds.listRoundsByStatus('closed');
    const latest = closed.at(-1);
    if (!latest) throw new WriteBackRefusedError('no round is closed: nothing to write back', 'no_round', null);
    return latest;
  }
  const round = await deps.rounds.getRound(roundId);
  if (!round) throw new WriteBackRefusedError(`round ${roundId} does not exist`, 'no_round', roundId);
  if (round.status !== 'closed') {
    throw new WriteBackRefusedError(`round ${roundId} is ${round.status}: decisions are written back once its selection is closed`, 'round_not_closed', roundId);
  }
  return round;
}

async function writeOne(
  decision: DecisionRecord, previous: WriteBackRecord | undefined, request: WriteBackRequest, deps: WriteBackDependencies, dryRun: boolean,
): Promise<DossierWriteBack> {
  const base = { dossierNumber: decision.dossierNumber, outcome: decision.outcome };
  const view = await deps.ds.readDossier(decision.dossierNumber);
  if (!view) {
    const errors = ['DS does not return this dossier (deleted, or not visible to the token)'];
    if (!dryRun) await deps.store.putWriteBack(recordAfter(decision, previous, request, deps, [], errors, null));
    return { ...base, action: 'failed', stateBefore: null, mutations: [], errors };
  }
  const plan = planWriteBack(decision, view, deps.settings);
  const described = { ...base, dossierId: view.id, stateBefore: view.state };
  if (plan.kind === 'conflict') {
    if (!dryRun) await deps.store.putWriteBack(recordAfter(decision, previous, request, deps, [], [plan.message], view.state));
    return { ...described, action: 'failed', stateAfter: view.state, mutations: [], errors: [plan.message] };
  }
  if (dryRun) return { ...described, action: 'planned', mutations: plan.mutations };

  const sent: SentMutation[] = [];
  let state = view.state;
  let errors: string[] = [];
  for (const mutation of plan.mutations) {
    const at = deps.clock.now().toISOString();
    const outcome = await deps.ds.send(view.id, mutation);
    if (outcome.ok) {
      sent.push({ name: mutation.name, ok: true, at });
      state = outcome.state ?? TARGET_STATE[mutation.name] ?? state;
      continue;
    }
    // A mutation the client retried after a lost answer may have been applied: DS then refuses the
    // replay ("déjà ..."). Read again: if DS is where the mutation leads, it is done.
    const target = TARGET_STATE[mutation.name];
    const now = target ? await deps.ds.readDossier(decision.dossierNumber) : undefined;
    if (target && now?.state === target) {
      sent.push({ name: mutation.name, ok: true, at });
      state = target;
      continue;
    }
    sent.push({ name: mutation.name, ok: false, at, errors: outcome.errors });
    errors = outcome.errors.length > 0 ? outcome.errors : [`DS refused ${mutation.name} without a message`];
    if (now) state = now.state;
    break;
  }
  await deps.store.putWriteBack(recordAfter(decision, previous, request, deps, sent, errors, state));
  return { ...described, action: errors.length === 0 ? 'done' : 'failed', stateAfter: state, mutations: plan.mutations, sent, ...(errors.length ? { errors } : {}) };
}

function recordAfter(
  decision: DecisionRecord, previous: WriteBackRecord | undefined, request: WriteBackRequest, deps: WriteBackDependencies,
  sent: SentMutation[], errors: string[], dsState: WriteBackRecord['dsState'],
): WriteBackRecord {
  return {
    roundId: decision.roundId,
    dossierNumber: decision.dossierNumber,
    outcome: decision.outcome,
    status: errors.length === 0 ? 'done' : 'failed',
    mutations: [...(previous?.mutations ?? []), ...sent],
    errors,
    dsState,
    runs: (previous?.runs ?? 0) + 1,
    updatedAt: deps.clock.now().toISOString(),
    actor: request.actor,
  };
}
