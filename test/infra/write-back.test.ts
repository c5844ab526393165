import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnElement, type Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, describe, expect, it } from 'vitest';
import { DsSelectionStack } from '#infra/ds-selection-stack';
import { SCHEDULE_TIME_ZONE, WRITE_BACK_SCHEDULES } from '#infra/schedules';
import { parseStageConfig, type StageConfigInput } from '#infra/stage-config';
import { WRITE_TOKEN_OUTPUT, WriteBackEnvSchema } from '#schemas/write-back';

/*
 * Write-back in the stack (docs/deploy.md section 16): the function, its schedule, the write
 * token's secret and output exist only when the stage enables it; the function's grants are
 * pinned; no other role may read the write token; it goes behind the fixed egress IP; cdk-nag passes.
 */

type Json = Record<string, any>;
const outdirs: string[] = [];
afterAll(() => outdirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

const INSTRUCTEUR = 'SW5zdHJ1Y3RldXItMTIz';
const ENABLED = { writeBack: { enabled: true, instructeurId: INSTRUCTEUR, annotations: { score: 'Q2hhbXAtOTAwMQ==' } } } satisfies Partial<StageConfigInput>;

function build(overrides: Partial<StageConfigInput>) {
  const outdir = mkdtempSync(join(tmpdir(), 'ds-selection-cdk-wb-'));
  outdirs.push(outdir);
  const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
  const stage = parseStageConfig({ name: 'test', demarcheNumbers: [98765], ...overrides });
  const stack = new DsSelectionStack(app, 'DsSelection-test', { stage, env: { account: '123456789012', region: 'eu-west-3' } });
  const previous = process.env.CDK_VALIDATION;
  process.env.CDK_VALIDATION = 'false';
  try {
    return { app, stack, template: Template.fromStack(stack) };
  } finally {
    if (previous === undefined) delete process.env.CDK_VALIDATION;
    else process.env.CDK_VALIDATION = previous;
  }
}

const asArray = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);
const logicalId = (stack: Stack, construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as CfnElement);

function roleStatements(template: Template, roleId: string): Json[] {
  const role = template.toJSON().Resources[roleId] as Json;
  const inline = asArray<Json>(role.Properties.Policies).flatMap((policy) => asArray<Json>(policy.PolicyDocument.Statement));
  const attached = Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((policy: Json) => asArray<Json>(policy.Properties.Roles).some((ref) => ref.Ref === roleId))
    .flatMap((policy: Json) => asArray<Json>(policy.Properties.PolicyDocument.Statement));
  return [...inline, ...attached];
}

