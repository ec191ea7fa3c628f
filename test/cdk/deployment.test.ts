/**
 * The per-environment stacks as `cdk synth -c env=<name>` builds them: state table protection and TTL,
 * encryption, DLQ wiring, VPC placement, secrets and IAM scoping, concurrency, tracing.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { actionsOf, buildEnvironment, ENVIRONMENTS, handlerFunctions, statementsOf, synthEnvironment, type SynthesizedEnvironment } from '../helpers/cdk.js';
import { DATABASE_HANDLERS, HANDLERS } from '../../lib/reshard-stack.js';
import { States } from '../../lib/full-copy-state-machine.js';

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string; UpdateReplacePolicy?: string };

const synthesized: Record<string, SynthesizedEnvironment> = {};
beforeAll(async () => {
  for (const name of ENVIRONMENTS) synthesized[name] = await synthEnvironment(name);
});

function only<T>(record: Record<string, T>): [string, T] {
  const entries = Object.entries(record);
  expect(entries).toHaveLength(1);
  return entries[0]!;
}
const queues = (t: Template) => {
  const all = t.findResources('AWS::SQS::Queue') as Record<string, Resource>;
  const [changesId] = Object.entries(all).find(([, q]) => q.Properties.RedrivePolicy !== undefined)!;
  const [dlqId] = Object.entries(all).find(([, q]) => q.Properties.RedrivePolicy === undefined)!;
  return { changesId, dlqId };
};
const alarmsOf = (t: Template) =>
  new Map(Object.values(t.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>).map((a) => [String(a.Properties.AlarmName), a.Properties]));
const resolvedJson = (value: unknown) => JSON.stringify(value);

/** An alarm's single metric, whether CDK rendered it flat or (for a labelled metric) as a one-entry Metrics list. */
function metricOf(alarm: Record<string, unknown> | undefined): Record<string, unknown> {
  expect(alarm).toBeDefined();
  const list = alarm!.Metrics as { MetricStat?: { Metric: Record<string, unknown>; Stat: string; Period: number }; ReturnData?: boolean }[] | undefined;
  if (!list) return { Namespace: alarm!.Namespace, MetricName: alarm!.MetricName, Dimensions: alarm!.Dimensions, Statistic: alarm!.Statistic, Period: alarm!.Period };
  expect(list).toHaveLength(1);
  const { Metric: m, Stat, Period } = list[0]!.MetricStat!;
  return { Namespace: m.Namespace, MetricName: m.MetricName, Dimensions: m.Dimensions, Statistic: Stat, Period };
}

