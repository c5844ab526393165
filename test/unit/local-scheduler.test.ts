import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import type { ScheduleDefinition } from '#infra/schedules';
import { LocalScheduler, type ScheduleRun, type SchedulerClock } from '../../infra/local/scheduler.ts';

/** A clock whose timers fire when the test advances it, optionally `lateMs` late (a busy event loop). */
class FakeClock implements SchedulerClock {
  private timers: { id: number; at: number; callback: () => void }[] = [];
  private nextId = 0;
  delays: number[] = [];
  constructor(public time: number, private readonly lateMs = 0) {}

  now() { return this.time; }
  setTimer(callback: () => void, delayMs: number) {
    this.delays.push(delayMs);
    const id = ++this.nextId;
    this.timers.push({ id, at: this.time + delayMs + this.lateMs, callback });
    return id;
  }
  clearTimer(handle: unknown) { this.timers = this.timers.filter((timer) => timer.id !== handle); }
  get pending() { return this.timers.length; }

  /** Moves time to `iso`, firing every timer due on the way, in order, letting promises settle after each. */
  async advanceTo(iso: string) {
    const target = Date.parse(iso);
    for (;;) {
      const due = this.timers.filter((timer) => timer.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers = this.timers.filter((timer) => timer !== due);
      this.time = due.at;
      due.callback();
      await settle();
    }
    this.time = target;
    await settle();
  }
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => { resolve = r; });
  return { promise, resolve };
}

const every10: ScheduleDefinition = {
  name: 'reconcile-dossiers', functionName: 'reconcile-dossiers', expression: 'rate(10 minutes)', timeZone: 'Europe/Paris', description: 'test',
};

function setup(options: { schedules?: ScheduleDefinition[]; start?: string; lateMs?: number; handler?: (event: unknown, context: Context) => Promise<unknown> } = {}) {
  const clock = new FakeClock(Date.parse(options.start ?? '2026-03-05T12:03:00Z'), options.lateMs);
  const calls: { event: unknown; context: Context; at: string }[] = [];
  const runs: ScheduleRun[] = [];
  const skipped: string[] = [];
  const handler = options.handler ?? (async () => ({ queued: 0 }));
  const scheduler = new LocalScheduler({
    schedules: options.schedules ?? [every10],
    handlers: {
      'reconcile-dossiers': async (event, context) => {
        calls.push({ event, context, at: new Date(clock.now()).toISOString() });
        return handler(event, context);
      },
    },
    clock,
    onRun: (run) => runs.push(run),
    onSkip: (_name, at) => skipped.push(at.toISOString()),
  });
  return { clock, scheduler, calls, runs, skipped };
}

