import type { DecisionOutcome } from '../rounds/model.ts';

/**
 * Decisions written back to DS (issue 8, point 2): the DS side of a dossier as the use case
 * sees it, the mutations it may send, and the record it keeps per dossier. Pure types.
 */

/** DS's `DossierState` (schema.graphql). The last three are final: only an instructeur's `repasser en instruction` undoes them. */
export const DS_STATES = ['en_construction', 'en_instruction', 'accepte', 'refuse', 'sans_suite'] as const;
export type DsState = (typeof DS_STATES)[number];

/** One value of `DossierModifierAnnotationsInput.annotations[].value` (a `@oneOf` input: exactly one key). */
export type AnnotationValue = { integerNumber: number } | { decimalNumber: number } | { text: string };

/** The mutations write-back sends, by their DS name. Each is Relay style: `input`, payload `{ ..., errors { message } }`. */
export type WriteBackMutation =
  /** Only from `en_construction` (and not while a correction is pending). */
  | { name: 'dossierPasserEnInstruction' }
  /** Only from `en_instruction`; `motivation` optional on DS, always sent here. */
  | { name: 'dossierAccepter'; motivation: string }
  /** Only from `en_instruction`; `motivation` required. */
  | { name: 'dossierRefuser'; motivation: string }
  /** Private annotations, in any state. */
  | { name: 'dossierModifierAnnotations'; annotations: { id: string; value: AnnotationValue }[] };
export type WriteBackMutationName = WriteBackMutation['name'];

/** The DS state a state mutation leads to (annotations change no state). */
export const TARGET_STATE: Readonly<Record<WriteBackMutationName, DsState | null>> = {
  dossierPasserEnInstruction: 'en_instruction',
  dossierAccepter: 'accepte',
  dossierRefuser: 'refuse',
  dossierModifierAnnotations: null,
};

/** What DS says of a dossier now: read first, so that a rerun does only what is left. */
export interface DsDossierView {
  /** The GraphQL id (base64 of `Dossier-<n>`): the mutations take it, not the number. */
  id: string;
  number: number;
  state: DsState;
  motivation: string | null;
  /** Private annotations: champ id -> `stringValue`. */
  annotations: Record<string, string | null>;
}

/** DS's answer to one mutation: accepted, or refused with its `errors { message }`. */
export type MutationOutcome = { ok: true; state?: DsState } | { ok: false; errors: string[] };

/** One mutation sent, as the record keeps it (no motivation text, no annotation values: the settings and the decision say them). */
export interface SentMutation {
  name: WriteBackMutationName;
  ok: boolean;
  at: string;
  /** DS's messages when it refused. */
  errors?: string[];
}

export type WriteBackStatus = 'done' | 'failed';

/** `ROUND#<id>` / `WRITEBACK#<dossier padded>`: where a dossier's write-back stands (docs/data-model.md). */
export interface WriteBackRecord {
  roundId: string;
  dossierNumber: number;
  outcome: DecisionOutcome;
  status: WriteBackStatus;
  /** Every mutation sent for this dossier, over every run, in order. */
  mutations: SentMutation[];
  /** Why the last run failed (DS's messages, or a conflict with the state on DS); empty when done. */
  errors: string[];
  /** The DS state after the last run (null when DS did not return the dossier). */
  dsState: DsState | null;
  /** How many runs worked on it. */
  runs: number;
  updatedAt: string;
  /** `schedule` or `staff:<name>`. */
  actor: string;
}

/** Why a dossier of the round was left alone. */
export type SkipReason =
  /** Staff took it out of the round (`dossiers exclude`): the programme handles it by hand. */
  | 'excluded'
  /** Withdrawn on DS (sans suite, deleted) after the review started: nothing to decide on DS. */
  | 'withdrawn'
  /** In the round but without a decision (never assigned: invalid when submissions closed). */
  | 'no_decision'
  /** Written back by an earlier run (its record is `done`); `recheck` reads DS again instead. */
  | 'already_done';

/** What one run did (or, dry, would do) for one dossier. */
export interface DossierWriteBack {
  dossierNumber: number;
  outcome: DecisionOutcome | null;
  /**
   * `done`: DS is now as decided (`mutations` says what it took; none when it already was);
   * `failed`: DS refused a mutation, or its state conflicts with the decision (`errors`);
   * `skipped` (`reason`); `planned`: a dry run's plan; `not_attempted`: the run stopped before it.
   */
  action: 'done' | 'failed' | 'skipped' | 'planned' | 'not_attempted';
  reason?: SkipReason;
  /** DS's state when read, and after the run. */
  stateBefore?: DsState | null;
  stateAfter?: DsState | null;
  /** The GraphQL id of the dossier (a dry run prints each mutation with it). */
  dossierId?: string;
  /** Planned (dry run) or sent, in order. */
  mutations: WriteBackMutation[];
  /** Sent this run, with DS's verdict. */
  sent?: SentMutation[];
  errors?: string[];
}
