import { beforeAll, describe, expect, it } from 'vitest';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ReshardStack } from '../../lib/reshard-stack.js';
import { retryWaitSeconds, States, TRANSIENT_ERRORS } from '../../lib/full-copy-state-machine.js';
import { stateMachineOf, StateMachineIds } from '../helpers/cdk.js';

interface AslState {
  Type: string;
  Next?: string;
  End?: boolean;
  Default?: string;
  Choices?: { Next: string; Variable?: string; BooleanEquals?: boolean }[];
  Retry?: { ErrorEquals: string[]; IntervalSeconds?: number; MaxAttempts?: number; BackoffRate?: number; MaxDelaySeconds?: number; JitterStrategy?: string }[];
  Catch?: { ErrorEquals: string[]; Next: string; ResultPath?: string }[];
  ItemsPath?: string;
  MaxConcurrency?: number;
  ResultPath?: string | null;
  ItemProcessor?: { ProcessorConfig: { Mode: string; ExecutionType?: string }; StartAt: string; States: Record<string, AslState> };
}
interface Asl {
  StartAt: string;
  States: Record<string, AslState>;
  TimeoutSeconds?: number;
}

const PLACEHOLDER = 'TOKEN';

/** DefinitionString is `Fn::Join('', [strings and intrinsic objects])`: replace the objects and parse. */
function parseDefinition(definition: unknown): Asl {
  if (typeof definition === 'string') return JSON.parse(definition) as Asl;
  const join = (definition as { 'Fn::Join': [string, unknown[]] })['Fn::Join'];
  expect(join).toBeDefined();
  const [sep, parts] = join;
  return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : PLACEHOLDER)).join(sep)) as Asl;
}

