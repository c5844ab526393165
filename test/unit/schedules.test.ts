import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nextFireTime, wallClockMs } from '#core/schedule-expression';
import {
  assertValidSchedules, DST_CHANGE_HOURS, SCHEDULED_FUNCTIONS, SCHEDULES, scheduleProblems, type ScheduleDefinition,
} from '#infra/schedules';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const schedule = (overrides: Partial<ScheduleDefinition>): ScheduleDefinition => ({
  name: 'test', functionName: 'reconcile-dossiers', expression: 'rate(1 hour)', timeZone: 'Europe/Paris', description: 'test', ...overrides,
});

describe('SCHEDULES', () => {
  it('reconciles every 10 minutes, in Europe/Paris', () => {
    expect(SCHEDULES.find((s) => s.name === 'reconcile-dossiers')).toMatchObject({
      functionName: 'reconcile-dossiers', expression: 'rate(10 minutes)', timeZone: 'Europe/Paris',
    });
  });

  it('are valid, and each invokes a handler that exists', () => {
    expect(scheduleProblems(SCHEDULES)).toEqual([]);
    for (const definition of SCHEDULES) {
      expect(existsSync(`${ROOT}functions/${definition.functionName}.ts`), definition.functionName).toBe(true);
      expect(SCHEDULED_FUNCTIONS[definition.functionName]).toBeDefined();
    }
  });

  // Only the reconcile rate() schedule exists so far; this holds the round crons to come to it.
  it('never fire between 02:00 and 03:00 Paris time over a year of cron fire times (both DST changes included)', () => {
    for (const definition of SCHEDULES.filter((s) => s.expression.startsWith('cron('))) {
      let after = new Date('2026-01-01T00:00:00Z');
      for (let i = 0; i < 2000; i++) {
        const next = nextFireTime(definition.expression, after, definition.timeZone);
        if (!next || next.getUTCFullYear() > 2026) break;
        expect(DST_CHANGE_HOURS).not.toContain(new Date(wallClockMs(next.getTime(), definition.timeZone)).getUTCHours());
        after = next;
      }
    }
  });
});

describe('the schedules guard', () => {
  it.each([
    ['cron(30 2 * * ? *)'],
    ['cron(0 1-3 ? * MON *)'],
    ['cron(0/10 * * * ? *)'],
    ['cron(0 0/2 1 * ? *)'],
  ])('refuses a cron that fires in the DST hour: %s', (expression) => {
    const problems = scheduleProblems([schedule({ expression })]);
    expect(problems).toEqual([expect.stringMatching(/fires between 02:00 and 03:00 Europe\/Paris time, the hour DST skips in spring and repeats in autumn/)]);
  });

  it('accepts crons outside that hour, and rates (a duration, which DST does not move)', () => {
    expect(scheduleProblems([
      schedule({ name: 'a', expression: 'cron(0 1,3-23 * * ? *)' }),
      schedule({ name: 'b', expression: 'cron(0 9 1 1/2 ? *)' }),
      schedule({ name: 'c', expression: 'rate(10 minutes)' }),
    ])).toEqual([]);
  });

  it('refuses duplicate names, unknown functions, bad expressions, time zones and retry policies', () => {
    const problems = scheduleProblems([
      schedule({ name: 'same' }),
      schedule({ name: 'same', functionName: 'no-such-function' }),
      schedule({ name: 'bad-expression', expression: 'cron(0 8 * * * *)' }),
      schedule({ name: 'bad-zone', timeZone: 'Mars/Olympus' as 'Europe/Paris' }),
      schedule({ name: 'bad-retry', retry: { maxAttempts: 200, maxEventAgeSeconds: 30 } }),
      schedule({ name: 'Not Kebab' }),
    ]);
    expect(problems).toEqual([
      expect.stringMatching(/"same": the name is used twice/),
      expect.stringMatching(/"same": no function "no-such-function"/),
      expect.stringMatching(/"bad-expression": .*exactly one of day-of-month and day-of-week/),
      expect.stringMatching(/"bad-zone": unknown time zone "Mars\/Olympus"/),
      expect.stringMatching(/"bad-retry": retry.maxAttempts/),
      expect.stringMatching(/"bad-retry": retry.maxEventAgeSeconds/),
      expect.stringMatching(/"Not Kebab": the name must be kebab-case/),
    ]);
    expect(() => assertValidSchedules([schedule({ expression: 'cron(0 2 * * ? *)' })])).toThrow(/Invalid schedules \(infra\/schedules.ts\):\n✖ schedule "test"/);
  });
});
