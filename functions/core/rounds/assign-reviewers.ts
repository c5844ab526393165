import { DEFAULT_JURY_CONFIG, type JuryConfig } from '#schemas/jury';
import type { College } from '#schemas/rounds';
import { isReviewable, type DossierRecord } from '../dossier.ts';
import type { ReviewerRecord } from './model.ts';

/**
 * Who reviews what (docs/jury.md): deterministic (the same inputs give the same pairs, whatever
 * their order), a balanced jury (each dossier's reviewers from distinct colleges whenever its
 * eligible reviewers allow), balanced loads (the least-loaded eligible reviewers, ties by id), and
 * never a reviewer in conflict with the dossier (conflictOf), nor an inactive or suppressed one.
 */

// Which dossiers are reviewed is the dossier's business (core/dossier.ts); re-exported for the round steps.
export { isReviewable, REVIEWABLE_STATUSES } from '../dossier.ts';

/** A reviewer who may be given dossiers (and mailed). */
export function canReceiveAssignments(reviewer: ReviewerRecord): boolean {
  return reviewer.active && !reviewer.suppressed;
}

/* ---- conflicts ---- */

/**
 * Why a reviewer may not review a dossier:
 * - `siret`: the administration's SIRET is in the reviewer's declared `conflicts`;
 * - `siren`: a declared SIRET has the same SIREN (its first 9 digits): another establishment of
 *   the same organisation (a ministry's services share the ministry's SIREN);
 * - `email_domain`: the reviewer's email domain is the domain of one of the dossier's contacts or
 *   team members (when `emailDomainConflicts` is on, domains of `ignoredDomains` excepted).
 */
export type ConflictKind = 'siret' | 'siren' | 'email_domain';

/** The domain of an address, lower case, or undefined when it has none. Compared whole (docs/jury.md). */
export function emailDomain(address: unknown): string | undefined {
  if (typeof address !== 'string') return undefined;
  const at = address.lastIndexOf('@');
  const domain = address.slice(at + 1).trim().toLowerCase().replace(/\.$/, '');
  return at < 0 || domain === '' ? undefined : domain;
}

const SIRET = /^\d{14}$/;
const sirenOf = (siret: string) => siret.slice(0, 9);

// The ignored domains as a set, built once per configuration object (the assignment checks 80,000 pairs).
const ignoredSets = new WeakMap<JuryConfig, ReadonlySet<string>>();
function ignoredDomains(jury: JuryConfig): ReadonlySet<string> {
  let set = ignoredSets.get(jury);
  if (!set) ignoredSets.set(jury, (set = new Set(jury.ignoredDomains.map((d) => d.trim().toLowerCase()))));
  return set;
}

/** What a conflict is decided on, on the reviewer's side: computed once per reviewer. */
interface ReviewerFacts {
  sirets: ReadonlySet<string>;
  sirens: ReadonlySet<string>;
  /** Undefined when domain conflicts are off or the domain is ignored. */
  domain: string | undefined;
}

/** What a conflict is decided on, on the dossier's side: computed once per dossier. */
interface DossierFacts {
  siret: string | undefined;
  siren: string | undefined;
  /** The contacts' and team members' domains (ignored ones left out); empty when domain conflicts are off. */
  domains: ReadonlySet<string>;
}

function reviewerFacts(reviewer: Pick<ReviewerRecord, 'conflicts' | 'email'>, jury: JuryConfig): ReviewerFacts {
  const sirets = new Set(reviewer.conflicts);
  const domain = jury.emailDomainConflicts ? emailDomain(reviewer.email) : undefined;
  return {
    sirets,
    sirens: new Set([...sirets].filter((s) => SIRET.test(s)).map(sirenOf)),
    domain: domain !== undefined && !ignoredDomains(jury).has(domain) ? domain : undefined,
  };
}

