import { assertTimeZone, localHoursOf, parseScheduleExpression } from '#core/schedule-expression';

/**
 * The schedules, in one place: the CDK stack makes one EventBridge Scheduler schedule of each
 * (infra/constructs/schedules.ts) and the local runtime fires the same handlers at the same
 * times (infra/local/scheduler.ts), so the two cannot drift.
 *
 * Cron times are wall-clock times in `timeZone`. Europe/Paris changes clocks at 02:00-03:00:
 * in spring that hour does not exist (a schedule in it is skipped that day), in autumn it
 * happens twice (a schedule in it fires once). So no cron schedule may fire in it; the guard
 * below refuses one at load time, which stops `cdk synth` and `npm start`.
 */

export const SCHEDULE_TIME_ZONE = 'Europe/Paris';

export interface ScheduleDefinition {
  /** Unique, kebab-case; names the schedule in AWS and in local logs. */
  readonly name: string;
  /** The entry point under functions/ it invokes, without `.ts` (a key of SCHEDULED_FUNCTIONS). */
  readonly functionName: string;
  /** EventBridge Scheduler syntax: `rate(10 minutes)` or `cron(min hour dom month dow year)`. */
  readonly expression: string;
  readonly timeZone: typeof SCHEDULE_TIME_ZONE;
  readonly description: string;
  /** The event the function receives (JSON); `{}` when absent. */
  readonly input?: Readonly<Record<string, unknown>>;
  /**
   * How long, and how many times, EventBridge Scheduler keeps trying to deliver one invocation
   * before sending it to the schedules' dead-letter queue. Default: 3 retries within 5 minutes
   * (under the 10 minutes between two reconciliations, so retries never pile onto the next run).
   */
  readonly retry?: { readonly maxAttempts: number; readonly maxEventAgeSeconds: number };
}

/** The functions schedules invoke, with the settings the stack and the local runtime share. */
export interface ScheduledFunction {
  readonly description: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
}

export const SCHEDULED_FUNCTIONS: Readonly<Record<string, ScheduledFunction>> = {
  'reconcile-dossiers': {
    description: 'Schedule -> DS updatedSince / deletedDossiers and files_pending dossiers -> ingest queue',
    // A run stops paging early (and saves how far it got) when less than one worst-case DS call
    // is left, so a large first backlog converges over a few runs instead of timing out.
    timeoutSeconds: 300,
    memoryMb: 256,
  },
  'run-round-step': {
    description: 'Schedule or staff -> one round step (open, close-submissions, remind, close-selection): DynamoDB, SES mails, S3 report',
    // A step reads the round's dossiers, reviewers and reviews and sends one mail per reviewer
    // (or staff): a few hundred SES calls at most, idempotent if cut short and fired again.
    timeoutSeconds: 300,
    memoryMb: 512,
  },
  'purge-expired-data': {
    description: 'Schedule -> purge of personal data: dossiers deleted on DS, closed rounds past their retention (schemas/retention-config.json)',
    // A run stops between two dossiers 30 s before its deadline and at maxDossiersPerRun; what is
    // left is found again by the next run (docs/data-protection.md).
    timeoutSeconds: 300,
    memoryMb: 256,
  },
  // Only on stages with writeBack.enabled (WRITE_BACK_SCHEDULES below).
  'write-back-decisions': {
    description: 'Schedule or staff -> the decisions of the latest closed round written back to DS (accepter, refuser, passer en instruction, annotations)',
    // About 4 DS calls per dossier, paced under DS's 400 a minute: 200 dossiers take about 2 minutes.
    // A run stops between two dossiers a minute before its deadline; the next run does what is left.
    timeoutSeconds: 900,
    memoryMb: 256,
  },
};

/**
 * The round steps' schedules. Rounds open on the first of every odd month (core/round.ts
 * roundOf); submissions of the previous round close the same morning, an hour before, so one
 * round is `open` at a time. Each fires outside 02:00-03:00 Paris time, and each step is
 * idempotent: a retry or a double fire changes and sends nothing more.
 */
const ROUND_MONTHS = '1,3,5,7,9,11';
const roundStep = (step: string, expression: string, description: string): ScheduleDefinition => ({
  name: `round-${step}`,
  functionName: 'run-round-step',
  expression,
  timeZone: SCHEDULE_TIME_ZONE,
  description,
  input: { step },
  // Delivery to Lambda (an invoke throttled or failing) is retried for up to an hour: a round
  // step happens once in two months, a reconciliation runs again 10 minutes later anyway. A run
  // that fails is retried by Lambda (asynchronous invocation), not by the Scheduler.
  retry: { maxAttempts: 5, maxEventAgeSeconds: 3600 },
});

export const DEFAULT_SCHEDULE_RETRY = { maxAttempts: 3, maxEventAgeSeconds: 300 } as const;