describe.each(ENVIRONMENTS)('the %s stack', (name) => {
  const s = () => synthesized[name]!;
  const t = () => s().template;

  it(`is named Reshard-${name} and deploys to the configured account and region`, () => {
    expect(s().stack.stackName).toBe(`Reshard-${name}`);
    expect(s().stack.account).toBe(s().env.settings.account);
    expect(s().stack.region).toBe(s().env.settings.region);
  });

  it('keeps state in an encrypted table with PITR and the expiresAt TTL; protected only in prod', () => {
    const [, table] = only(t().findResources('AWS::DynamoDB::Table') as Record<string, Resource>);
    expect(table.Properties).toMatchObject({
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
    if (name === 'prod') {
      expect(table.DeletionPolicy).toBe('Retain');
      expect(table.Properties.DeletionProtectionEnabled).toBe(true);
    } else {
      expect(table.DeletionPolicy).toBe('Delete');
      expect(table.Properties.DeletionProtectionEnabled).toBe(false);
    }
  });

  it('encrypts both queues, sends change messages to the DLQ after maxReceiveCount, and enforces TLS', () => {
    const { changesId, dlqId } = queues(t());
    for (const id of [changesId, dlqId]) expect((t().findResources('AWS::SQS::Queue')[id] as Resource).Properties.SqsManagedSseEnabled).toBe(true);
    t().hasResourceProperties('AWS::SQS::Queue', {
      FifoQueue: true,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: s().env.migration.cdc.maxReceiveCount },
    });
    for (const id of [changesId, dlqId])
      t().hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id }],
        PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
      });
  });

  it('feeds apply with the configured batch size and maximum concurrency', () => {
    const settings = s().env.settings;
    t().hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: settings.batchSizes.apply,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: settings.concurrency.applyMaxConcurrency ?? Math.max(2, s().env.migration.cdc.applyConcurrency) },
    });
  });

  it('runs the segment Map with the configured MaxConcurrency', () => {
    const [, machine] = only(t().findResources('AWS::StepFunctions::StateMachine') as Record<string, Resource>);
    const text = resolvedJson(machine.Properties.DefinitionString);
    const expected = s().env.settings.concurrency.mapMaxConcurrency ?? s().env.migration.copy.concurrency;
    expect(text).toContain(`\\"${States.map}\\":{\\"Type\\":\\"Map\\"`);
    expect(text).toContain(`\\"MaxConcurrency\\":${expected}`);
  });

  it('bundles the migration config and names the migration on every function', () => {
    const fns = handlerFunctions(t());
    expect([...fns.keys()].sort()).toEqual(Object.keys(HANDLERS).sort());
    for (const [, fn] of fns) {
      const vars = (fn.props.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(vars).toMatchObject({ RESHARD_CONFIG: 'reshard-config.json', RESHARD_MIGRATION_ID: 'orders-2026' });
      expect(vars.RESHARD_CONFIG_JSON).toBeUndefined();
      expect(resolvedJson(vars)).not.toMatch(/password"/i);
    }
  });

  it('gives the database secrets only to the functions that reach the databases', () => {
    const secrets = s().env.settings.secrets;
    for (const [handler, fn] of handlerFunctions(t())) {
      const vars = (fn.props.Environment as { Variables: Record<string, unknown> }).Variables;
      const statements = statementsOf(t(), fn.id).filter((st) => actionsOf([st]).some((a) => a.startsWith('secretsmanager:')));
      if (DATABASE_HANDLERS.includes(handler as never)) {
        expect(JSON.parse(String(vars.RESHARD_SECRETS))).toEqual(secrets);
        expect(actionsOf(statements).sort()).toEqual(Array(Object.keys(secrets).length).fill(['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue']).flat().sort());
        expect(statements.map((st) => st.Resource).sort()).toEqual(Object.values(secrets).sort());
      } else {
        expect(vars.RESHARD_SECRETS, handler).toBeUndefined();
        expect(statements, handler).toEqual([]);
      }
    }
  });

  it('lets capture send to the change queue and apply only consume it', () => {
    const { changesId, dlqId } = queues(t());
    const fns = handlerFunctions(t());
    const sqsActions = (handler: string) => actionsOf(statementsOf(t(), fns.get(handler)!.id).filter((st) => actionsOf([st]).some((a) => a.startsWith('sqs:'))));
    expect(sqsActions('capture')).toContain('sqs:SendMessage');
    expect(sqsActions('capture')).not.toContain('sqs:ReceiveMessage');
    expect(sqsActions('apply')).toEqual(expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility']));
    expect(sqsActions('apply')).not.toContain('sqs:SendMessage');
    for (const handler of ['plan', 'copy-batch', 'mark-failed', 'finalize']) expect(sqsActions(handler), handler).toEqual([]);
    for (const handler of ['capture', 'apply'])
      for (const st of statementsOf(t(), fns.get(handler)!.id).filter((x) => actionsOf([x]).some((a) => a.startsWith('sqs:'))))
        expect(st.Resource, handler).toEqual({ 'Fn::GetAtt': [changesId, 'Arn'] });
    // Nothing reads or writes the DLQ: it is drained from the console (redrive to source).
    for (const [handler, fn] of fns) expect(resolvedJson(statementsOf(t(), fn.id)), handler).not.toContain(dlqId);
  });

  it('scopes every DynamoDB grant to the state table', () => {
    const [tableId] = only(t().findResources('AWS::DynamoDB::Table'));
    for (const [handler, fn] of handlerFunctions(t()))
      for (const st of statementsOf(t(), fn.id).filter((x) => actionsOf([x]).some((a) => a.startsWith('dynamodb:'))))
        expect(st.Resource, handler).toEqual([{ 'Fn::GetAtt': [tableId, 'Arn'] }]);
  });

  it('places only the database-reaching functions in the VPC, and only when the environment has one', () => {
    const network = s().env.settings.network;
    for (const [handler, fn] of handlerFunctions(t())) {
      if (network && DATABASE_HANDLERS.includes(handler as never))
        expect(fn.props.VpcConfig, handler).toEqual({ SubnetIds: network.privateSubnetIds, SecurityGroupIds: [network.securityGroupId] });
      else expect(fn.props.VpcConfig, handler).toBeUndefined();
    }
    expect(Object.keys(t().findResources('AWS::EC2::SecurityGroup'))).toEqual([]); // imported, never created
  });

  it('traces with X-Ray when the environment says so', () => {
    const tracing = s().env.settings.tracing;
    for (const [handler, fn] of handlerFunctions(t())) expect(fn.props.TracingConfig, handler).toEqual(tracing ? { Mode: 'Active' } : undefined);
    const [, machine] = only(t().findResources('AWS::StepFunctions::StateMachine') as Record<string, Resource>);
    expect((machine.Properties.TracingConfiguration as { Enabled?: boolean } | undefined)?.Enabled ?? false).toBe(tracing);
  });

  it('reserves the configured concurrency', () => {
    const reserved = s().env.settings.concurrency.reserved as Record<string, number | undefined>;
    for (const [handler, fn] of handlerFunctions(t())) expect(fn.props.ReservedConcurrentExecutions, handler).toEqual(reserved[handler]);
  });

  it('reads the migration config from SSM only where configured', () => {
    const parameter = s().env.settings.migrationConfig.ssmParameter;
    for (const [handler, fn] of handlerFunctions(t())) {
      const vars = (fn.props.Environment as { Variables: Record<string, unknown> }).Variables;
      const ssm = statementsOf(t(), fn.id).filter((st) => actionsOf([st]).some((a) => a.startsWith('ssm:')));
      if (parameter) {
        expect(vars.RESHARD_CONFIG_PARAMETER, handler).toBe(parameter);
        expect(actionsOf(ssm), handler).toContain('ssm:GetParameter');
        expect(resolvedJson(ssm.map((st) => st.Resource))).toContain(`:parameter${parameter}`);
      } else {
        expect(vars.RESHARD_CONFIG_PARAMETER, handler).toBeUndefined();
        expect(ssm, handler).toEqual([]);
      }
    }
  });
});

describe('settings the stack refuses', () => {
  it('a tolerated failure percentage the segment Map cannot take yet', async () => {
    await expect(buildEnvironment('dev', (env) => ({ ...env, settings: { ...env.settings, toleratedFailurePercentage: 5 } }))).rejects.toThrow(/toleratedFailurePercentage 5/);
  });
});
