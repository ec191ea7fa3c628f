/**
 * The per-environment stacks as `cdk synth -c env=<name>` builds them: state table protection and TTL,
 * encryption, DLQ wiring, VPC placement, secrets and IAM scoping, concurrency, tracing, and every alarm with
 * its metric, threshold and SNS action, plus the dashboard.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Match, Template } from 'aws-cdk-lib/assertions';
import {
  actionsOf,
  buildEnvironment,
  customMetric,
  ENVIRONMENTS,
  handlerFunctions,
  stateMachineOf,
  StateMachineIds,
  statementsOf,
  synthEnvironment,
  type SynthesizedEnvironment,
} from '../helpers/cdk.js';
import { DATABASE_HANDLERS, HANDLERS } from '../../lib/reshard-stack.js';
import { States } from '../../lib/full-copy-state-machine.js';
import { Metric } from '../../lambdas/core/metric-names.js';

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
    const text = resolvedJson(stateMachineOf(t(), StateMachineIds.fullCopy).props.DefinitionString);
    const expected = s().env.settings.concurrency.mapMaxConcurrency ?? s().env.migration.copy.concurrency;
    expect(text).toContain(`\\"${States.map}\\":{\\"Type\\":\\"Map\\"`);
    expect(text).toContain(`\\"MaxConcurrency\\":${expected}`);
  });

  it('gives capture and apply (per-event garbage) a larger young generation, copy-batch (pages in flight) a larger old one; source maps everywhere', () => {
    for (const [handler, fn] of handlerFunctions(t())) {
      const options = (fn.props.Environment as { Variables: Record<string, string> }).Variables.NODE_OPTIONS!;
      expect(options).toContain('--enable-source-maps');
      expect(options.includes('--max-semi-space-size=64')).toBe(handler === 'capture' || handler === 'apply');
      expect(options.includes('--max-old-space-size=768')).toBe(handler === 'copy-batch');
      // The old generation's cap stays under the function's memory, leaving room for buffers off the heap.
      if (handler === 'copy-batch') expect(fn.props.MemorySize).toBeGreaterThanOrEqual(1024);
    }
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

  it('gives the database secrets only to the functions that reach the databases, and capture only those of the servers it reads', () => {
    const all = s().env.settings.secrets;
    const m = s().env.migration;
    // Capture reads the source servers, and with reverse replication the target servers too.
    const read = [m.source, ...(m.source.connections ?? []), ...(m.cutover.reverse ? [m.target.connection, ...(m.target.connections ?? [])] : [])];
    const sourceEnvs = new Set(read.map((c) => c.passwordEnv));
    for (const [handler, fn] of handlerFunctions(t())) {
      const vars = (fn.props.Environment as { Variables: Record<string, unknown> }).Variables;
      const statements = statementsOf(t(), fn.id).filter((st) => actionsOf([st]).some((a) => a.startsWith('secretsmanager:')));
      const secrets = handler === 'capture' ? Object.fromEntries(Object.entries(all).filter(([k]) => sourceEnvs.has(k))) : all;
      if (handler === 'capture' && !m.cutover.reverse) expect(Object.keys(secrets).length).toBeLessThan(Object.keys(all).length);
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

  it('lets only the database-reaching functions decrypt with the secrets\' customer keys, through Secrets Manager only', () => {
    const keys = s().env.settings.secretsKmsKeys;
    const region = s().env.settings.region;
    for (const [handler, fn] of handlerFunctions(t())) {
      const decrypt = statementsOf(t(), fn.id).filter((st) => actionsOf([st]).includes('kms:Decrypt'));
      if (DATABASE_HANDLERS.includes(handler as never) && keys.length) {
        expect(decrypt, handler).toHaveLength(1);
        expect(decrypt[0]).toMatchObject({ Effect: 'Allow', Resource: keys.length === 1 ? keys[0] : keys, Condition: { StringEquals: { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com` } } });
      } else expect(decrypt, handler).toEqual([]);
    }
  });

  it('lets capture send to the change queue and apply only consume it; the cut-over sends and reads both depths, nothing more', () => {
    const { changesId, dlqId } = queues(t());
    const fns = handlerFunctions(t());
    const sqsStatements = (handler: string) => statementsOf(t(), fns.get(handler)!.id).filter((st) => actionsOf([st]).some((a) => a.startsWith('sqs:')));
    const sqsActions = (handler: string) => actionsOf(sqsStatements(handler));
    expect(sqsActions('capture')).toContain('sqs:SendMessage');
    expect(sqsActions('capture')).not.toContain('sqs:ReceiveMessage');
    expect(sqsActions('apply')).toEqual(expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility']));
    expect(sqsActions('apply')).not.toContain('sqs:SendMessage');
    for (const handler of ['plan', 'copy-batch']) expect(sqsActions(handler), handler).toEqual([]);
    // Verification and finalize wait for CDC to drain: they may read the queue's depth, nothing else.
    for (const handler of ['verify-batch', 'finalize']) expect(sqsActions(handler), handler).toEqual(['sqs:GetQueueAttributes']);
    for (const handler of ['capture', 'apply'])
      for (const st of sqsStatements(handler)) expect(st.Resource, handler).toEqual({ 'Fn::GetAtt': [changesId, 'Arn'] });
    // The cut-over's catch-up runs capture itself (send, as capture's grant: SendMessage with GetQueueUrl and
    // GetQueueAttributes) and waits for apply by the queue's depth; its precheck reads the DLQ's depth. It never
    // receives, deletes or purges, and reads nothing else of the DLQ.
    const queueOf = (resource: unknown) =>
      resolvedJson(resource) === resolvedJson({ 'Fn::GetAtt': [changesId, 'Arn'] }) ? 'changes' : resolvedJson(resource) === resolvedJson({ 'Fn::GetAtt': [dlqId, 'Arn'] }) ? 'DLQ' : resolvedJson(resource);
    const cutoverGrants = new Set(sqsStatements('cutover').flatMap((st) => actionsOf([st]).map((a) => `${a} on ${queueOf(st.Resource)}`)));
    expect([...cutoverGrants].sort()).toEqual(['sqs:GetQueueAttributes on DLQ', 'sqs:GetQueueAttributes on changes', 'sqs:GetQueueUrl on changes', 'sqs:SendMessage on changes']);
    // No other function reads or writes the DLQ: it is drained from the console (redrive to source).
    for (const [handler, fn] of fns) if (handler !== 'cutover') expect(resolvedJson(statementsOf(t(), fn.id)), handler).not.toContain(dlqId);
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
    // The functions' group is imported, never created; the only one created belongs to the VPC endpoints.
    expect(Object.keys(t().findResources('AWS::EC2::SecurityGroup'))).toHaveLength(network?.endpoints === 'create' ? 1 : 0);
  });

  it('traces with X-Ray when the environment says so', () => {
    const tracing = s().env.settings.tracing;
    for (const [handler, fn] of handlerFunctions(t())) expect(fn.props.TracingConfig, handler).toEqual(tracing ? { Mode: 'Active' } : undefined);
    for (const prefix of Object.values(StateMachineIds))
      expect((stateMachineOf(t(), prefix).props.TracingConfiguration as { Enabled?: boolean } | undefined)?.Enabled ?? false, prefix).toBe(tracing);
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

  describe('alarms', () => {
    const prefix = `Reshard-${name}`;
    const thresholds = () => s().env.settings.alarms;
    const topicRef = () => {
      const arn = s().env.settings.alarms.topicArn;
      if (arn) return arn;
      const [topicId] = only(t().findResources('AWS::SNS::Topic'));
      return { Ref: topicId };
    };

    it('notify the SNS topic on ALARM and OK, every one of them', () => {
      const alarms = alarmsOf(t());
      const expected = [
        'ExecutionsFailed',
        'ExecutionsTimedOut',
        'ExecutionsAborted',
        'SegmentsFailed',
        ...Object.keys(HANDLERS).flatMap((h) => [`${h}-Errors`, `${h}-Throttles`]),
        'DeadLetters',
        'CdcQueueLag',
        'CdcCaptureLag',
        'DirtyRows',
        'CopyStalled',
        'VerifyStalled',
        'CaptureHeartbeat',
        'CapturePausedForDdl',
        // With cutover.reverse (prod): the reverse capture of the one target server.
        ...(s().env.migration.cutover.reverse ? ['ReverseCaptureLag', 'ReverseCaptureHeartbeat', 'ReverseCapturePausedForDdl'] : []),
        'ApplyRecordFailures',
        'StateTableThrottles',
        'CutoverFailed',
        'CutoverTimedOut',
        'CutoverFrozenTooLong',
      ].map((a) => `${prefix}-${a}`);
      expect([...alarms.keys()].sort()).toEqual(expected.sort());
      for (const [alarmName, props] of alarms) {
        expect(props.AlarmActions, alarmName).toEqual([topicRef()]);
        expect(props.OKActions, alarmName).toEqual([topicRef()]);
        expect(String(props.AlarmDescription).length, alarmName).toBeGreaterThan(20);
      }
    });

    it.each([
      ['ExecutionsFailed', StateMachineIds.fullCopy, 'ExecutionsFailed'],
      ['ExecutionsTimedOut', StateMachineIds.fullCopy, 'ExecutionsTimedOut'],
      ['ExecutionsAborted', StateMachineIds.fullCopy, 'ExecutionsAborted'],
      ['CutoverFailed', StateMachineIds.cutover, 'ExecutionsFailed'],
      ['CutoverTimedOut', StateMachineIds.cutover, 'ExecutionsTimedOut'],
    ] as const)('%s: any execution of the %s machine', (alarmName, machine, metric) => {
      const machineId = stateMachineOf(t(), machine).id;
      expect(alarmsOf(t()).get(`${prefix}-${alarmName}`)).toMatchObject({
        Namespace: 'AWS/States',
        MetricName: metric,
        Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: machineId } }],
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
    });

    it('errors and throttles per function above the configured thresholds', () => {
      const alarms = alarmsOf(t());
      for (const [handler, fn] of handlerFunctions(t()))
        for (const [metric, threshold] of [
          ['Errors', thresholds().lambdaErrors],
          ['Throttles', thresholds().lambdaThrottles],
        ] as const)
        {
          const alarm = alarms.get(`${prefix}-${handler}-${metric}`);
          expect(metricOf(alarm), `${handler} ${metric}`).toEqual({
            Namespace: 'AWS/Lambda',
            MetricName: metric,
            Dimensions: [{ Name: 'FunctionName', Value: { Ref: fn.id } }],
            Statistic: 'Sum',
            Period: 300,
          });
          expect(alarm, `${handler} ${metric}`).toMatchObject({ Threshold: threshold, ComparisonOperator: 'GreaterThanThreshold' });
        }
    });

    it('DLQ depth above the threshold', () => {
      const { dlqId } = queues(t());
      const alarm = alarmsOf(t()).get(`${prefix}-DeadLetters`);
      expect(metricOf(alarm)).toEqual({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }],
        Statistic: 'Maximum',
        Period: 60,
      });
      expect(alarm).toMatchObject({ Threshold: thresholds().dlqMessages, ComparisonOperator: 'GreaterThanThreshold' });
    });

    it('CDC lag: age of the oldest change message, N minutes in a row', () => {
      const { changesId } = queues(t());
      const alarm = alarmsOf(t()).get(`${prefix}-CdcQueueLag`);
      expect(metricOf(alarm)).toEqual({
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateAgeOfOldestMessage',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [changesId, 'QueueName'] } }],
        Statistic: 'Maximum',
        Period: 60,
      });
      expect(alarm).toMatchObject({
        Threshold: thresholds().cdcLagSeconds,
        EvaluationPeriods: thresholds().cdcLagMinutes,
        DatapointsToAlarm: thresholds().cdcLagMinutes,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    });

;

    it('CDC lag: capture seconds behind the binlog, N minutes in a row', () => {
      const alarm = alarmsOf(t()).get(`${prefix}-CdcCaptureLag`)!;
      expect(alarm).toMatchObject({ Threshold: thresholds().cdcLagSeconds, EvaluationPeriods: thresholds().cdcLagMinutes, ComparisonOperator: 'GreaterThanThreshold' });
      expect(alarm.Metrics).toEqual([expect.objectContaining(customMetric(Metric.captureLagSeconds.name, 'Maximum', 60))]);
    });

    it('verification dirty rows above the threshold', () => {
      const alarm = alarmsOf(t()).get(`${prefix}-DirtyRows`)!;
      expect(alarm).toMatchObject({ Threshold: thresholds().dirtyRows, ComparisonOperator: 'GreaterThanThreshold' });
      expect(alarm.Metrics).toEqual([expect.objectContaining(customMetric(Metric.dirtyRows.name, 'Sum', 300))]);
    });

    it('segment attempts failing (more than 5 in 15 minutes)', () => {
      const alarm = alarmsOf(t()).get(`${prefix}-SegmentsFailed`)!;
      expect(alarm).toMatchObject({ Threshold: 5, ComparisonOperator: 'GreaterThanThreshold' });
      expect(alarm.Metrics).toEqual([expect.objectContaining(customMetric(Metric.segmentsFailed.name, 'Sum', 900))]);
    });

    it('copy stalled: copy-batch invoked but no RowsCopied for two periods of copyStalledMinutes', () => {
      const fns = handlerFunctions(t());
      const period = thresholds().copyStalledMinutes * 60;
      const alarm = alarmsOf(t()).get(`${prefix}-CopyStalled`)!;
      expect(alarm).toMatchObject({ Threshold: 1, EvaluationPeriods: 2, DatapointsToAlarm: 2, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
      expect(alarm.Metrics).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ Expression: 'IF(FILL(calls, 0) > 0 AND FILL(rows, 0) <= 0, 1, 0)', ReturnData: true }),
          expect.objectContaining({
            Id: 'calls',
            MetricStat: { Metric: { Namespace: 'AWS/Lambda', MetricName: 'Invocations', Dimensions: [{ Name: 'FunctionName', Value: { Ref: fns.get('copy-batch')!.id } }] }, Stat: 'Sum', Period: period },
          }),
          expect.objectContaining({ Id: 'rows', ...customMetric(Metric.rowsCopied.name, 'Sum', period) }),
        ]),
      );
      // Longer than a copy-batch call (it reports its rows when it returns).
      expect(period).toBeGreaterThan(s().env.migration.copy.timeBudgetSeconds);
    });
  });

  it('has the dashboard with copy, verification, CDC, DLQ, Lambda and execution widgets', () => {
    const [, dashboard] = only(t().findResources('AWS::CloudWatch::Dashboard') as Record<string, Resource>);
    expect(dashboard.Properties.DashboardName).toBe(`Reshard-${name}`);
    const body = resolvedJson(dashboard.Properties.DashboardBody);
    for (const text of [
      Metric.rowsCopied.name,
      Metric.rowsVerified.name,
      Metric.dirtyRows.name,
      Metric.rowsRepaired.name,
      Metric.captureLagSeconds.name,
      Metric.eventsCaptured.name,
      Metric.eventsApplied.name,
      Metric.tablesComplete.name,
      'ApproximateAgeOfOldestMessage',
      'ApproximateNumberOfMessagesVisible',
      'ExecutionsFailed',
      'Errors',
      'Throttles',
      'Duration',
      '\\"type\\":\\"alarm\\"',
    ])
      expect(body, text).toContain(text);
  });
});

describe('the alarm topic', () => {
  it('is created KMS-encrypted (a customer key CloudWatch may use, rotated), TLS-only, with the e-mail subscription', () => {
    const t = synthesized.dev!.template;
    const [keyId, key] = only(t.findResources('AWS::KMS::Key') as Record<string, Resource>);
    expect(key.Properties.EnableKeyRotation).toBe(true);
    expect(resolvedJson(key.Properties.KeyPolicy)).toContain('cloudwatch.amazonaws.com');
    t.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] } });
    t.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    t.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: synthesized.dev!.env.settings.alarms.email });
  });

  it('is the existing topic when the environment names one (prod): nothing created', () => {
    const t = synthesized.prod!.template;
    expect(Object.keys(t.findResources('AWS::SNS::Topic'))).toEqual([]);
    expect(Object.keys(t.findResources('AWS::KMS::Key'))).toEqual([]);
  });
});

describe('tolerated segment failures', () => {
  it('reach both segment Maps of the synthesized definition', async () => {
    const { stack } = await buildEnvironment('dev', (env) => ({ ...env, settings: { ...env.settings, toleratedFailurePercentage: 5 } }));
    const text = JSON.stringify(stateMachineOf(Template.fromStack(stack), StateMachineIds.fullCopy).props.DefinitionString);
    expect(text.match(/\\"ToleratedFailurePercentage\\":5/g)).toHaveLength(2);
  });
});
