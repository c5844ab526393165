import { Duration } from 'aws-cdk-lib';
import type * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { RUNBOOK_SECTIONS, staffAlarm } from './alarms.ts';

/**
 * SES puts an account under review above these rates (AWS's thresholds, over the account's
 * recent sending): staff hear of it at that point, before a suspension (10% and 0.5%).
 */
export const SES_BOUNCE_RATE_THRESHOLD = 0.05;
export const SES_COMPLAINT_RATE_THRESHOLD = 0.001;

/** The window of the error, throttle and 5xx alarms: the first bad five minutes alarm. */
const WINDOW = Duration.minutes(5);

export interface OperationalAlarmsProps {
  readonly topic: sns.ITopic;
  /** Every function of the stack, by its name (functions/<name>.ts). */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  readonly apiStage: apigw.IHttpStage;
  readonly ingestQueue: sqs.IQueue;
  /** A message older than this waits for no good reason (see ingestQueueAge below). */
  readonly ingestQueueMaxAge: Duration;
  readonly scheduleGroup: scheduler.IScheduleGroup;
}

/**
 * The alarms besides the dead-letter queues' (in IngestPipeline and Schedules), all to the staff
 * topic: errors and throttles of each function, 5xx answers of the API, an ingest backlog,
 * schedules whose target failed or whose invocations were dropped, and SES's bounce and
 * complaint rates. Each names its section of docs/runbook.md.
 */
export class OperationalAlarms extends Construct {
  /** By alarm id (`<Function>Errors`, `ApiServerErrors`, ...). */
  readonly alarms: Record<string, cloudwatch.Alarm> = {};

  constructor(scope: Construct, id: string, props: OperationalAlarmsProps) {
    super(scope, id);
    const { topic } = props;
    const add = (alarmId: string, alarm: Omit<Parameters<typeof staffAlarm>[2], 'topic'>) => {
      this.alarms[alarmId] = staffAlarm(this, alarmId, { topic, ...alarm });
    };

    for (const [name, fn] of Object.entries(props.functions)) {
      const id = pascalCase(name);
      // Errors: a run that threw (not a 4xx answer, not a dossier put back in the queue).
      add(`${id}Errors`, {
        metric: fn.metricErrors({ period: WINDOW, statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        what: `${name} failed (an uncaught error) in the last 5 minutes. Its log group has the error name and message: look for level ERROR.`,
        runbookSection: RUNBOOK_SECTIONS.functionErrors,
      });
      // Throttles: Lambda refused a run (its reserved concurrency, or the account's, is used up).
      add(`${id}Throttles`, {
        metric: fn.metricThrottles({ period: WINDOW, statistic: cloudwatch.Stats.SUM }),
        threshold: 1,
        what: `Lambda throttled ${name} in the last 5 minutes: its reserved concurrency (or the account's) was used up. Check its traffic in the API access logs before raising anything.`,
        runbookSection: RUNBOOK_SECTIONS.functionThrottles,
      });
    }

    add('ApiServerErrors', {
      metric: props.apiStage.metricServerError({ period: WINDOW, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      what: 'The HTTP API answered 5xx in the last 5 minutes (a function failed, timed out or was throttled). The access logs give the route and integrationError.',
      runbookSection: RUNBOOK_SECTIONS.apiServerErrors,
    });

    add('IngestQueueAge', {
      metric: props.ingestQueue.metricApproximateAgeOfOldestMessage({ period: WINDOW, statistic: cloudwatch.Stats.MAXIMUM }),
      threshold: props.ingestQueueMaxAge.toSeconds(),
      what: `A dossier has waited in the ingest queue for over ${props.ingestQueueMaxAge.toHumanString()}: ingest-dossier keeps failing on it or does not consume the queue. Check ingest-dossier's errors and logs, and \`ds-selection dlq list\`.`,
      runbookSection: RUNBOOK_SECTIONS.ingestQueueAge,
    });

    add('ScheduleTargetErrors', {
      metric: props.scheduleGroup.metricTargetErrors({ period: WINDOW, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      what: 'EventBridge Scheduler could not invoke a scheduled function (permissions, function missing, Lambda refusing). It retries, then puts the run in the schedules\' dead-letter queue.',
      runbookSection: RUNBOOK_SECTIONS.scheduleTargetErrors,
    });
    add('ScheduleInvocationsDropped', {
      metric: props.scheduleGroup.metricDropped({ period: WINDOW, statistic: cloudwatch.Stats.SUM }),
      threshold: 1,
      what: 'EventBridge Scheduler gave up on a scheduled run after its retries and could not keep it: the run did not happen. Run the step by hand.',
      runbookSection: RUNBOOK_SECTIONS.scheduleInvocationsDropped,
    });

    // The account's rates (no dimension): those are what SES reviews and suspends an account on.
    const sesRate = (metricName: string) =>
      new cloudwatch.Metric({ namespace: 'AWS/SES', metricName, period: Duration.hours(1), statistic: cloudwatch.Stats.MAXIMUM });
    add('SesBounceRate', {
      metric: sesRate('Reputation.BounceRate'),
      threshold: SES_BOUNCE_RATE_THRESHOLD,
      what: `The account's SES bounce rate reached ${SES_BOUNCE_RATE_THRESHOLD * 100}%: SES puts the account under review at this rate. Find the bounced reviewer addresses and fix them before the next mails.`,
      runbookSection: RUNBOOK_SECTIONS.sesBounceRate,
    });
    add('SesComplaintRate', {
      metric: sesRate('Reputation.ComplaintRate'),
      threshold: SES_COMPLAINT_RATE_THRESHOLD,
      what: `The account's SES complaint rate reached ${SES_COMPLAINT_RATE_THRESHOLD * 100}%: SES puts the account under review at this rate. Find who marked a round mail as spam and why.`,
      runbookSection: RUNBOOK_SECTIONS.sesComplaintRate,
    });
  }
}

function pascalCase(name: string): string {
  return name.replace(/(^|-)([a-z0-9])/g, (_, _dash: string, c: string) => c.toUpperCase());
}
