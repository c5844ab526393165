import { Duration, RemovalPolicy, Stack, TimeZone } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { alarmOnDeadLetters, RUNBOOK_SECTIONS } from './alarms.ts';
import { DEFAULT_SCHEDULE_RETRY, type ScheduleDefinition } from '#infra/schedules';

export interface SchedulesProps {
  /** infra/schedules.ts SCHEDULES: the definitions the local scheduler runs too. */
  readonly definitions: readonly ScheduleDefinition[];
  readonly removalPolicy: RemovalPolicy;
  /** Where the dead-letter queue alarm goes. */
  readonly alarmTopic: sns.ITopic;
}

/** How long the dead-letter queue keeps a failed invocation (the SQS maximum). */
export const SCHEDULE_DLQ_RETENTION_DAYS = 14;

/**
 * EventBridge Scheduler schedules, one per definition of infra/schedules.ts, in a schedule group
 * of the stack: time zone from the definition, no flexible window, a retry policy, and a
 * dead-letter queue with an alarm. The same queue is the dead-letter queue of the scheduled
 * functions' asynchronous invocations (pass `deadLetterQueue` to them): an invocation the
 * Scheduler could not deliver, and a run that failed after Lambda's retries, both land there.
 *
 * Each target function gets its own execution role, which the Scheduler may assume only for
 * schedules of this group and account, and which may invoke only that function (and send to the
 * dead-letter queue).
 *
 * Two steps, because the functions need the queue before they exist: construct, create the
 * functions with `deadLetterQueue`, then `connect(functions)`.
 */
export class Schedules extends Construct {
  readonly group: scheduler.ScheduleGroup;
  readonly deadLetterQueue: sqs.Queue;
  readonly dlqAlarm: cloudwatch.Alarm;
  /** By schedule name, once connected. */
  readonly schedules: Record<string, scheduler.Schedule> = {};
  /** The Scheduler's execution role for each target function, by function name. */
  readonly roles: Record<string, iam.Role> = {};
  private readonly props: SchedulesProps;

  constructor(scope: Construct, id: string, props: SchedulesProps) {
    super(scope, id);
    this.props = props;

    this.group = new scheduler.ScheduleGroup(this, 'Group', { removalPolicy: props.removalPolicy });

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(SCHEDULE_DLQ_RETENTION_DAYS),
      removalPolicy: props.removalPolicy,
    });

    this.dlqAlarm = alarmOnDeadLetters(this, 'DeadLetterQueueAlarm', this.deadLetterQueue, props.alarmTopic,
      'A scheduled run failed for good: EventBridge Scheduler could not invoke the function, or the run failed after Lambda\'s retries (e.g. DS token expired, DS down, mails refused). Read the message\'s ErrorCode/ErrorMessage attributes and the function\'s logs, fix, then run the step again.',
      RUNBOOK_SECTIONS.scheduleDeadLetters);
  }

  /** Creates the schedules; `functions` holds the target of each definition, by function name. */
  connect(functions: Readonly<Record<string, lambda.IFunction>>): void {
    for (const definition of this.props.definitions) {
      const fn = functions[definition.functionName];
      if (!fn) throw new Error(`Schedules: no function "${definition.functionName}" for schedule ${definition.name}`);
      const retry = definition.retry ?? DEFAULT_SCHEDULE_RETRY;
      const id = pascalCase(definition.name);
      this.schedules[definition.name] = new scheduler.Schedule(this, id, {
        scheduleGroup: this.group,
        description: definition.description,
        schedule: scheduler.ScheduleExpression.expression(definition.expression, TimeZone.of(definition.timeZone)),
        timeWindow: scheduler.TimeWindow.off(),
        target: {
          bind: () => ({
            arn: fn.functionArn,
            role: this.roleFor(definition.functionName, fn),
            input: scheduler.ScheduleTargetInput.fromObject(definition.input ?? {}),
            retryPolicy: { maximumRetryAttempts: retry.maxAttempts, maximumEventAgeInSeconds: retry.maxEventAgeSeconds },
            deadLetterConfig: { arn: this.deadLetterQueue.queueArn },
          }),
        },
      });
    }
  }

  /**
   * The execution role for `fn`: assumable by the Scheduler for this group's schedules only
   * (confused-deputy conditions), allowed to invoke exactly this function (no `:*` qualifier
   * wildcard) and to send failed invocations to the dead-letter queue.
   */
  private roleFor(functionName: string, fn: lambda.IFunction): iam.Role {
    const existing = this.roles[functionName];
    if (existing) return existing;
    const stack = Stack.of(this);
    const role = new iam.Role(this, `${pascalCase(functionName)}InvokerRole`, {
      description: `EventBridge Scheduler: invoke ${functionName} only`,
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        // What aws-scheduler-targets sets: the Scheduler passes the schedule group's ARN as source.
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account, 'aws:SourceArn': this.group.scheduleGroupArn } },
      }),
    });
    role.addToPolicy(new iam.PolicyStatement({ sid: 'InvokeTargetFunction', actions: ['lambda:InvokeFunction'], resources: [fn.functionArn] }));
    role.addToPolicy(new iam.PolicyStatement({ sid: 'SendToScheduleDlq', actions: ['sqs:SendMessage'], resources: [this.deadLetterQueue.queueArn] }));
    this.roles[functionName] = role;
    return role;
  }
}

function pascalCase(name: string): string {
  return name.replace(/(^|-)([a-z0-9])/g, (_, _dash: string, c: string) => c.toUpperCase());
}