describe('write-back in the stack', () => {
  it('is absent by default: no function, no schedule, no write secret, no output', () => {
    const { stack, template } = build({});
    expect(stack.writeBackDecisions).toBeUndefined();
    expect(stack.secrets.dsWriteToken).toBeUndefined();
    const json = template.toJSON();
    expect(json.Outputs[WRITE_TOKEN_OUTPUT]).toBeUndefined();
    const names = Object.values(template.findResources('AWS::Scheduler::Schedule')).map((s: Json) => s.Properties.Description as string);
    expect(names.some((d) => /write the decisions/.test(d))).toBe(false);
    expect(Object.values(template.findResources('AWS::SecretsManager::Secret')).some((s: Json) => /WRITE ACCESS/.test(s.Properties.Description))).toBe(false);
  });

  const enabled = (() => {
    let built: ReturnType<typeof build> | undefined;
    return () => (built ??= build(ENABLED));
  })();

  it('when enabled: the function with its environment (write token by ARN, settings), the schedule and the output', () => {
    const { stack, template } = enabled();
    const fn = stack.writeBackDecisions!;
    expect(fn).toBeDefined();
    const props = (template.toJSON().Resources[logicalId(stack, fn.function)] as Json).Properties;
    expect(props.Timeout).toBe(900);
    const env = props.Environment.Variables as Json;
    expect(Object.keys(env).filter((k) => !/^(POWERTOOLS_|NODE_OPTIONS)/.test(k)).sort())
      .toEqual(['DS_API_TIMEOUT_SECONDS', 'DS_API_URL', 'DS_WRITE_TOKEN_SECRET_ARN', 'TABLE_NAME', 'WRITE_BACK_SETTINGS']);
    expect(env.DS_WRITE_TOKEN_SECRET_ARN).toEqual({ Ref: logicalId(stack, stack.secrets.dsWriteToken!) });
    expect(env.DS_API_TOKEN_SECRET_ARN).toBeUndefined();
    const parsed = WriteBackEnvSchema.safeParse({ ...env, TABLE_NAME: 't', DS_WRITE_TOKEN_SECRET_ARN: 'arn:aws:secretsmanager:x' });
    expect(parsed.success).toBe(true);
    expect(parsed.data!.WRITE_BACK_SETTINGS).toMatchObject({ instructeurId: INSTRUCTEUR, annotations: { score: 'Q2hhbXAtOTAwMQ==' } });

    const [definition] = WRITE_BACK_SCHEDULES;
    const schedules = Object.values(template.findResources('AWS::Scheduler::Schedule')) as Json[];
    const schedule = schedules.find((s) => s.Properties.ScheduleExpression === definition!.expression);
    expect(schedule?.Properties).toMatchObject({ ScheduleExpressionTimezone: SCHEDULE_TIME_ZONE, State: 'ENABLED' });
    expect(schedule?.Properties.Target.Arn).toEqual({ 'Fn::GetAtt': [logicalId(stack, fn.function), 'Arn'] });
    expect(definition!.expression).toBe('cron(0 9 23 1,3,5,7,9,11 ? *)');
    expect(template.toJSON().Outputs[WRITE_TOKEN_OUTPUT].Value).toEqual({ Ref: logicalId(stack, stack.secrets.dsWriteToken!) });
  });

  it('its role: its round items, the dossiers-of-a-round index, its own secret; nothing else', () => {
    const { stack, template } = enabled();
    const fn = stack.writeBackDecisions!;
    const roleId = (template.toJSON().Resources[logicalId(stack, fn.function)] as Json).Properties.Role['Fn::GetAtt'][0] as string;
    const statements = roleStatements(template, roleId).map((s) => ({ Sid: s.Sid, Action: s.Action, Condition: s.Condition }));
    expect(statements.filter((s) => !/^logs:/.test(asArray<string>(s.Action)[0]!))).toEqual(expect.arrayContaining([
      { Sid: 'WriteBackRoundItems', Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query'], Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['ROUND#*'] } } },
      { Sid: 'DossiersOfARoundByIndex', Action: 'dynamodb:Query', Condition: undefined },
      { Sid: 'ReadOwnSecret', Action: 'secretsmanager:GetSecretValue', Condition: undefined },
    ]));
    const actions = roleStatements(template, roleId).flatMap((s) => asArray<string>(s.Action));
    expect(actions.filter((a) => !a.startsWith('logs:') && a !== 'sqs:SendMessage').sort())
      .toEqual(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:Query', 'secretsmanager:GetSecretValue'].sort());
    expect(actions.some((a) => /^(s3|ses|ec2):/.test(a))).toBe(false);
  });

  it('only write-back-decisions may read the write token; it never reads the read token', () => {
    const { stack, template } = enabled();
    const writeId = logicalId(stack, stack.secrets.dsWriteToken!);
    const readId = logicalId(stack, stack.secrets.dsApiToken);
    const fnRole = (template.toJSON().Resources[logicalId(stack, stack.writeBackDecisions!.function)] as Json).Properties.Role['Fn::GetAtt'][0] as string;
    const policies = template.findResources('AWS::IAM::Policy') as Record<string, Json>;
    const readers = (secretId: string) => Object.values(policies)
      .filter((policy) => asArray<Json>(policy.Properties.PolicyDocument.Statement)
        .some((s) => JSON.stringify(s.Resource ?? '').includes(`"${secretId}"`) || JSON.stringify(s.Resource ?? '') === JSON.stringify({ Ref: secretId })))
      .flatMap((policy) => asArray<Json>(policy.Properties.Roles).map((ref) => ref.Ref as string));
    expect(readers(writeId)).toEqual([fnRole]);
    expect(readers(readId)).not.toContain(fnRole);
  });

  it('behind the fixed egress IP when the stage has one, and clean under cdk-nag', () => {
    const { stack, template, app } = build({ ...ENABLED, fixedEgressIp: true });
    const props = (template.toJSON().Resources[logicalId(stack, stack.writeBackDecisions!.function)] as Json).Properties;
    expect(props.VpcConfig?.SubnetIds).toBeDefined();
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    const previous = process.env.CDK_VALIDATION;
    process.env.CDK_VALIDATION = 'false';
    try {
      expect(() => app.synth()).not.toThrow();
    } finally {
      if (previous === undefined) delete process.env.CDK_VALIDATION;
      else process.env.CDK_VALIDATION = previous;
    }
  });
});