function dossierFacts(dossier: Pick<DossierRecord, 'project'>, jury: JuryConfig): DossierFacts {
  const project = dossier.project;
  const siret = project?.administration?.siret;
  const domains = new Set<string>();
  if (jury.emailDomainConflicts && project) {
    // The project may be partial (an invalid dossier): take what is there.
    const addresses = [...(project.contactEmails ?? []), ...(project.team ?? []).map((member) => member?.email)];
    const ignored = ignoredDomains(jury);
    for (const address of addresses) {
      const domain = emailDomain(address);
      if (domain !== undefined && !ignored.has(domain)) domains.add(domain);
    }
  }
  return { siret, siren: siret !== undefined && SIRET.test(siret) ? sirenOf(siret) : undefined, domains };
}

function conflictBetween(reviewer: ReviewerFacts, dossier: DossierFacts): ConflictKind | undefined {
  if (dossier.siret !== undefined && reviewer.sirets.has(dossier.siret)) return 'siret';
  if (dossier.siren !== undefined && reviewer.sirens.has(dossier.siren)) return 'siren';
  if (reviewer.domain !== undefined && dossier.domains.has(reviewer.domain)) return 'email_domain';
  return undefined;
}

/**
 * The conflict between a reviewer and a dossier, if any: the one rule of the assignment and of
 * the replacement after a declared conflict. Never logged as such (a domain is personal data).
 */
export function conflictOf(
  reviewer: Pick<ReviewerRecord, 'conflicts' | 'email'>,
  dossier: Pick<DossierRecord, 'project'>,
  jury: JuryConfig = DEFAULT_JURY_CONFIG,
): ConflictKind | undefined {
  return conflictBetween(reviewerFacts(reviewer, jury), dossierFacts(dossier, jury));
}

/** True when the reviewer may not review the dossier (conflictOf). */
export function hasConflictWith(
  reviewer: Pick<ReviewerRecord, 'conflicts' | 'email'>,
  dossier: Pick<DossierRecord, 'project'>,
  jury: JuryConfig = DEFAULT_JURY_CONFIG,
): boolean {
  return conflictOf(reviewer, dossier, jury) !== undefined;
}

/* ---- colleges ---- */

/**
 * The college a reviewer counts in: theirs, or, without one (imported before colleges), a college
 * of their own, so a committee without colleges is assigned exactly as before they existed and
 * a reviewer without college never makes a dossier's colleges "repeat".
 */
const collegeKey = (reviewer: Pick<ReviewerRecord, 'id' | 'college'> | undefined, id: string): string =>
  reviewer?.college ?? `reviewer:${id}`;

/* ---- replacement ---- */

export interface ReplacementOptions {
  jury?: JuryConfig;
  /**
   * Reviewers of the dossier who withdrew (the one declaring the conflict now): their college no
   * longer counts on the dossier, so a researcher who withdraws is replaced by a researcher when
   * one is eligible. Reviewers already replaced (`replaces` of a pair) count as withdrawn too.
   */
  withdrawn?: Iterable<string>;
}

/**
 * The replacement of a reviewer who declared a conflict of interest with `dossier` during review:
 * the same rules as the assignment (active, not suppressed, not already on the dossier, no
 * conflict: conflictOf), from a college not already among the dossier's remaining reviewers when
 * one is eligible, then the least loaded in the round, ties by id.
 * Deterministic; undefined when nobody is eligible.
 */
export function chooseReplacement(
  dossier: Pick<DossierRecord, 'number' | 'project'>,
  reviewers: readonly ReviewerRecord[],
  roundAssignments: readonly (AssignmentPair & { replaces?: string })[],
  options: ReplacementOptions = {},
): ReviewerRecord | undefined {
  const jury = options.jury ?? DEFAULT_JURY_CONFIG;
  const onDossier = roundAssignments.filter((a) => a.dossierNumber === dossier.number);
  const withdrawn = new Set([...(options.withdrawn ?? []), ...onDossier.flatMap((a) => (a.replaces ? [a.replaces] : []))]);
  const byIdMap = new Map(reviewers.map((r) => [r.id, r]));
  const ids = new Set(onDossier.map((a) => a.reviewerId));
  const present = new Set([...ids].filter((id) => !withdrawn.has(id)).map((id) => collegeKey(byIdMap.get(id), id)));
  const load = new Map<string, number>();
  for (const a of roundAssignments) load.set(a.reviewerId, (load.get(a.reviewerId) ?? 0) + 1);
  const facts = dossierFacts(dossier, jury);
  const rank = (r: ReviewerRecord) => (present.has(collegeKey(r, r.id)) ? 1 : 0);
  return reviewers
    .filter((r) => canReceiveAssignments(r) && !ids.has(r.id) && conflictBetween(reviewerFacts(r, jury), facts) === undefined)
    .sort((a, b) => rank(a) - rank(b) || (load.get(a.id) ?? 0) - (load.get(b.id) ?? 0) || byId(a, b))[0];
}

