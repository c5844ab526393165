import { describe, expect, it } from 'vitest';
import {
  localHoursOf, nextFireTime, parseScheduleExpression, ScheduleExpressionError, wallClockMs,
} from '#core/schedule-expression';

const PARIS = 'Europe/Paris';

/** The next `count` fire times after `from`, as ISO instants. */
function fires(expression: string, from: string, count: number, timeZone = PARIS): string[] {
  const out: string[] = [];
  let after = new Date(from);
  for (let i = 0; i < count; i++) {
    const next = nextFireTime(expression, after, timeZone);
    if (!next) break;
    out.push(next.toISOString());
    after = next;
  }
  return out;
}

/** Paris wall-clock time of an instant, `YYYY-MM-DD HH:MM`. */
const paris = (iso: string) => new Date(wallClockMs(Date.parse(iso), PARIS)).toISOString().slice(0, 16).replace('T', ' ');

describe('parseScheduleExpression', () => {
  it('reads rate() in minutes, hours and days, singular for 1', () => {
    expect(parseScheduleExpression('rate(10 minutes)')).toMatchObject({ kind: 'rate', value: 10, unit: 'minute', periodMs: 600_000 });
    expect(parseScheduleExpression('rate(1 hour)')).toMatchObject({ unit: 'hour', periodMs: 3_600_000 });
    expect(parseScheduleExpression('rate(2 days)')).toMatchObject({ unit: 'day', periodMs: 172_800_000 });
  });

  it('reads cron() fields: values, lists, ranges, steps, names, ?', () => {
    expect(parseScheduleExpression('cron(0/15 8-18/2 ? JAN,MAR-APR MON-FRI *)')).toMatchObject({
      kind: 'cron',
      minutes: [0, 15, 30, 45],
      hours: [8, 10, 12, 14, 16, 18],
      daysOfMonth: 'any',
      months: [1, 3, 4],
      daysOfWeek: [2, 3, 4, 5, 6],
    });
    const every = parseScheduleExpression('cron(*/20 9 1,15 * ? 2026-2027)');
    expect(every).toMatchObject({ minutes: [0, 20, 40], hours: [9], daysOfMonth: [1, 15], daysOfWeek: 'any', years: [2026, 2027] });
    expect(parseScheduleExpression('cron(0 8 ? * sun,SAT *)')).toMatchObject({ daysOfWeek: [1, 7] });
  });

  it.each([
    ['rate(10 minute)', /plural unit: rate\(10 minutes\)/],
    ['rate(1 hours)', /singular unit: rate\(1 hour\)/],
    ['rate(0 minutes)', /positive whole number/],
    ['rate(1.5 hours)', /positive whole number/],
    ['rate(3 weeks)', /minute\(s\), hour\(s\) or day\(s\)/],
    ['rate(10)', /a value and a unit/],
    ['cron(0 8 * * ?)', /6 fields/],
    ['cron(0 8 * * * *)', /exactly one of day-of-month and day-of-week must be "\?"/],
    ['cron(0 8 ? * ? *)', /exactly one of day-of-month and day-of-week/],
    ['cron(? 8 * * ? *)', /minutes field "\?": "\?" is only allowed/],
    ['cron(60 8 * * ? *)', /minutes field "60": 60 is out of range 0-59/],
    ['cron(0 24 * * ? *)', /hours field "24": 24 is out of range 0-23/],
    ['cron(0 8 0 * ? *)', /day-of-month field "0": 0 is out of range 1-31/],
    ['cron(0 8 ? * 8 *)', /day-of-week field "8": 8 is out of range 1-7/],
    ['cron(0 8 * XYZ ? *)', /month field "XYZ": "XYZ" is not a number or a name/],
    ['cron(0 8 L * ? *)', /L, W and # are not supported/],
    ['cron(0 8 15W * ? *)', /L, W and # are not supported/],
    ['cron(0 8 ? * 6#3 *)', /L, W and # are not supported/],
    ['cron(0 8 ? * 6L *)', /L, W and # are not supported/],
    ['cron(30-10 8 * * ? *)', /the range 30-10 runs backwards/],
    ['cron(0/0 8 * * ? *)', /step "0" must be a positive whole number/],
    ['cron(1,,2 8 * * ? *)', /empty list item/],
    ['cron(0 8 * * ? 1969)', /out of range 1970-2199/],
    ['0 8 * * ? *', /not a schedule expression/],
    ['at(2026-03-01T08:00:00)', /not a schedule expression/],
  ])('refuses %s with a clear message', (expression, message) => {
    expect(() => parseScheduleExpression(expression)).toThrow(ScheduleExpressionError);
    expect(() => parseScheduleExpression(expression)).toThrow(message);
  });

  it('names the expression in every error', () => {
    expect(() => parseScheduleExpression('cron(0 25 * * ? *)')).toThrow(/^cron\(0 25 \* \* \? \*\): hours field/);
  });
});

describe('nextFireTime', () => {
  it('rate: multiples of the period from the anchor, strictly after `after`, whatever the time zone', () => {
    expect(fires('rate(10 minutes)', '2026-03-05T12:03:17Z', 3)).toEqual([
      '2026-03-05T12:10:00.000Z', '2026-03-05T12:20:00.000Z', '2026-03-05T12:30:00.000Z',
    ]);
    expect(nextFireTime('rate(10 minutes)', new Date('2026-03-05T12:10:00Z'), PARIS)?.toISOString()).toBe('2026-03-05T12:20:00.000Z');
    const anchor = new Date('2026-03-05T12:03:00Z');
    expect(nextFireTime('rate(1 hour)', new Date('2026-03-05T15:00:00Z'), PARIS, { rateAnchor: anchor })?.toISOString()).toBe('2026-03-05T15:03:00.000Z');
  });

  it('rate: a duration, so DST does not shift it (every 10 minutes through the autumn change)', () => {
    const times = fires('rate(10 minutes)', '2026-10-25T00:45:00Z', 8);
    const gaps = times.slice(1).map((t, i) => Date.parse(t) - Date.parse(times[i]!));
    expect(new Set(gaps)).toEqual(new Set([600_000]));
  });

  it('cron: wall-clock times in the schedule time zone (CET in winter, CEST in summer)', () => {
    expect(fires('cron(0 8 * * ? *)', '2026-01-10T12:00:00Z', 1)).toEqual(['2026-01-11T07:00:00.000Z']);
    expect(fires('cron(0 8 * * ? *)', '2026-07-10T12:00:00Z', 1)).toEqual(['2026-07-11T06:00:00.000Z']);
    expect(fires('cron(0 8 * * ? *)', '2026-07-10T12:00:00Z', 1, 'UTC')).toEqual(['2026-07-11T08:00:00.000Z']);
  });

  it('cron: days of the week (1 = Sunday), days of the month, months, years', () => {
    // 2026-03-27 is a Friday.
    expect(fires('cron(0 8 ? * MON-FRI *)', '2026-03-27T12:00:00Z', 2).map(paris)).toEqual(['2026-03-30 08:00', '2026-03-31 08:00']);
    expect(fires('cron(0 9 ? * 1 *)', '2026-03-27T12:00:00Z', 1).map(paris)).toEqual(['2026-03-29 09:00']);
    expect(fires('cron(0 9 1 1,3,5,7,9,11 ? *)', '2026-03-27T12:00:00Z', 3).map(paris)).toEqual([
      '2026-05-01 09:00', '2026-07-01 09:00', '2026-09-01 09:00',
    ]);
    expect(fires('cron(0 0 29 2 ? *)', '2026-03-01T00:00:00Z', 1).map(paris)).toEqual(['2028-02-29 00:00']);
    expect(nextFireTime('cron(0 0 1 1 ? 2020-2025)', new Date('2026-03-01T00:00:00Z'), PARIS)).toBeUndefined();
  });

  it('spring change, 2026-03-29 in Paris: a time that does not exist (02:00-02:59) is skipped that day', () => {
    expect(fires('cron(30 2 * * ? *)', '2026-03-27T12:00:00Z', 3).map(paris)).toEqual([
      '2026-03-28 02:30', '2026-03-30 02:30', '2026-03-31 02:30',
    ]);
    // Every 20 minutes: 01:40 CET is followed by 03:00 CEST, one hour of wall clock apart, 20 minutes of real time.
    const times = fires('cron(0/20 * * * ? *)', '2026-03-29T00:30:00Z', 3);
    expect(times).toEqual(['2026-03-29T00:40:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-29T01:20:00.000Z']);
    expect(times.map(paris)).toEqual(['2026-03-29 01:40', '2026-03-29 03:00', '2026-03-29 03:20']);
  });

  it('autumn change, 2026-10-25 in Paris: the repeated hour (02:00-02:59) fires once, at its first occurrence', () => {
    expect(fires('cron(30 2 * * ? *)', '2026-10-23T12:00:00Z', 3)).toEqual([
      '2026-10-24T00:30:00.000Z', // 02:30 CEST
      '2026-10-25T00:30:00.000Z', // 02:30 CEST, the first of the two 02:30 that day
      '2026-10-26T01:30:00.000Z', // 02:30 CET
    ]);
    expect(fires('cron(0/20 * * * ? *)', '2026-10-25T00:30:00Z', 4)).toEqual([
      '2026-10-25T00:40:00.000Z', // 02:40 CEST
      '2026-10-25T02:00:00.000Z', // 03:00 CET: 02:00, 02:20, 02:40 CET are not fired again
      '2026-10-25T02:20:00.000Z',
      '2026-10-25T02:40:00.000Z',
    ]);
  });

  it('autumn change: asked from inside the repeated hour, it does not fire a time already fired', () => {
    // 01:05Z is 02:05 CET, the second 02:05 of the day; 02:20 CET already happened as 02:20 CEST.
    expect(fires('cron(0/20 * * * ? *)', '2026-10-25T01:05:00Z', 1)).toEqual(['2026-10-25T02:00:00.000Z']);
  });

  it('refuses an unknown time zone', () => {
    expect(() => nextFireTime('rate(10 minutes)', new Date(), 'Europe/Pariss')).toThrow(/unknown time zone "Europe\/Pariss"/);
  });
});

describe('localHoursOf', () => {
  it('is the hours field of a cron, every hour of a rate', () => {
    expect(localHoursOf('cron(0 1-3 * * ? *)')).toEqual([1, 2, 3]);
    expect(localHoursOf('rate(1 hour)')).toHaveLength(24);
  });
});