describe('LocalScheduler', () => {
  it('fires each schedule at its fire times, with the definition\'s input and a Lambda context', async () => {
    const { clock, scheduler, calls, runs } = setup();
    scheduler.start();
    expect(scheduler.nextRun('reconcile-dossiers')?.toISOString()).toBe('2026-03-05T12:10:00.000Z');
    await clock.advanceTo('2026-03-05T12:35:00Z');
    expect(calls.map((c) => c.at)).toEqual(['2026-03-05T12:10:00.000Z', '2026-03-05T12:20:00.000Z', '2026-03-05T12:30:00.000Z']);
    expect(calls[0]!.event).toEqual({});
    expect(calls[0]!.context).toMatchObject({ functionName: 'reconcile-dossiers' });
    expect(calls[0]!.context.getRemainingTimeInMillis()).toBeGreaterThan(290_000); // the function's 300 s timeout
    expect(runs.map((r) => [r.trigger, r.ok, r.scheduledAt.toISOString(), r.result])).toEqual([
      ['schedule', true, '2026-03-05T12:10:00.000Z', { queued: 0 }],
      ['schedule', true, '2026-03-05T12:20:00.000Z', { queued: 0 }],
      ['schedule', true, '2026-03-05T12:30:00.000Z', { queued: 0 }],
    ]);
    await scheduler.stop();
  });

  it('does not drift when timers fire late: each fire time comes from the expression', async () => {
    const { clock, scheduler, runs } = setup({ lateMs: 7_000 });
    scheduler.start();
    await clock.advanceTo('2026-03-05T13:05:00Z');
    expect(runs.map((r) => r.scheduledAt.toISOString().slice(11, 19))).toEqual(['12:10:00', '12:20:00', '12:30:00', '12:40:00', '12:50:00', '13:00:00']);
    expect(runs.map((r) => r.startedAt.toISOString().slice(11, 19))).toEqual(['12:10:07', '12:20:07', '12:30:07', '12:40:07', '12:50:07', '13:00:07']);
    await scheduler.stop();
  });

  it('after a long pause, fires once and carries on (no burst of missed runs)', async () => {
    const { clock, scheduler, runs } = setup({ lateMs: 45 * 60_000 }); // the machine slept
    scheduler.start();
    await clock.advanceTo('2026-03-05T12:56:00Z');
    expect(runs.map((r) => r.scheduledAt.toISOString().slice(11, 16))).toEqual(['12:10']);
    expect(scheduler.nextRun('reconcile-dossiers')?.toISOString()).toBe('2026-03-05T13:00:00.000Z');
    await scheduler.stop();
  });

  it('never overlaps runs of a schedule: a fire time during a run is skipped', async () => {
    const slow = deferred();
    let first = true;
    const { clock, scheduler, calls, skipped } = setup({
      handler: async () => {
        if (first) { first = false; await slow.promise; }
      },
    });
    scheduler.start();
    await clock.advanceTo('2026-03-05T12:35:00Z');
    expect(calls).toHaveLength(1);
    expect(scheduler.isRunning('reconcile-dossiers')).toBe(true);
    expect(skipped).toEqual(['2026-03-05T12:20:00.000Z', '2026-03-05T12:30:00.000Z']);
    slow.resolve();
    await settle();
    await clock.advanceTo('2026-03-05T12:41:00Z');
    expect(calls.map((c) => c.at)).toEqual(['2026-03-05T12:10:00.000Z', '2026-03-05T12:40:00.000Z']);
    await scheduler.stop();
  });

  it('stop() disarms the timers and waits for the run in progress', async () => {
    const slow = deferred();
    const { clock, scheduler } = setup({ handler: () => slow.promise });
    scheduler.start();
    await clock.advanceTo('2026-03-05T12:10:00Z');
    let stopped = false;
    const stopping = scheduler.stop().then(() => { stopped = true; });
    await settle();
    expect(stopped).toBe(false);
    expect(clock.pending).toBe(0);
    slow.resolve();
    await stopping;
    expect(stopped).toBe(true);
    await clock.advanceTo('2026-03-05T13:00:00Z');
    expect(scheduler.isRunning('reconcile-dossiers')).toBe(false);
  });

  it('runNow() runs at once, or right after the run in progress', async () => {
    const slow = deferred();
    let first = true;
    const { clock, scheduler, calls } = setup({
      handler: async () => {
        if (first) { first = false; await slow.promise; }
        return 'done';
      },
    });
    scheduler.start();
    await clock.advanceTo('2026-03-05T12:10:00Z'); // the scheduled run starts and waits on `slow`
    const manual = scheduler.runNow('reconcile-dossiers');
    await settle();
    expect(calls).toHaveLength(1);
    slow.resolve();
    expect(await manual).toMatchObject({ trigger: 'manual', ok: true, result: 'done' });
    expect(calls).toHaveLength(2);

    await clock.advanceTo('2026-03-05T12:12:00Z');
    expect(await scheduler.runNow('reconcile-dossiers')).toMatchObject({ trigger: 'manual', scheduledAt: new Date('2026-03-05T12:12:00Z') });
    expect(calls).toHaveLength(3);
    await expect(scheduler.runNow('nope')).rejects.toThrow(/no schedule "nope" \(known: reconcile-dossiers\)/);
    await scheduler.stop();
  });

  it('reports a failing run and keeps its cadence', async () => {
    const { clock, scheduler, runs } = setup({ handler: async () => { throw Object.assign(new Error('DS down'), { name: 'DsUnavailableError' }); } });
    scheduler.start();
    await clock.advanceTo('2026-03-05T12:25:00Z');
    expect(runs.map((r) => [r.ok, r.error?.name])).toEqual([[false, 'DsUnavailableError'], [false, 'DsUnavailableError']]);
    expect(scheduler.nextRun('reconcile-dossiers')?.toISOString()).toBe('2026-03-05T12:30:00.000Z');
    await scheduler.stop();
  });

  it('fires cron schedules at Paris wall-clock times across the spring DST change, and reaches far fire times in hops', async () => {
    const morning: ScheduleDefinition = { ...every10, name: 'morning', expression: 'cron(30 3 * * ? *)' };
    const yearly: ScheduleDefinition = { ...every10, name: 'yearly', expression: 'cron(0 9 1 1 ? *)' };
    const { clock, scheduler, runs } = setup({ schedules: [morning, yearly], start: '2026-03-28T12:00:00Z' });
    scheduler.start();
    expect(Math.max(...clock.delays)).toBeLessThanOrEqual(2 ** 31 - 1);
    await clock.advanceTo('2026-03-30T12:00:00Z');
    expect(runs.map((r) => r.scheduledAt.toISOString())).toEqual(['2026-03-29T01:30:00.000Z', '2026-03-30T01:30:00.000Z']);
    expect(scheduler.nextRun('yearly')?.toISOString()).toBe('2027-01-01T08:00:00.000Z');
    await clock.advanceTo('2027-01-01T08:00:00Z');
    expect(runs.filter((r) => r.schedule === 'yearly').map((r) => r.scheduledAt.toISOString())).toEqual(['2027-01-01T08:00:00.000Z']);
    await scheduler.stop();
  });

  it('passes each schedule its own input (a fresh copy per run), as EventBridge Scheduler does', async () => {
    const open: ScheduleDefinition = { ...every10, name: 'round-open', expression: 'cron(0 9 1 1,3,5,7,9,11 ? *)', input: { step: 'open' } };
    const remind: ScheduleDefinition = { ...every10, name: 'round-remind', expression: 'cron(0 9 14 1,3,5,7,9,11 ? *)', input: { step: 'remind' } };
    const received: unknown[] = [];
    const { clock, scheduler, calls } = setup({
      schedules: [open, remind], start: '2026-02-27T12:00:00Z',
      handler: async (event) => {
        received.push(structuredClone(event));
        (event as Record<string, unknown>).step = 'changed'; // must not reach the next run
      },
    });
    scheduler.start();
    await clock.advanceTo('2026-03-15T00:00:00Z');
    expect(calls.map((c) => c.at)).toEqual(['2026-03-01T08:00:00.000Z', '2026-03-14T08:00:00.000Z']);
    expect(await scheduler.runNow('round-open')).toMatchObject({ ok: true, trigger: 'manual' });
    await scheduler.stop();
    expect(received).toEqual([{ step: 'open' }, { step: 'remind' }, { step: 'open' }]);
    expect(open.input).toEqual({ step: 'open' });
  });

  it('refuses a schedule whose function has no handler', () => {
    expect(() => new LocalScheduler({ schedules: [every10], handlers: {} })).toThrow(/no handler for reconcile-dossiers/);
  });
});