/* ---- assignment ---- */

export interface AssignmentPair {
  dossierNumber: number;
  reviewerId: string;
}

export interface Shortfall {
  dossierNumber: number;
  /** Reviewers the dossier has (earlier assignments included). */
  assigned: number;
  wanted: number;
}

/**
 * A dossier whose reviewers are not all of distinct colleges, because its eligible reviewers
 * (after conflicts) span too few colleges. Colleges only: never who.
 */
export interface CollegeShortfall {
  dossierNumber: number;
  /** The colleges of its reviewers, sorted, one entry per reviewer; null for a reviewer without college. */
  colleges: (College | null)[];
}

export interface AssignmentPlan {
  /** The new pairs, by dossier number then reviewer id; earlier assignments are not repeated. */
  assignments: AssignmentPair[];
  /** Dossiers that could not get `wanted` reviewers (too few eligible ones). */
  shortfalls: Shortfall[];
  /** Dossiers whose reviewers share a college, by dossier number (docs/jury.md). */
  collegeShortfalls: CollegeShortfall[];
}

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const collegeOrder = (a: College | null, b: College | null) => (a === b ? 0 : a === null ? 1 : b === null ? -1 : a < b ? -1 : 1);

/**
 * For each reviewable dossier (by number), fills its missing places one at a time: among the
 * eligible reviewers (active, not on it, no conflict), those of a college not yet on the dossier
 * first, then the least loaded (bestCandidate). Each dossier scans the committee once for
 * conflicts and each place its candidates: O(dossiers × reviewersPerDossier × reviewers), no sort
 * per dossier; 2,000 dossiers × 40 reviewers take some 30 to 60 ms warm
 * (test/unit/rounds-assign-scale.test.ts).
 *
 * The college rule comes before the loads: with 3 reviewers per dossier and 3 colleges, every
 * college takes one place on every dossier, so loads are even within a college (within one) but
 * a smaller college's members carry more dossiers than a larger one's. With fewer places than
 * colleges the least loaded are taken across colleges, and loads stay within one overall as long
 * as no college holds more than reviewers / reviewersPerDossier people. docs/jury.md.
 *
 * @param existing assignments already stored for the round (a re-run after a crash): they are
 *   kept, count in the loads, towards each dossier's reviewers and its colleges, so a re-run converges.
 * @param jury the conflict rules (schemas/jury-config.json); the defaults when absent.
 */
