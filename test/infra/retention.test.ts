import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnElement, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { DsSelectionStack } from '#infra/ds-selection-stack';
import { NONCURRENT_VERSION_DAYS, safetyNetExpirationDays } from '#infra/constructs/storage';
import { SCHEDULED_FUNCTIONS, SCHEDULES } from '#infra/schedules';
import { parseStageConfig } from '#infra/stage-config';
import { PurgeEnvSchema } from '#schemas/retention';
import { RETENTION_CONFIG } from '#shared/retention-config';

/**
 * The data protection part of the stack (docs/data-protection.md): the purge function, its
 * least-privilege role and its two schedules, and the S3 lifecycle safety net. The whole grants
 * table, cdk-nag and the acknowledgements' docs are checked in stack.test.ts.
 */

type Json = Record<string, any>;
const outdir = mkdtempSync(join(tmpdir(), 'ds-selection-retention-cdk-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

const previous = process.env.CDK_VALIDATION;
process.env.CDK_VALIDATION = 'false';
const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
const stack = new DsSelectionStack(app, 'DsSelection-test', {
  stage: parseStageConfig({ name: 'test', demarcheNumbers: [98765] }), env: { account: '123456789012', region: 'eu-west-3' },
});
const template = Template.fromStack(stack);
if (previous === undefined) delete process.env.CDK_VALIDATION;
else process.env.CDK_VALIDATION = previous;
const resources = template.toJSON().Resources as Record<string, Json>;

const id = (construct: { node: { defaultChild?: unknown } }) => (stack as Stack).getLogicalId(construct.node.defaultChild as CfnElement);
const fn = stack.functions.purgeExpiredData;
const asArray = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
const statementsOf = (roleId: string): Json[] => Object.values(resources)
  .filter((r) => r.Type === 'AWS::IAM::Policy' && asArray<Json>(r.Properties.Roles).some((ref) => ref.Ref === roleId))
  .flatMap((r) => asArray<Json>(r.Properties.PolicyDocument.Statement));

describe('purge-expired-data', () => {
  it('runs outside the VPC with the settings of infra/schedules.ts, the environment its schema needs, failed runs into the schedules\' DLQ', () => {
    const props = resources[id(fn.function)]!.Properties;
    const settings = SCHEDULED_FUNCTIONS['purge-expired-data']!;
    expect(props).toMatchObject({ Timeout: settings.timeoutSeconds, MemorySize: settings.memoryMb });
    expect(props.VpcConfig).toBeUndefined();
    expect(props.DeadLetterConfig.TargetArn).toEqual({ 'Fn::GetAtt': [id(stack.schedules.deadLetterQueue), 'Arn'] });
    const env = props.Environment.Variables as Json;
    expect(env).toMatchObject({ TABLE_NAME: { Ref: id(stack.storage.table) }, BUCKET_NAME: { Ref: id(stack.storage.bucket) } });
    expect(PurgeEnvSchema.safeParse({ TABLE_NAME: 't', BUCKET_NAME: 'b' }).success).toBe(true);
  });

  it('its role: deletes only dossier and round items (LeadingKeys), queries the two indexes, lists and deletes versions only under the personal-data prefixes; no Scan, no read of a file', () => {
    const statements = statementsOf(resources[id(fn.function)]!.Properties.Role['Fn::GetAtt'][0]);
    const actions = statements.flatMap((s) => asArray<string>(s.Action));
    expect(actions).not.toContain('dynamodb:Scan');
    expect(actions.filter((a) => a.startsWith('s3:')).sort()).toEqual(['s3:DeleteObjectVersion', 's3:ListBucketVersions']);
    const table = statements.find((s) => asArray<string>(s.Action).includes('dynamodb:DeleteItem'))!;
    expect(table.Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['DOSSIER#*', 'ROUND#*'] } });
    expect(table.Resource).toEqual({ 'Fn::GetAtt': [id(stack.storage.table), 'Arn'] });
    const list = statements.find((s) => s.Action === 's3:ListBucketVersions')!;
    expect(list.Condition).toEqual({ StringLike: { 's3:prefix': ['attachments/*', 'dossiers/*', 'reports/*'] } });
    // No other function may delete a dossier, a file record or an object.
    for (const [name, other] of Object.entries(stack.functions)) {
      if (other === fn) continue;
      const otherActions = statementsOf(resources[id(other.function)]!.Properties.Role['Fn::GetAtt'][0]).flatMap((s) => asArray<string>(s.Action));
      expect(otherActions.filter((a) => /^s3:Delete/.test(a)), name).toEqual([]);
    }
  });

  it('two schedules: every 5 minutes the dossiers DS deleted, daily at 04:30 Paris the expired rounds; an invoker role for this function only', () => {
    const schedules = Object.values(resources).filter((r) => r.Type === 'AWS::Scheduler::Schedule');
    const target = { 'Fn::GetAtt': [id(fn.function), 'Arn'] };
    const mine = schedules.filter((s) => JSON.stringify(s.Properties.Target.Arn) === JSON.stringify(target));
    expect(mine.map((s) => [s.Properties.ScheduleExpression, JSON.parse(s.Properties.Target.Input as string)]).sort()).toEqual([
      ['cron(30 4 * * ? *)', { scope: 'all' }],
      ['rate(5 minutes)', { scope: 'deleted-dossiers' }],
    ]);
    for (const schedule of mine) {
      expect(schedule.Properties).toMatchObject({ ScheduleExpressionTimezone: 'Europe/Paris', State: 'ENABLED' });
      expect(schedule.Properties.Target.RoleArn).toEqual({ 'Fn::GetAtt': [id(stack.schedules.roles['purge-expired-data']!), 'Arn'] });
    }
    expect(SCHEDULES.filter((s) => s.functionName === 'purge-expired-data').map((s) => s.name).sort()).toEqual(['purge-deleted-dossiers', 'purge-expired-data']);
  });

  it('has its error and throttle alarms, like every function', () => {
    const alarms = Object.values(resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm'
      && JSON.stringify(r.Properties.Dimensions ?? []) === JSON.stringify([{ Name: 'FunctionName', Value: { Ref: id(fn.function) } }]));
    expect(alarms.map((a) => a.Properties.MetricName).sort()).toEqual(['Errors', 'Throttles']);
  });
});

describe('S3 lifecycle safety net', () => {
  it('expires attachments/, dossiers/ and reports/ after retention + margin, their noncurrent versions after 90 days, then the delete markers', () => {
    const rules = resources[id(stack.storage.bucket)]!.Properties.LifecycleConfiguration.Rules as Json[];
    const days = safetyNetExpirationDays(RETENTION_CONFIG);
    expect(days).toBeGreaterThan(RETENTION_CONFIG.closedRoundRetentionMonths * 31);
    for (const prefix of ['attachments', 'dossiers', 'reports']) {
      expect(rules).toContainEqual({
        Id: `retention-safety-net-${prefix}`, Prefix: `${prefix}/`, Status: 'Enabled', ExpirationInDays: days,
        NoncurrentVersionExpiration: { NoncurrentDays: NONCURRENT_VERSION_DAYS },
      });
      expect(rules).toContainEqual({ Id: `retention-safety-net-${prefix}-delete-markers`, Prefix: `${prefix}/`, Status: 'Enabled', ExpiredObjectDeleteMarker: true });
    }
    // The bucket-wide rule stays.
    expect(rules).toContainEqual(expect.objectContaining({ Id: 'expire-noncurrent-versions', NoncurrentVersionExpiration: { NoncurrentDays: NONCURRENT_VERSION_DAYS } }));
  });
});
