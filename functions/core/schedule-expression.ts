/**
 * EventBridge Scheduler schedule expressions, parsed and evaluated the way the Scheduler does,
 * so the local runtime fires handlers at the times AWS would:
 *
 * - `rate(value unit)`: unit `minute(s)`, `hour(s)` or `day(s)`, singular when value is 1. A rate
 *   is a duration, not a wall-clock time: DST does not move it. EventBridge counts it from the
 *   schedule's start; here it is counted from an anchor (the Unix epoch unless given), so
 *   `rate(10 minutes)` fires at :00, :10, :20... and a timer never accumulates drift.
 * - `cron(minutes hours day-of-month month day-of-week year)`: each field takes `*`, values,
 *   lists (`1,15`), ranges (`MON-FRI`), steps (`0/10`, `*\/5`, `8-18/2`); `?` in day-of-month or
 *   day-of-week, and exactly one of the two must be `?`, as EventBridge requires. Day-of-week runs
 *   1-7 = SUN-SAT. `L`, `W` and `#` are not supported. Cron times are wall-clock times in the
 *   schedule's time zone: on the spring DST change a time that does not exist is skipped, and on
 *   the autumn change the repeated hour fires once (at its first occurrence).
 *
 * Pure: no I/O, no clock; time zones come from the runtime's Intl data.
 */

export class ScheduleExpressionError extends Error {
  override name = 'ScheduleExpressionError';
}

export type RateUnit = 'minute' | 'hour' | 'day';

export interface RateSchedule {
  kind: 'rate';
  expression: string;
  value: number;
  unit: RateUnit;
  periodMs: number;
}

export interface CronSchedule {
  kind: 'cron';
  expression: string;
  /** Sorted values of each field. */
  minutes: readonly number[];
  hours: readonly number[];
  /** `any` for `?`. */
  daysOfMonth: readonly number[] | 'any';
  months: readonly number[];
  /** 1-7 = SUN-SAT; `any` for `?`. */
  daysOfWeek: readonly number[] | 'any';
  years: readonly number[];
}

export type ParsedSchedule = RateSchedule | CronSchedule;

const MINUTE_MS = 60_000;
const DAY_MS = 24 * 60 * MINUTE_MS;
const UNIT_MS: Record<RateUnit, number> = { minute: MINUTE_MS, hour: 60 * MINUTE_MS, day: DAY_MS };

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  /** Names accepted for values, index 0 standing for `min`. */
  names?: string[];
  question?: boolean;
}

const CRON_FIELDS: FieldSpec[] = [
  { name: 'minutes', min: 0, max: 59 },
  { name: 'hours', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31, question: true },
  { name: 'month', min: 1, max: 12, names: MONTH_NAMES },
  { name: 'day-of-week', min: 1, max: 7, names: DAY_NAMES, question: true },
  { name: 'year', min: 1970, max: 2199 },
];

/** Parses `rate(...)` or `cron(...)`; throws ScheduleExpressionError saying what is wrong and where. */
export function parseScheduleExpression(expression: string): ParsedSchedule {
  const rate = /^rate\((.*)\)$/.exec(expression);
  if (rate) return parseRate(expression, rate[1]!);
  const cron = /^cron\((.*)\)$/.exec(expression);
  if (cron) return parseCron(expression, cron[1]!);
  throw new ScheduleExpressionError(
    `"${expression}" is not a schedule expression: write rate(<value> <unit>) or cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>)`,
  );
}

function parseRate(expression: string, body: string): RateSchedule {
  const fail = (why: string) => new ScheduleExpressionError(`${expression}: ${why}`);
  const parts = body.trim().split(/\s+/);
  if (parts.length !== 2) throw fail('a rate takes a value and a unit, e.g. rate(10 minutes)');
  const [valueText, unitText] = parts as [string, string];
  if (!/^\d+$/.test(valueText) || Number(valueText) < 1) throw fail(`the value must be a positive whole number, got "${valueText}"`);
  const value = Number(valueText);
  const unit = /^(minute|hour|day)s?$/.exec(unitText)?.[1] as RateUnit | undefined;
  if (!unit) throw fail(`the unit must be minute(s), hour(s) or day(s), got "${unitText}"`);
  const plural = unitText.endsWith('s');
  if (value === 1 && plural) throw fail(`a value of 1 takes the singular unit: rate(1 ${unit})`);
  if (value > 1 && !plural) throw fail(`a value above 1 takes the plural unit: rate(${value} ${unit}s)`);
  return { kind: 'rate', expression, value, unit, periodMs: value * UNIT_MS[unit] };
}