export function assignReviewers(
  dossiers: readonly DossierRecord[],
  reviewers: readonly ReviewerRecord[],
  reviewersPerDossier: number,
  existing: readonly AssignmentPair[] = [],
  jury: JuryConfig = DEFAULT_JURY_CONFIG,
): AssignmentPlan {
  const eligibleDossiers = dossiers.filter(isReviewable).sort((a, b) => a.number - b.number);
  const pool = reviewers.filter(canReceiveAssignments).sort(byId);
  const everyone = new Map(reviewers.map((r) => [r.id, r]));
  const indexOf = new Map(pool.map((r, i) => [r.id, i]));
  const numbers = new Set(eligibleDossiers.map((d) => d.number));
  const facts = pool.map((r) => reviewerFacts(r, jury));
  const keys = pool.map((r) => collegeKey(r, r.id));

  // Loads by pool index (the inner loop reads them 240,000 times at 2,000 dossiers × 3 places × 40).
  const load = pool.map(() => 0);
  const taken = new Map<number, Set<string>>();
  for (const pair of existing) {
    if (!numbers.has(pair.dossierNumber)) continue;
    const onDossier = taken.get(pair.dossierNumber) ?? new Set<string>();
    if (onDossier.has(pair.reviewerId)) continue;
    onDossier.add(pair.reviewerId);
    taken.set(pair.dossierNumber, onDossier);
    const i = indexOf.get(pair.reviewerId);
    if (i !== undefined) load[i]!++;
  }

  const assignments: AssignmentPair[] = [];
  const shortfalls: Shortfall[] = [];
  const collegeShortfalls: CollegeShortfall[] = [];
  const candidates: number[] = [];
  for (const dossier of eligibleDossiers) {
    const onDossier = taken.get(dossier.number) ?? new Set<string>();
    const colleges = new Set([...onDossier].map((id) => collegeKey(everyone.get(id), id)));
    const dossierSide = dossierFacts(dossier, jury);
    // One scan of the committee per dossier: who may review it.
    candidates.length = 0;
    for (let i = 0; i < pool.length; i++) {
      if (!onDossier.has(pool[i]!.id) && conflictBetween(facts[i]!, dossierSide) === undefined) candidates.push(i);
    }
    const chosen: ReviewerRecord[] = [];
    for (let place = onDossier.size; place < reviewersPerDossier; place++) {
      const best = bestCandidate(candidates, (i) => onDossier.has(pool[i]!.id), (i) => !colleges.has(keys[i]!), load, keys);
      if (best === undefined) break;
      const reviewer = pool[best]!;
      onDossier.add(reviewer.id);
      colleges.add(keys[best]!);
      load[best]!++;
      chosen.push(reviewer);
    }
    for (const reviewer of chosen.sort(byId)) assignments.push({ dossierNumber: dossier.number, reviewerId: reviewer.id });
    if (onDossier.size < reviewersPerDossier) {
      shortfalls.push({ dossierNumber: dossier.number, assigned: onDossier.size, wanted: reviewersPerDossier });
    }
    if (colleges.size < onDossier.size) {
      const named = [...onDossier].map((id) => everyone.get(id)?.college ?? null).sort(collegeOrder);
      collegeShortfalls.push({ dossierNumber: dossier.number, colleges: named });
    }
  }
  return { assignments, shortfalls, collegeShortfalls };
}

/**
 * The reviewer for one place (a pool index), among `candidates` (pool indexes, in id order) not
 * already `placed`: a new college first (`fresh`), then the lowest load; within that class, the
 * college with the most members in it, then the smallest id. Taking from the college where the
 * least-loaded pile up keeps every college among them, so a later dossier seldom has to choose
 * between a new college and an even load (measured: loads within one where they were within two).
 */
function bestCandidate(
  candidates: readonly number[],
  placed: (i: number) => boolean,
  fresh: (i: number) => boolean,
  load: readonly number[],
  keys: readonly string[],
): number | undefined {
  let found = false;
  let bestFresh = false;
  let bestLoad = Infinity;
  for (const i of candidates) {
    if (placed(i)) continue;
    const isFresh = fresh(i);
    if (!found || (isFresh && !bestFresh) || (isFresh === bestFresh && load[i]! < bestLoad)) {
      found = true;
      bestFresh = isFresh;
      bestLoad = load[i]!;
    }
  }
  if (!found) return undefined;
  const inClass = new Map<string, number>();
  for (const i of candidates) {
    if (!placed(i) && fresh(i) === bestFresh && load[i] === bestLoad) inClass.set(keys[i]!, (inClass.get(keys[i]!) ?? 0) + 1);
  }
  let best: number | undefined;
  for (const i of candidates) {
    if (placed(i) || fresh(i) !== bestFresh || load[i] !== bestLoad) continue;
    if (best === undefined || inClass.get(keys[i]!)! > inClass.get(keys[best]!)!) best = i;
  }
  return best;
}