describe('ReshardStack', () => {
  let template: Template;
  let asl: Asl;

  beforeAll(() => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new ReshardStack(app, 'ReshardTest', { migrationConfigJson: '{}', maxConcurrency: 3 });
    template = Template.fromStack(stack);
    asl = parseDefinition(stateMachineOf(template, StateMachineIds.fullCopy).props.DefinitionString);
  });

  it('has two state machines: the full copy and the cut-over', () => {
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 2);
    for (const prefix of Object.values(StateMachineIds)) expect(stateMachineOf(template, prefix).id).toMatch(new RegExp(`^${prefix}[0-9A-F]{8}$`));
  });

  it('has a DynamoDB state table with point-in-time recovery and pk/sk keys', () => {
    template.resourceCountIs('AWS::DynamoDB::Table', 1);
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ]),
      BillingMode: 'PAY_PER_REQUEST',
    });
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain' });
  });

  it('has the 7 handler Lambdas on nodejs22.x', () => {
    const fns = Object.values(template.findResources('AWS::Lambda::Function')) as {
      Properties: { Runtime?: string; Environment?: { Variables?: Record<string, unknown> } };
    }[];
    const handlers = fns.filter((f) => f.Properties.Environment?.Variables?.RESHARD_HANDLER !== undefined);
    expect(handlers).toHaveLength(7);
    expect(handlers.map((f) => f.Properties.Environment!.Variables!.RESHARD_HANDLER).sort()).toEqual(['apply', 'capture', 'copy-batch', 'cutover', 'finalize', 'plan', 'verify-batch']);
    for (const f of handlers) {
      expect(f.Properties.Runtime).toBe('nodejs22.x');
      expect(f.Properties.Environment!.Variables!.RESHARD_CONFIG).toBe('reshard-config.json');
      expect(f.Properties.Environment!.Variables!.RESHARD_STATE_TABLE).toEqual({ Ref: expect.any(String) });
    }
  });

  it('starts with Plan, then the CopySegments Map, the VerifySegments Map, then Finalize', () => {
    expect(asl.StartAt).toBe(States.plan);
    expect(asl.States[States.plan]).toMatchObject({ Type: 'Task', Next: States.map });
    expect(asl.States[States.map]).toMatchObject({ Type: 'Map', Next: States.verifyMap });
    expect(asl.States[States.verifyMap]).toMatchObject({ Type: 'Map', Next: States.finalize });
    expect(asl.States[States.finalize]).toMatchObject({ Type: 'Task', End: true });
    expect(Object.keys(asl.States).sort()).toEqual([States.map, States.verifyMap, States.finalize, States.plan].sort());
  });

  it.each([
    [States.map, States.copyBatch],
    [States.verifyMap, States.verifyBatch],
  ])('%s is a distributed Map over the planned segments with MaxConcurrency 3 that fails on the first failed child', (name, start) => {
    const map = asl.States[name]!;
    expect(map.ItemProcessor?.ProcessorConfig.Mode).toBe('DISTRIBUTED');
    expect(map.ItemProcessor?.ProcessorConfig.ExecutionType).toBe('STANDARD');
    expect(map.MaxConcurrency).toBe(3);
    expect(map.ItemsPath).toBe('$.plan.segments');
    expect(map.ResultPath).toBeNull();
    expect(map.ItemProcessor?.StartAt).toBe(start);
    // Redrive-able: a failed child fails the Map Run (tolerance 0, which is also the ASL default when the
    // field is absent), so the execution ends FAILED.
    expect((map as { ToleratedFailurePercentage?: number }).ToleratedFailurePercentage ?? 0).toBe(0);
  });

  it('passes the whole execution input to Plan (so `only` can pick segments)', () => {
    expect((asl.States[States.plan] as { Parameters?: { Payload?: unknown } }).Parameters?.Payload).toEqual({ 'input.$': '$' });
  });

  it('VerifySegments starts each child at batch 0 of its segment', () => {
    expect((asl.States[States.verifyMap] as { ItemSelector?: unknown }).ItemSelector).toEqual({
      'migrationId.$': '$$.Map.Item.Value.migrationId',
      'table.$': '$$.Map.Item.Value.table',
      'segment.$': '$$.Map.Item.Value.segment',
      verify: { batch: 0 },
    });
  });

  it('tolerates failed segments when asked', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new ReshardStack(app, 'Tolerant', { migrationConfigJson: '{}', toleratedFailurePercentage: 10 });
    const def = parseDefinition(stateMachineOf(Template.fromStack(stack), StateMachineIds.fullCopy).props.DefinitionString);
    expect((def.States[States.map] as { ToleratedFailurePercentage?: number }).ToleratedFailurePercentage).toBe(10);
    expect(() => new ReshardStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Bad', { migrationConfigJson: '{}', toleratedFailurePercentage: 150 })).toThrow(/toleratedFailurePercentage/);
  });

  describe('inside the Map', () => {
    const inner = () => asl.States[States.map]!.ItemProcessor!.States;

    it('CopyBatch retries TransientError with exponential backoff and full jitter', () => {
      const copyBatch = inner()[States.copyBatch]!;
      expect(copyBatch.Type).toBe('Task');
      expect(copyBatch.Next).toBe(States.segmentCopied);
      const transient = copyBatch.Retry?.find((r) => r.ErrorEquals.includes('TransientError'));
      expect(transient).toBeDefined();
      expect(transient).toMatchObject({ BackoffRate: 2, JitterStrategy: 'FULL' });
      expect(transient!.ErrorEquals).toEqual(expect.arrayContaining(TRANSIENT_ERRORS));
      expect(transient!.MaxAttempts).toBeGreaterThan(0);
    });

    it('CopyBatch retries LeaseHeldError', () => {
      const lease = inner()[States.copyBatch]!.Retry?.find((r) => r.ErrorEquals.includes('LeaseHeldError'));
      expect(lease).toBeDefined();
      expect(lease!.MaxAttempts).toBeGreaterThan(0);
      expect(lease!.ErrorEquals).not.toContain('States.ALL');
    });

    it('CopyBatch has no Catch: when its retries are spent the child fails in CopyBatch, where a redrive resumes it', () => {
      expect(inner()[States.copyBatch]!.Catch).toBeUndefined();
      expect(Object.values(inner()).filter((st) => st.Type === 'Fail')).toEqual([]);
    });

    it('SegmentCopied? loops back to CopyBatch until done', () => {
      const choice = inner()[States.segmentCopied]!;
      expect(choice.Type).toBe('Choice');
      expect(choice.Default).toBe(States.copyBatch);
      expect(choice.Choices).toEqual([expect.objectContaining({ Variable: '$.copy.done', BooleanEquals: true, Next: States.segmentDone })]);
      expect(inner()[States.segmentDone]).toMatchObject({ Type: 'Succeed' });
    });

    it('a child ends with empty output (OutputPath null), so no child result counts against the Map', () => {
      expect(inner()[States.segmentDone]).toEqual({ Type: 'Succeed', OutputPath: null });
      expect(asl.States[States.verifyMap]!.ItemProcessor!.States[States.verifyDone]).toEqual({ Type: 'Succeed', OutputPath: null });
    });

    it('contains only the per-segment states', () => {
      expect(Object.keys(inner()).sort()).toEqual([States.copyBatch, States.segmentCopied, States.segmentDone].sort());
    });
  });

  describe('inside the verify Map', () => {
    const inner = () => asl.States[States.verifyMap]!.ItemProcessor!.States;

    it('VerifyBatch passes its cursor around the SegmentVerified? loop and retries transient errors', () => {
      const verify = inner()[States.verifyBatch]! as AslState & { Parameters?: Record<string, unknown>; ResultSelector?: Record<string, unknown> };
      expect(verify).toMatchObject({ Type: 'Task', Next: States.segmentVerified, ResultPath: '$.verify' });
      expect(verify.Parameters?.Payload).toMatchObject({ 'verify.$': '$.verify', 'segment.$': '$.segment' });
      expect(verify.ResultSelector).toEqual({ 'done.$': '$.Payload.done', 'cursor.$': '$.Payload.cursor', 'batch.$': '$.Payload.batch' });
      expect(verify.Retry?.find((r) => r.ErrorEquals.includes('TransientError'))).toMatchObject({ BackoffRate: 2, JitterStrategy: 'FULL' });
      const choice = inner()[States.segmentVerified]!;
      expect(choice.Default).toBe(States.verifyBatch);
      expect(choice.Choices).toEqual([expect.objectContaining({ Variable: '$.verify.done', BooleanEquals: true, Next: States.verifyDone })]);
    });

    it('VerifyBatch has no Catch either (redrive resumes it with its cursor)', () => {
      expect(inner()[States.verifyBatch]!.Catch).toBeUndefined();
      expect(Object.keys(inner()).sort()).toEqual([States.verifyBatch, States.segmentVerified, States.verifyDone].sort());
    });
  });

  it('logs each state machine to a vended log group of its own', () => {
    const groups = template.findResources('AWS::Logs::LogGroup');
    const entries = Object.entries(groups) as [string, { Properties: { LogGroupName?: unknown } }][];
    // The name is `Fn::Join` of the prefix, the stack name and the stack id's UUID (see lib/log-groups.ts).
    const vended = entries.filter(([, g]) => JSON.stringify(g.Properties.LogGroupName ?? '').includes('"/aws/vendedlogs/states/"')).map(([id]) => id);
    expect(vended).toHaveLength(2);
    const destinations = Object.values(StateMachineIds).map((prefix) => {
      const logging = stateMachineOf(template, prefix).props.LoggingConfiguration as { Destinations: { CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [string, string] } } }[] };
      expect(logging, prefix).toMatchObject({ Level: 'ERROR', IncludeExecutionData: false });
      expect(logging.Destinations, prefix).toHaveLength(1);
      const [groupId, attribute] = logging.Destinations[0]!.CloudWatchLogsLogGroup.LogGroupArn['Fn::GetAtt'];
      expect(attribute, prefix).toBe('Arn');
      return groupId;
    });
    expect(destinations.sort()).toEqual(vended.sort());
  });

  it('carries changes on an encrypted SQS FIFO queue in high-throughput mode with a DLQ', () => {
    const queues = template.findResources('AWS::SQS::Queue') as Record<string, { Properties: Record<string, unknown> }>;
    const [dlqId] = Object.entries(queues).find(([, q]) => q.Properties.RedrivePolicy === undefined)!;
    template.hasResourceProperties('AWS::SQS::Queue', {
      FifoQueue: true,
      ContentBasedDeduplication: false,
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 5 },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { FifoQueue: true, MessageRetentionPeriod: 1209600 });
  });

  it('feeds the apply Lambda with partial batch responses and limited concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 4 },
    });
  });

  it('lets verify-batch read the queue depth (to wait for CDC) but not send or receive', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ RESHARD_HANDLER: 'verify-batch', RESHARD_QUEUE_URL: Match.anyValue() }) },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'sqs:GetQueueAttributes', Effect: 'Allow' })]) },
    });
  });

  it('schedules one capture per source server, each event naming its server', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const sharded = Template.fromStack(new ReshardStack(app, 'ReshardSharded', { migrationConfigJson: '{}', cdc: { sourceServers: [0, 2] } }));
    const rules = Object.values(sharded.findResources('AWS::Events::Rule')) as { Properties: { ScheduleExpression: string; Targets: { Input: string }[] } }[];
    expect(rules.map((r) => [r.Properties.ScheduleExpression, JSON.parse(r.Properties.Targets[0]!.Input) as unknown])).toEqual([
      ['rate(1 minute)', { server: 0 }],
      ['rate(1 minute)', { server: 2 }],
    ]);
  });

  it('runs capture every minute, with the queue URL and send permission only', () => {
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ RESHARD_HANDLER: 'capture', RESHARD_QUEUE_URL: Match.anyValue() }) },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([Match.objectLike({ Action: ['sqs:SendMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl'], Effect: 'Allow' })]),
      },
    });
  });
});

