import { Logger } from '@aws-lambda-powertools/logger';

/**
 * One logger for every function: JSON lines, service name from POWERTOOLS_SERVICE_NAME.
 * Rule: log ids, counts, statuses and error names, never field values, names or emails.
 */
export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'ds-selection' });
