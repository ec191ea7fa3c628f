/**
 * What a destroy and a redeploy meet, per environment: log groups for every function and both state machines
 * with the configured retention, names that never collide with what a deleted stack retained, the
 * env-derived state table name, what is retained, the stack Outputs, and the capture timeout from its budget.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Template } from 'aws-cdk-lib/assertions';
import { environmentIssues, envJson, ENVIRONMENTS, handlerFunctions, stateMachineOf, StateMachineIds, synthEnvironment, type SynthesizedEnvironment } from '../helpers/cdk.js';
import { parseEnvironment } from '../../lib/environment.js';
import { CAPTURE_TIMEOUT_MARGIN_SECONDS, captureTimeout } from '../../lib/cdc.js';
import { StackOutputs } from '../../lambdas/core/stack-outputs.js';

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string; UpdateReplacePolicy?: string };

const synthesized: Record<string, SynthesizedEnvironment> = {};
beforeAll(async () => {
  for (const name of ENVIRONMENTS) synthesized[name] = await synthEnvironment(name);
});

const resourcesOf = (t: Template, type: string) => Object.entries(t.findResources(type) as Record<string, Resource>);
/** The logical id of the template's one resource of `type`. */
function onlyId(t: Template, type: string): string {
  const all = resourcesOf(t, type);
  expect(all, type).toHaveLength(1);
  return all[0]![0];
}
/** The first 8 hex digits of the stack id's UUID, as lib/log-groups.ts renders them. */
const STACK_INSTANCE = { 'Fn::Select': [0, { 'Fn::Split': ['-', { 'Fn::Select': [2, { 'Fn::Split': ['/', { Ref: 'AWS::StackId' }] }] }] }] };
const logGroupName = (prefix: string, label: string) => ({ 'Fn::Join': ['', [prefix, { Ref: 'AWS::StackName' }, `-${label}-`, STACK_INSTANCE]] });
/** Name properties CloudFormation makes unique per account and region. */
const NAME_PROPERTIES = ['LogGroupName', 'TableName', 'QueueName', 'TopicName', 'FunctionName', 'StateMachineName', 'AliasName'];