export const SCHEDULES: readonly ScheduleDefinition[] = [
  {
    name: 'reconcile-dossiers',
    functionName: 'reconcile-dossiers',
    expression: 'rate(10 minutes)',
    timeZone: SCHEDULE_TIME_ZONE,
    description: 'Every 10 minutes: queue the dossiers DS changed or deleted since the last run, and the files_pending ones, so nothing depends on a webhook arriving',
  },
  roundStep('close-submissions', `cron(0 8 1 ${ROUND_MONTHS} ? *)`,
    'First of every odd month, 08:00: close submissions of the open round, assign reviewers and mail them their links'),
  roundStep('open', `cron(0 9 1 ${ROUND_MONTHS} ? *)`,
    'First of every odd month, 09:00: open the new round with the configured capacity and criteria'),
  roundStep('remind', `cron(0 9 14 ${ROUND_MONTHS} ? *)`,
    'The 14th of every odd month, 09:00: remind reviewers of their unfinished reviews'),
  roundStep('close-selection', `cron(0 9 22 ${ROUND_MONTHS} ? *)`,
    'The 22nd of every odd month, 09:00: close the selection, rank, decide, write the report to S3 and mail staff'),
  // Data protection (docs/data-protection.md). Every 5 minutes, so that a dossier deleted on DS
  // loses its data here within one reconciliation: reconciliation (every 10 minutes) queues the
  // deletion, ingestion marks it `deleted`, the next sweep purges it. Daily, the closed rounds past
  // their retention, at 04:30: after the night, outside 02:00-03:00 and the round steps' hours.
  {
    name: 'purge-deleted-dossiers',
    functionName: 'purge-expired-data',
    expression: 'rate(5 minutes)',
    timeZone: SCHEDULE_TIME_ZONE,
    description: 'Every 5 minutes: remove the personal data and files of the dossiers DS deleted (a tombstone without personal data stays)',
    input: { scope: 'deleted-dossiers' },
  },
  {
    name: 'purge-expired-data',
    functionName: 'purge-expired-data',
    expression: 'cron(30 4 * * ? *)',
    timeZone: SCHEDULE_TIME_ZONE,
    description: 'Daily, 04:30: purge the dossiers, files and reviews of closed rounds past their retention (schemas/retention-config.json), and what DS deleted',
    input: { scope: 'all' },
    // A day until the next run: delivery may be retried for an hour, as the round steps.
    retry: { maxAttempts: 5, maxEventAgeSeconds: 3600 },
  },
];

/**
 * Write-back of decisions to DS, on stages that enable it (the stack and the local runtime add
 * these to SCHEDULES then): the day after close-selection (the 22nd), so staff have a day to read
 * the report (and run `rounds write-back --dry-run`) before applicants get DS's mail.
 */
export const WRITE_BACK_SCHEDULES: readonly ScheduleDefinition[] = [
  {
    name: 'write-back-decisions',
    functionName: 'write-back-decisions',
    expression: `cron(0 9 23 ${ROUND_MONTHS} ? *)`,
    timeZone: SCHEDULE_TIME_ZONE,
    description: 'The 23rd of every odd month, 09:00: write the decisions of the latest closed round back to DS (applicants get DS\'s mail)',
    input: {},
    retry: { maxAttempts: 5, maxEventAgeSeconds: 3600 },
  },
];

/** The schedules of a stage: SCHEDULES, plus write-back's when the stage enables it. */
export function schedulesFor(options: { writeBack: boolean }): readonly ScheduleDefinition[] {
  return options.writeBack ? [...SCHEDULES, ...WRITE_BACK_SCHEDULES] : SCHEDULES;
}

/** Local hours in which a cron schedule must not fire: Paris changes clocks between 02:00 and 03:00. */
export const DST_CHANGE_HOURS: readonly number[] = [2];

/** What is wrong with a list of schedules (empty when nothing is). */
export function scheduleProblems(definitions: readonly ScheduleDefinition[]): string[] {
  const problems: string[] = [];
  const names = new Set<string>();
  for (const definition of definitions) {
    const where = `schedule "${definition.name}"`;
    if (!/^[a-z][a-z0-9-]{0,47}$/.test(definition.name)) problems.push(`${where}: the name must be kebab-case, at most 48 characters`);
    if (names.has(definition.name)) problems.push(`${where}: the name is used twice`);
    names.add(definition.name);
    if (!SCHEDULED_FUNCTIONS[definition.functionName]) {
      problems.push(`${where}: no function "${definition.functionName}" in SCHEDULED_FUNCTIONS`);
    }
    try {
      assertTimeZone(definition.timeZone);
      const parsed = parseScheduleExpression(definition.expression);
      const hours = parsed.kind === 'cron' ? localHoursOf(parsed).filter((hour) => DST_CHANGE_HOURS.includes(hour)) : [];
      if (hours.length > 0) {
        problems.push(
          `${where}: ${definition.expression} fires between 0${hours[0]}:00 and 0${hours[0]! + 1}:00 ${definition.timeZone} time, `
          + 'the hour DST skips in spring and repeats in autumn: pick another hour',
        );
      }
    } catch (error) {
      problems.push(`${where}: ${(error as Error).message}`);
    }
    const retry = definition.retry ?? DEFAULT_SCHEDULE_RETRY;
    if (!Number.isInteger(retry.maxAttempts) || retry.maxAttempts < 0 || retry.maxAttempts > 185) {
      problems.push(`${where}: retry.maxAttempts must be a whole number from 0 to 185`);
    }
    if (!Number.isInteger(retry.maxEventAgeSeconds) || retry.maxEventAgeSeconds < 60 || retry.maxEventAgeSeconds > 86_400) {
      problems.push(`${where}: retry.maxEventAgeSeconds must be a whole number from 60 to 86400`);
    }
  }
  return problems;
}

export class ScheduleDefinitionError extends Error {
  override name = 'ScheduleDefinitionError';
}

/** Throws a ScheduleDefinitionError listing every problem. */
export function assertValidSchedules(definitions: readonly ScheduleDefinition[]): void {
  const problems = scheduleProblems(definitions);
  if (problems.length > 0) throw new ScheduleDefinitionError(`Invalid schedules (infra/schedules.ts):\n${problems.map((p) => `✖ ${p}`).join('\n')}`);
}

assertValidSchedules(SCHEDULES);
assertValidSchedules(WRITE_BACK_SCHEDULES);