function parseCron(expression: string, body: string): CronSchedule {
  const texts = body.trim().split(/\s+/);
  if (texts.length !== 6) {
    throw new ScheduleExpressionError(
      `${expression}: a cron expression has 6 fields (minutes hours day-of-month month day-of-week year), got ${texts.length}`,
    );
  }
  const [minutes, hours, daysOfMonth, months, daysOfWeek, years] = CRON_FIELDS.map((spec, i) => parseField(expression, texts[i]!, spec));
  if ((daysOfMonth === 'any') === (daysOfWeek === 'any')) {
    throw new ScheduleExpressionError(
      `${expression}: exactly one of day-of-month and day-of-week must be "?" (EventBridge does not combine them), e.g. cron(0 8 * * ? *) or cron(0 8 ? * MON *)`,
    );
  }
  const values = (field: readonly number[] | 'any', name: string) => {
    if (field === 'any') throw new ScheduleExpressionError(`${expression}: "?" is only allowed in day-of-month or day-of-week, not in ${name}`);
    return field;
  };
  return {
    kind: 'cron',
    expression,
    minutes: values(minutes!, 'minutes'),
    hours: values(hours!, 'hours'),
    daysOfMonth: daysOfMonth!,
    months: values(months!, 'month'),
    daysOfWeek: daysOfWeek!,
    years: values(years!, 'year'),
  };
}

function parseField(expression: string, text: string, spec: FieldSpec): readonly number[] | 'any' {
  const fail = (why: string) => new ScheduleExpressionError(`${expression}: ${spec.name} field "${text}": ${why}`);
  if (text === '?') {
    if (!spec.question) throw fail('"?" is only allowed in day-of-month or day-of-week');
    return 'any';
  }
  // `L`, `LW`, `5L`, `15W`, `6#3`: EventBridge's last / weekday / nth-weekday forms.
  if (/#|(^|[,/-])LW?($|[,/-])|\d[LW]/i.test(text)) {
    throw fail('L, W and # are not supported here');
  }
  const value = (token: string): number => {
    const named = spec.names?.indexOf(token.toUpperCase()) ?? -1;
    if (named >= 0) return spec.min + named;
    if (!/^\d+$/.test(token)) throw fail(`"${token}" is not a number${spec.names ? ` or a name (${spec.names.join(', ')})` : ''}`);
    const n = Number(token);
    if (n < spec.min || n > spec.max) throw fail(`${n} is out of range ${spec.min}-${spec.max}`);
    return n;
  };
  const result = new Set<number>();
  for (const part of text.split(',')) {
    if (part === '') throw fail('empty list item');
    const pieces = part.split('/');
    if (pieces.length > 2) throw fail(`"${part}" has more than one "/"`);
    const [range, stepText] = pieces as [string, string | undefined];
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) < 1) throw fail(`the step "${stepText}" must be a positive whole number`);
      step = Number(stepText);
    }
    let low: number;
    let high: number;
    if (range === '*') {
      [low, high] = [spec.min, spec.max];
    } else if (range.includes('-')) {
      const bounds = range.split('-');
      if (bounds.length !== 2) throw fail(`"${range}" is not a range`);
      [low, high] = [value(bounds[0]!), value(bounds[1]!)];
      if (low > high) throw fail(`the range ${range} runs backwards`);
    } else {
      low = value(range);
      // `0/15` means from 0 to the end of the field, every 15.
      high = stepText === undefined ? low : spec.max;
    }
    for (let v = low; v <= high; v += step) result.add(v);
  }
  return [...result].sort((a, b) => a - b);
}

/** Throws ScheduleExpressionError unless `timeZone` is an IANA zone this runtime knows. */
export function assertTimeZone(timeZone: string): void {
  formatter(timeZone);
}

/**
 * The first instant strictly after `after` at which the schedule fires in `timeZone` (an IANA
 * name such as `Europe/Paris`), or undefined when it never fires again (a cron whose years are
 * past). Minute precision, as EventBridge Scheduler.
 */