describe.each(ENVIRONMENTS)('the %s stack on destroy and redeploy', (name) => {
  const s = () => synthesized[name]!;
  const t = () => s().template;
  const protect = () => s().env.settings.protectState ?? name === 'prod';
  const policy = () => (protect() ? 'Retain' : 'Delete');

  it('gives every function its own log group with the configured retention, retained only when state is protected', () => {
    const groups = Object.fromEntries(resourcesOf(t(), 'AWS::Logs::LogGroup'));
    const fns = handlerFunctions(t());
    expect(fns.size).toBe(7);
    for (const [handler, fn] of fns) {
      const ref = (fn.props.LoggingConfig as { LogGroup?: { Ref?: string } } | undefined)?.LogGroup?.Ref;
      expect(ref, handler).toBeDefined();
      const group = groups[ref!]!;
      expect(group.Properties.RetentionInDays, handler).toBe(s().env.settings.logRetentionDays);
      expect(group.Properties.LogGroupName, handler).toEqual(logGroupName('/aws/lambda/', handler));
      expect([group.DeletionPolicy, group.UpdateReplacePolicy], handler).toEqual([policy(), policy()]);
    }
  });

  it.each([
    [StateMachineIds.fullCopy, 'FullCopy'],
    [StateMachineIds.cutover, 'Cutover'],
  ])('logs the %s machine to a vended log group named per stack instance (%s), with the same retention', (prefix, label) => {
    const machine = stateMachineOf(t(), prefix);
    const arn = (machine.props.LoggingConfiguration as { Destinations: { CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [string, string] } } }[] })
      .Destinations[0]!.CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'];
    const group = t().findResources('AWS::Logs::LogGroup')[arn[0]] as Resource;
    expect(group.Properties.LogGroupName).toEqual(logGroupName('/aws/vendedlogs/states/', label));
    expect(group.Properties.RetentionInDays).toBe(s().env.settings.logRetentionDays);
    expect([group.DeletionPolicy, group.UpdateReplacePolicy]).toEqual([policy(), policy()]);
  });

  it('has nine log groups in all: seven functions and two state machines', () => {
    expect(resourcesOf(t(), 'AWS::Logs::LogGroup')).toHaveLength(9);
  });

  it('names nothing it retains with a fixed name, except the protected state table (adopted again by cdk import)', () => {
    const resources = (t().toJSON() as { Resources: Record<string, Resource> }).Resources;
    const fixed = Object.entries(resources).flatMap(([id, r]) =>
      NAME_PROPERTIES.filter((p) => r.Properties?.[p] !== undefined && !JSON.stringify(r.Properties[p]).includes('AWS::StackId'))
        .filter(() => r.DeletionPolicy === 'Retain')
        .map((p) => `${id}.${p}=${JSON.stringify(r.Properties[p])}`),
    );
    const tableId = onlyId(t(), 'AWS::DynamoDB::Table');
    expect(fixed).toEqual(protect() ? [`${tableId}.TableName="reshard-${name}-state"`] : []);
  });

  it(`names the state table reshard-${name}-state; Retain with deletion protection only when state is protected`, () => {
    const tables = resourcesOf(t(), 'AWS::DynamoDB::Table');
    expect(tables).toHaveLength(1);
    const [id, table] = tables[0]!;
    // docs/operations.md names this logical id in its `cdk import` command.
    expect(id).toBe('State1C20CC9A');
    expect(table.Properties.TableName).toBe(`reshard-${name}-state`);
    expect([table.DeletionPolicy, table.UpdateReplacePolicy]).toEqual([policy(), policy()]);
    expect(table.Properties.DeletionProtectionEnabled).toBe(protect());
  });

  it('retains the change queue and the DLQ (with their messages) only when state is protected', () => {
    const queues = resourcesOf(t(), 'AWS::SQS::Queue');
    expect(queues).toHaveLength(2);
    for (const [id, q] of queues) {
      expect([q.DeletionPolicy, q.UpdateReplacePolicy], id).toEqual([policy(), policy()]);
      expect(q.Properties.QueueName, id).toBeUndefined();
    }
  });

  it('outputs the state table, both queues, both state machines and the dashboard URL', () => {
    const outputs = (t().toJSON() as { Outputs: Record<string, { Value: unknown }> }).Outputs;
    const tableId = onlyId(t(), 'AWS::DynamoDB::Table');
    const queues = resourcesOf(t(), 'AWS::SQS::Queue');
    const [changesId] = queues.find(([, q]) => q.Properties.RedrivePolicy !== undefined)!;
    const [dlqId] = queues.find(([, q]) => q.Properties.RedrivePolicy === undefined)!;
    const fullCopyId = stateMachineOf(t(), StateMachineIds.fullCopy).id;
    const cutoverId = stateMachineOf(t(), StateMachineIds.cutover).id;
    const dashboardId = onlyId(t(), 'AWS::CloudWatch::Dashboard');
    const region = s().env.settings.region;
    expect(Object.fromEntries(Object.entries(outputs).map(([k, o]) => [k, o.Value]))).toEqual({
      [StackOutputs.stateTable]: { Ref: tableId },
      [StackOutputs.changeQueue]: { Ref: changesId },
      [StackOutputs.deadLetterQueue]: { Ref: dlqId },
      [StackOutputs.fullCopyStateMachine]: { Ref: fullCopyId },
      [StackOutputs.cutoverStateMachine]: { Ref: cutoverId },
      [StackOutputs.dashboard]: { 'Fn::Join': ['', [`https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards:name=`, { Ref: dashboardId }]] },
    });
    expect(Object.keys(StackOutputs)).toHaveLength(6);
  });
});

describe('the capture timeout', () => {
  it.each([50, 600, 840])('is budget + margin for a %s s budget, and the schedule stays every minute', async (budget) => {
    const { template, env } = await synthEnvironment('prod', (e) => ({ ...e, migration: { ...e.migration, cdc: { ...e.migration.cdc, captureBudgetSeconds: budget } } }));
    expect(env.migration.cdc.captureBudgetSeconds).toBe(budget);
    const capture = handlerFunctions(template).get('capture')!;
    expect(capture.props.Timeout).toBe(budget + CAPTURE_TIMEOUT_MARGIN_SECONDS);
    expect(capture.props.Timeout).toBeLessThanOrEqual(900);
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [{ Arn: { 'Fn::GetAtt': [capture.id, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0 } }],
    });
  });

  it('refuses a budget that leaves no room under 900 s', () => {
    expect(captureTimeout(870).toSeconds()).toBe(900);
    expect(() => captureTimeout(871)).toThrow(/captureBudgetSeconds 871/);
    expect(() => captureTimeout(0)).toThrow(/captureBudgetSeconds 0/);
  });
});

describe('logRetentionDays', () => {
  const prod = () => envJson('prod');
  const issuesOf = environmentIssues;

  it('defaults to 30 days and accepts the retentions CloudWatch Logs offers', () => {
    const { logRetentionDays: _, ...rest } = prod();
    expect(parseEnvironment(rest, 'config/test.json').logRetentionDays).toBe(30);
    for (const days of [1, 7, 90, 365, 3653]) expect(parseEnvironment({ ...prod(), logRetentionDays: days }, 'config/test.json').logRetentionDays).toBe(days);
  });

  it.each([0, 2, 31, 9999, 7.5])('refuses %s, naming the field', (days) => {
    const issues = issuesOf({ ...prod(), logRetentionDays: days });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^logRetentionDays: must be a CloudWatch Logs retention in days: 1, 3, 5, 7, 14, 30, 60, 90/);
  });
});