describe('a crashed CopyBatch leaves its segment lease behind', () => {
  /** The CopyBatch LeaseHeldError retry of the stack synthesized for a migration with this `copy.leaseSeconds`. */
  function leaseRetry(leaseSeconds?: number) {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const config = leaseSeconds === undefined ? {} : { copy: { leaseSeconds } };
    const stack = new ReshardStack(app, `Lease${leaseSeconds ?? 'Default'}`, { migrationConfigJson: JSON.stringify(config) });
    const copySegments = parseDefinition(stateMachineOf(Template.fromStack(stack), StateMachineIds.fullCopy).props.DefinitionString).States[States.map]!;
    return copySegments.ItemProcessor!.States[States.copyBatch]!.Retry!.find((r) => r.ErrorEquals.includes('LeaseHeldError'))!;
  }

  it.each([[undefined, 120], [120, 120], [600, 600], [3600, 3600]])('with copy.leaseSeconds %s, the retries outlast a live invocation and then the lease (%s s)', (given, lease) => {
    const r = leaseRetry(given);
    // Without jitter every wait is the full delay, so the sum below is what Step Functions really waits.
    expect(r.JitterStrategy).toBeUndefined();
    const waited = retryWaitSeconds(r.MaxAttempts!, { intervalSeconds: r.IntervalSeconds!, backoffRate: r.BackoffRate!, maxDelaySeconds: r.MaxDelaySeconds! });
    expect(waited).toBeGreaterThanOrEqual(900 + lease);
    expect(retryWaitSeconds(r.MaxAttempts! - 1, { intervalSeconds: r.IntervalSeconds!, backoffRate: r.BackoffRate!, maxDelaySeconds: r.MaxDelaySeconds! })).toBeLessThan(900 + lease + 60);
  });
});
