import { Logger } from '@aws-lambda-powertools/logger';
import type { LogItemExtraInput, LogItemMessage } from '@aws-lambda-powertools/logger/types';

/**
 * Keys Powertools reserves for its own fields (its ReservedKeys): in extra attributes it drops
 * them and prints a warning line instead, so `logger.warn('refused', { message })` loses the
 * reason. Write `reason` (or `detail`); this is the safety net for a call that does not.
 */
const RESERVED_KEYS = new Set(['level', 'message', 'sampling_rate', 'service', 'timestamp']);

/** `{ message }` becomes `{ reason }` (or `detail`, or `<key>Detail`, whichever is free); other keys are kept. */
export function withoutReservedKeys(attributes: Record<string, unknown>): Record<string, unknown> {
  const renamed: Record<string, unknown> = {};
  const reserved: [string, unknown][] = [];
  for (const [key, value] of Object.entries(attributes)) {
    if (RESERVED_KEYS.has(key)) reserved.push([key, value]);
    else renamed[key] = value;
  }
  for (const [key, value] of reserved) {
    const candidates = key === 'message' ? ['reason', 'detail', 'messageDetail'] : [`${key}Detail`];
    const target = candidates.find((name) => !(name in renamed)) ?? `${key}Detail`;
    renamed[target] = value;
  }
  return renamed;
}

class ReasonKeepingLogger extends Logger {
  protected override processLogItem(logLevel: number, input: LogItemMessage, extraInput: LogItemExtraInput): void {
    const extras = extraInput.map((item) =>
      item !== null && typeof item === 'object' && !(item instanceof Error) ? withoutReservedKeys(item as Record<string, unknown>) : item);
    super.processLogItem(logLevel, input, extras as LogItemExtraInput);
  }
}

/**
 * One logger for every function: JSON lines, service name from POWERTOOLS_SERVICE_NAME.
 * Rule: log ids, counts, statuses and error names, never field values, names or emails.
 */
export const logger: Logger = new ReasonKeepingLogger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'ds-selection' });
