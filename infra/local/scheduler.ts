import type { Context } from 'aws-lambda';
import { nextFireTime, parseScheduleExpression, type ParsedSchedule } from '#core/schedule-expression';
import { SCHEDULED_FUNCTIONS, SCHEDULES, type ScheduleDefinition } from '../schedules.ts';
import { lambdaContext } from './lambda-context.ts';

/**
 * The local stand-in for EventBridge Scheduler: fires the handlers of the scheduled functions
 * at the times infra/schedules.ts gives (the definitions the CDK stack deploys), in their time
 * zone, DST included (core/schedule-expression.ts).
 *
 * - One timer per schedule, armed for the next fire time computed from the expression (never
 *   by adding up delays), so timers that fire late do not drift. After a long pause (a laptop
 *   asleep) missed fire times are not replayed: the schedule fires once and carries on.
 * - A schedule never overlaps itself: a fire time that comes while its previous run is still
 *   going is skipped (reported to `onSkip`). EventBridge would invoke anyway; the handlers are
 *   safe either way, this just keeps the local machine quiet.
 * - `runNow(name)` runs a schedule at once (after its current run, if one is going).
 * - `stop()` disarms every timer and waits for the runs in progress.
 */

export type ScheduledHandler = (event: Record<string, unknown>, context: Context) => Promise<unknown>;

/** What the scheduler needs of time; tests inject a fake one. */
export interface SchedulerClock {
  now(): number;
  setTimer(callback: () => void, delayMs: number): unknown;
  clearTimer(handle: unknown): void;
}

export const systemClock: SchedulerClock = {
  now: () => Date.now(),
  setTimer: (callback, delayMs) => {
    const timer = setTimeout(callback, delayMs);
    timer.unref(); // a pending schedule alone does not keep the process alive
    return timer;
  },
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface ScheduleRun {
  schedule: string;
  functionName: string;
  trigger: 'schedule' | 'manual';
  /** The fire time (for a manual run, when it was asked for). */
  scheduledAt: Date;
  startedAt: Date;
  durationMs: number;
  ok: boolean;
  /** What the handler returned (counts), when it succeeded. */
  result?: unknown;
  /** Why it failed; our handlers' errors carry no personal data. */
  error?: Error;
}

export interface LocalSchedulerOptions {
  /** The handler of each scheduled function, by function name (`reconcile-dossiers`). */
  handlers: Readonly<Record<string, ScheduledHandler>>;
  /** Default: SCHEDULES. */
  schedules?: readonly ScheduleDefinition[];
  clock?: SchedulerClock;
  /** Where rate() schedules count from (default: the Unix epoch, so rate(10 minutes) fires at :00, :10...). */
  rateAnchor?: Date;
  onRun?: (run: ScheduleRun) => void;
  onSkip?: (schedule: string, scheduledAt: Date) => void;
}

/** The longest delay setTimeout takes (about 24.8 days): farther fire times are reached in hops. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Entry {
  definition: ScheduleDefinition;
  parsed: ParsedSchedule;
  handler: ScheduledHandler;
  timeoutSeconds: number;
  timer?: unknown;
  next?: Date;
  running?: Promise<ScheduleRun>;
}

export class LocalScheduler {
  private readonly entries = new Map<string, Entry>();
  private readonly clock: SchedulerClock;
  private readonly options: LocalSchedulerOptions;
  private started = false;

  constructor(options: LocalSchedulerOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    for (const definition of options.schedules ?? SCHEDULES) {
      const handler = options.handlers[definition.functionName];
      if (!handler) throw new Error(`LocalScheduler: no handler for ${definition.functionName} (schedule ${definition.name})`);
      this.entries.set(definition.name, {
        definition,
        parsed: parseScheduleExpression(definition.expression),
        handler,
        timeoutSeconds: SCHEDULED_FUNCTIONS[definition.functionName]?.timeoutSeconds ?? 300,
      });
    }
  }

  /** Arms a timer per schedule. Calling it again does nothing. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const entry of this.entries.values()) this.arm(entry, new Date(this.clock.now()));
  }

  /** Disarms every timer, then waits for the runs in progress to end. */
  async stop(): Promise<void> {
    this.started = false;
    for (const entry of this.entries.values()) {
      if (entry.timer !== undefined) this.clock.clearTimer(entry.timer);
      entry.timer = undefined;
      entry.next = undefined;
    }
    await Promise.all([...this.entries.values()].map((entry) => entry.running?.catch(() => undefined)));
  }

  /** Runs schedule `name` now, after its current run if one is going; resolves with the run (it does not throw). */
  async runNow(name: string): Promise<ScheduleRun> {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`no schedule "${name}" (known: ${[...this.entries.keys()].join(', ')})`);
    const requestedAt = new Date(this.clock.now());
    while (entry.running) await entry.running;
    return this.run(entry, 'manual', requestedAt);
  }

  /** The next fire time of a schedule, while started. */
  nextRun(name: string): Date | undefined {
    return this.entries.get(name)?.next;
  }

  isRunning(name: string): boolean {
    return this.entries.get(name)?.running !== undefined;
  }

  get scheduleNames(): string[] {
    return [...this.entries.keys()];
  }

  private arm(entry: Entry, after: Date): void {
    const next = nextFireTime(entry.parsed, after, entry.definition.timeZone, this.options.rateAnchor ? { rateAnchor: this.options.rateAnchor } : {});
    entry.next = next;
    if (!next) return; // a cron whose last year is past
    this.wait(entry, next);
  }

  private wait(entry: Entry, fireAt: Date): void {
    const delay = fireAt.getTime() - this.clock.now();
    entry.timer = this.clock.setTimer(() => {
      entry.timer = undefined;
      if (!this.started) return;
      if (fireAt.getTime() > this.clock.now()) return this.wait(entry, fireAt); // a hop of a long wait, or an early timer
      this.fire(entry, fireAt);
    }, Math.min(Math.max(0, delay), MAX_TIMER_MS));
  }

  private fire(entry: Entry, scheduledAt: Date): void {
    // The next fire time follows from this one, or from now if the timer came very late.
    this.arm(entry, new Date(Math.max(scheduledAt.getTime(), this.clock.now())));
    if (entry.running) {
      this.options.onSkip?.(entry.definition.name, scheduledAt);
      return;
    }
    void this.run(entry, 'schedule', scheduledAt);
  }

  private run(entry: Entry, trigger: ScheduleRun['trigger'], scheduledAt: Date): Promise<ScheduleRun> {
    const { definition } = entry;
    const started = this.clock.now();
    const running = (async (): Promise<ScheduleRun> => {
      const base = { schedule: definition.name, functionName: definition.functionName, trigger, scheduledAt, startedAt: new Date(started) };
      try {
        const result = await entry.handler(structuredClone({ ...(definition.input ?? {}) }), lambdaContext(definition.functionName, entry.timeoutSeconds));
        return { ...base, durationMs: this.clock.now() - started, ok: true, result };
      } catch (error) {
        return { ...base, durationMs: this.clock.now() - started, ok: false, error: error instanceof Error ? error : new Error(String(error)) };
      }
    })();
    entry.running = running;
    return running.then((run) => {
      if (entry.running === running) entry.running = undefined;
      try {
        this.options.onRun?.(run);
      } catch {
        // A reporting callback must not break the scheduler.
      }
      return run;
    });
  }
}