export function nextFireTime(
  schedule: string | ParsedSchedule,
  after: Date,
  timeZone: string,
  options: { rateAnchor?: Date } = {},
): Date | undefined {
  const parsed = typeof schedule === 'string' ? parseScheduleExpression(schedule) : schedule;
  assertTimeZone(timeZone);
  const afterMs = after.getTime();
  if (Number.isNaN(afterMs)) throw new RangeError('nextFireTime: `after` is not a valid date');
  if (parsed.kind === 'rate') {
    const anchor = options.rateAnchor?.getTime() ?? 0;
    const periods = Math.floor((afterMs - anchor) / parsed.periodMs) + 1;
    return new Date(anchor + periods * parsed.periodMs);
  }
  // Wall-clock candidates, in order, from the minute `after` falls in (in local time). The
  // mapping wall time -> instant (first occurrence of a repeated time) only grows, so the first
  // candidate landing after `after` is the answer; times skipped by DST have no instant at all.
  const startWall = Math.floor(wallClockMs(afterMs, timeZone) / MINUTE_MS) * MINUTE_MS;
  for (const wall of wallCandidates(parsed, startWall)) {
    const instant = firstInstantOf(wall, timeZone);
    if (instant !== undefined && instant > afterMs) return new Date(instant);
  }
  return undefined;
}

/** Every local hour (0-23) a cron schedule may fire in; every hour for a rate. */
export function localHoursOf(schedule: string | ParsedSchedule): readonly number[] {
  const parsed = typeof schedule === 'string' ? parseScheduleExpression(schedule) : schedule;
  return parsed.kind === 'cron' ? parsed.hours : Array.from({ length: 24 }, (_, h) => h);
}

/** Matching wall times (epoch ms read as UTC fields), ascending, from `fromWall` included. */
function* wallCandidates(cron: CronSchedule, fromWall: number): Generator<number> {
  const lastYear = cron.years[cron.years.length - 1]!;
  let t = fromWall;
  while (true) {
    const d = new Date(t);
    const year = d.getUTCFullYear();
    const month = d.getUTCMonth() + 1;
    const day = d.getUTCDate();
    const hour = d.getUTCHours();
    const minute = d.getUTCMinutes();
    if (year > lastYear) return;
    if (!cron.years.includes(year)) {
      const next = cron.years.find((y) => y > year);
      if (next === undefined) return;
      t = Date.UTC(next, 0, 1);
    } else if (!cron.months.includes(month)) {
      t = Date.UTC(year, month, 1); // the first of the next month (month is 1-based here)
    } else if (!dayMatches(cron, d)) {
      t = Date.UTC(year, month - 1, day + 1);
    } else if (!cron.hours.includes(hour)) {
      t = Date.UTC(year, month - 1, day, hour + 1);
    } else if (!cron.minutes.includes(minute)) {
      const next = cron.minutes.find((m) => m > minute);
      t = next === undefined ? Date.UTC(year, month - 1, day, hour + 1) : Date.UTC(year, month - 1, day, hour, next);
    } else {
      yield t;
      t += MINUTE_MS;
    }
  }
}

function dayMatches(cron: CronSchedule, wall: Date): boolean {
  if (cron.daysOfMonth !== 'any') return cron.daysOfMonth.includes(wall.getUTCDate());
  if (cron.daysOfWeek !== 'any') return cron.daysOfWeek.includes(wall.getUTCDay() + 1);
  return true;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let format = formatters.get(timeZone);
  if (!format) {
    try {
      format = new Intl.DateTimeFormat('en-US', {
        timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
      });
    } catch {
      throw new ScheduleExpressionError(`unknown time zone "${timeZone}": use an IANA name such as Europe/Paris`);
    }
    formatters.set(timeZone, format);
  }
  return format;
}

/** The wall-clock time of `instantMs` in `timeZone`, as epoch ms read as UTC fields (seconds precision). */
export function wallClockMs(instantMs: number, timeZone: string): number {
  const fields: Record<string, number> = {};
  for (const part of formatter(timeZone).formatToParts(new Date(instantMs))) {
    if (part.type !== 'literal') fields[part.type] = Number(part.value);
  }
  return Date.UTC(fields.year!, fields.month! - 1, fields.day!, fields.hour!, fields.minute!, fields.second!);
}

/**
 * The earliest instant whose wall clock in `timeZone` reads `wall`, or undefined when that
 * local time does not exist (skipped by a DST change). Offsets are taken a day either side, so
 * every zone with at most one change in 48 hours (all of them in practice) is handled.
 */
function firstInstantOf(wall: number, timeZone: string): number | undefined {
  const offsets = new Set([wall - DAY_MS, wall, wall + DAY_MS].map((t) => wallClockMs(t, timeZone) - t));
  const instants = [...offsets].map((offset) => wall - offset).filter((t) => wallClockMs(t, timeZone) === wall);
  return instants.length === 0 ? undefined : Math.min(...instants);
}
