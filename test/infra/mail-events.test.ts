import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { DsSelectionStack } from '#infra/ds-selection-stack';
import { parseStageConfig } from '#infra/stage-config';
import { MailEventsEnvSchema, SesEventBridgeEventSchema } from '#schemas/ses-event';
import { readJson } from '../helpers/samples.ts';

/*
 * Issue 8 point 3: the configuration set publishes bounces, complaints, rejects and deliveries to
 * the default EventBridge bus, and a rule sends this configuration set's events (only) to
 * handle-mail-events. Its grants are pinned with the others in stack.test.ts.
 */

type Json = Record<string, any>;
const outdir = mkdtempSync(join(tmpdir(), 'ds-selection-cdk-mail-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

process.env.CDK_VALIDATION = 'false';
const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
const stack = new DsSelectionStack(app, 'DsSelection-test', {
  stage: parseStageConfig({ name: 'test', demarcheNumbers: [98765] }), env: { account: '123456789012', region: 'eu-west-3' },
});
const template = Template.fromStack(stack);
const resources = template.toJSON().Resources as Record<string, Json>;
const id = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as CfnElement);
const configurationSet = { Ref: id(stack.mail.configurationSet) };
const functionArn = { 'Fn::GetAtt': [id(stack.functions.handleMailEvents.function), 'Arn'] };

describe('SES events to handle-mail-events', () => {
  it('the configuration set publishes bounces, complaints, rejects and deliveries to the default event bus', () => {
    const destinations = Object.values(template.findResources('AWS::SES::ConfigurationSetEventDestination')) as Json[];
    expect(destinations).toHaveLength(1);
    expect(destinations[0]!.Properties).toEqual({
      ConfigurationSetName: configurationSet,
      EventDestination: {
        Enabled: true,
        EventBridgeDestination: { EventBusArn: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':events:eu-west-3:123456789012:event-bus/default']] } },
        MatchingEventTypes: ['bounce', 'complaint', 'reject', 'delivery'],
      },
    });
  });

  it('one rule on the default bus, matching those four SES events of this configuration set only, targets the function', () => {
    const rules = Object.values(template.findResources('AWS::Events::Rule')) as Json[];
    expect(rules).toHaveLength(1);
    const rule = rules[0]!.Properties;
    expect(rule.EventBusName).toBeUndefined(); // the default bus
    expect(rule.State).toBe('ENABLED');
    expect(rule.EventPattern).toEqual({
      source: ['aws.ses'],
      'detail-type': ['Email Bounced', 'Email Complaint Received', 'Email Delivered', 'Email Rejected'],
      detail: { mail: { tags: { 'ses:configuration-set': [configurationSet] } } },
    });
    expect(rule.Targets).toEqual([{ Arn: functionArn, Id: expect.any(String) }]);
    // Only EventBridge, only from this rule, may invoke it.
    const permissions = (Object.values(template.findResources('AWS::Lambda::Permission')) as Json[])
      .filter((p) => JSON.stringify(p.Properties.FunctionName) === JSON.stringify(functionArn));
    expect(permissions).toEqual([expect.objectContaining({
      Properties: { Action: 'lambda:InvokeFunction', FunctionName: functionArn, Principal: 'events.amazonaws.com', SourceArn: { 'Fn::GetAtt': [id(stack.mail.eventsRule!), 'Arn'] } },
    })]);
  });

  it('the samples of events/ match the rule\'s pattern (source, detail-type, the configuration set tag)', () => {
    for (const kind of ['bounce', 'complaint', 'delivery', 'reject']) {
      const event = SesEventBridgeEventSchema.parse(readJson(`events/ses-${kind}.json`));
      expect(['Email Bounced', 'Email Complaint Received', 'Email Delivered', 'Email Rejected']).toContain(event['detail-type']);
      expect(event.source).toBe('aws.ses');
      expect(Object.keys(event.detail.mail.tags ?? {})).toContain('ses:configuration-set');
    }
  });

  it('the function: its environment parses, failed runs go to the schedules\' dead-letter queue, outside the VPC, errors and throttles alarmed', () => {
    const fn = resources[id(stack.functions.handleMailEvents.function)]!.Properties;
    const variables = fn.Environment.Variables as Json;
    expect(variables).toMatchObject({
      TABLE_NAME: { Ref: id(stack.storage.table) }, MAIL_FROM: 'eig-selection@example.gouv.fr', SES_CONFIGURATION_SET: configurationSet,
    });
    const parsed = MailEventsEnvSchema.safeParse(Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, typeof value === 'string' ? value : 'resolved-at-deploy'])));
    expect(parsed.error?.issues).toBeUndefined();
    expect(fn.DeadLetterConfig.TargetArn).toEqual({ 'Fn::GetAtt': [id(stack.schedules.deadLetterQueue), 'Arn'] });
    expect(fn.VpcConfig).toBeUndefined();
    expect(resources[fn.LoggingConfig.LogGroup.Ref]?.Properties.RetentionInDays).toBeGreaterThan(0);
    const alarms = (Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Json[])
      .filter((a) => JSON.stringify(a.Properties.Dimensions) === JSON.stringify([{ Name: 'FunctionName', Value: { Ref: id(stack.functions.handleMailEvents.function) } }]));
    expect(alarms.map((a) => a.Properties.MetricName).sort()).toEqual(['Errors', 'Throttles']);
  });
});
