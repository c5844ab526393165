import type { WriteBackSettings } from '#schemas/write-back';
import type { DecisionOutcome, DecisionRecord } from '../rounds/model.ts';
import type { AnnotationValue, DsDossierView, DsState, WriteBackMutation } from './model.ts';

/**
 * What one decision sends from each DS state (DS's state machine, app/models/dossier.rb and the
 * mutations' `authorized?`: passer en instruction only from en_construction; accepter, refuser
 * and classer sans suite only from en_instruction):
 *
 * | outcome      | en_construction          | en_instruction | accepte  | refuse   | sans_suite |
 * |--------------|--------------------------|----------------|----------|----------|------------|
 * | selected     | passer, accepter         | accepter       | done     | conflict | conflict   |
 * | not_selected | passer, refuser          | refuser        | conflict | done     | done       |
 * | waitlisted   | passer                   | done           | conflict | conflict | conflict   |
 *
 * A final state that contradicts the decision is never undone here: an instructeur decided on
 * DS, and only a person should `repasser en instruction`. The annotations (score, rank) follow
 * when configured, unless DS holds the same value already.
 */

export type WriteBackPlan =
  | { kind: 'mutations'; mutations: WriteBackMutation[] }
  | { kind: 'conflict'; message: string };

const STATE_LABELS: Readonly<Record<DsState, string>> = {
  en_construction: 'en construction',
  en_instruction: 'en instruction',
  accepte: 'accepté',
  refuse: 'refusé',
  sans_suite: 'classé sans suite',
};

/** What the decision's outcome asks of DS: the final state(s) it accepts and the decisive mutation. */
const WANTED: Readonly<Record<DecisionOutcome, { done: readonly DsState[]; decide: 'accepter' | 'refuser' | null }>> = {
  selected: { done: ['accepte'], decide: 'accepter' },
  not_selected: { done: ['refuse', 'sans_suite'], decide: 'refuser' },
  waitlisted: { done: ['en_instruction'], decide: null },
};

export interface MotivationContext {
  roundId: string;
  dossierNumber: number;
}

const MONTHS = ['janvier', 'février', 'mars', 'avril', 'mai', 'juin', 'juillet', 'août', 'septembre', 'octobre', 'novembre', 'décembre'];

/** `2026-03` -> `mars-avril 2026`: a round covers its opening month and the next. */
export function sessionLabel(roundId: string): string {
  const [year, month] = roundId.split('-').map(Number) as [number, number];
  if (!year || !month || month < 1 || month > 12) return roundId;
  const next = month === 12 ? `janvier ${year + 1}` : `${MONTHS[month]} ${year}`;
  return month === 12 ? `${MONTHS[11]} ${year}-${next}` : `${MONTHS[month - 1]}-${next}`;
}

/** The motivation with its placeholders filled in ({round}, {session}, {dossier}). */
export function motivationText(template: string, context: MotivationContext): string {
  const values: Record<string, string> = { round: context.roundId, session: sessionLabel(context.roundId), dossier: String(context.dossierNumber) };
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole);
}

/** The mutations that bring DS to the decision, from the state DS is in (see the table above). */
export function planWriteBack(decision: DecisionRecord, view: DsDossierView, settings: WriteBackSettings): WriteBackPlan {
  const wanted = WANTED[decision.outcome];
  const context = { roundId: decision.roundId, dossierNumber: decision.dossierNumber };
  const mutations: WriteBackMutation[] = [];
  if (!wanted.done.includes(view.state)) {
    if (view.state !== 'en_construction' && view.state !== 'en_instruction') {
      return {
        kind: 'conflict',
        message: `the dossier is ${STATE_LABELS[view.state]} on DS but the decision is ${decision.outcome}: `
          + 'an instructeur decided on DS; to write this decision, pass it back en instruction on DS by hand, then run write-back again',
      };
    }
    if (view.state === 'en_construction') mutations.push({ name: 'dossierPasserEnInstruction' });
    if (wanted.decide === 'accepter') mutations.push({ name: 'dossierAccepter', motivation: motivationText(settings.motivations.selected, context) });
    if (wanted.decide === 'refuser') mutations.push({ name: 'dossierRefuser', motivation: motivationText(settings.motivations.not_selected, context) });
  }
  const annotations = annotationsToWrite(decision, view, settings);
  if (annotations.length > 0) mutations.push({ name: 'dossierModifierAnnotations', annotations });
  return { kind: 'mutations', mutations };
}

/** The configured annotations whose value DS does not hold yet. */
export function annotationsToWrite(decision: Pick<DecisionRecord, 'score' | 'rank'>, view: Pick<DsDossierView, 'annotations'>, settings: WriteBackSettings) {
  const wanted: { id: string; value: AnnotationValue; number: number }[] = [];
  const { score, rank } = settings.annotations ?? {};
  if (score && decision.score !== null) wanted.push({ id: score, value: { decimalNumber: decision.score }, number: decision.score });
  if (rank && decision.rank !== null) wanted.push({ id: rank, value: { integerNumber: decision.rank }, number: decision.rank });
  return wanted.filter((annotation) => !sameNumber(view.annotations[annotation.id], annotation.number)).map(({ id, value }) => ({ id, value }));
}

/** DS's `stringValue` of a number champ ("3.75", "3,75", "12") against the value we would write. */
function sameNumber(stringValue: string | null | undefined, value: number): boolean {
  if (stringValue === null || stringValue === undefined || stringValue.trim() === '') return false;
  const parsed = Number(stringValue.trim().replace(',', '.'));
  return Number.isFinite(parsed) && Math.abs(parsed - value) < 1e-9;
}
