/**
 * The Cutover state machine beside the full copy, on the prod stack as `cdk synth -c env=prod` builds it: its
 * states and transitions, the two waits for the operator (task token), the Switch's Catch that unfreezes, the
 * cutover function's queues, secrets and invoke grant, its four alarms and the stack output.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { CutoverStates } from '../../lib/cutover-state-machine.js';
import { bindMigration } from '../../lib/environment.js';
import type { ConfigError } from '../../lambdas/core/errors.js';
import { RuntimeEnv } from '../../lambdas/core/runtime-env.js';
import { StackOutputs } from '../../lambdas/core/stack-outputs.js';
import { Metric } from '../../lambdas/core/metric-names.js';
import { actionsOf, customMetric, handlerFunctions, stateMachineOf, StateMachineIds, statementsOf, synthEnvironment, type SynthesizedEnvironment } from '../helpers/cdk.js';
import { stateMachinesOf } from '../helpers/synth.js';

type Json = Record<string, unknown>;
type Resource = { Type: string; Properties: Json };
type TaskState = Json & { Type: string; Resource?: string; Next?: string; End?: boolean; Parameters?: { FunctionName?: string; Payload?: Json }; Retry?: unknown; Catch?: unknown };

/** What helpers/synth.ts resolves the cutover function's ARN to. */
const functionArn = (id: string) => `arn:aws:lambda:us-east-1:123456789012:function:${id}`;
const INVOKE = 'arn:aws:states:::lambda:invoke';
const INVOKE_WAIT = 'arn:aws:states:::lambda:invoke.waitForTaskToken';

let prod: SynthesizedEnvironment;
/** The Cutover machine's ASL, its intrinsics resolved. */
let asl: { StartAt: string; TimeoutSeconds?: number; States: Record<string, TaskState> };
let cutoverFn: { id: string; props: Json };

beforeAll(async () => {
  prod = await synthEnvironment('prod');
  const machines = stateMachinesOf(prod.template).filter((m) => m.logicalId.startsWith(StateMachineIds.cutover));
  expect(machines).toHaveLength(1);
  asl = machines[0]!.definition as typeof asl;
  cutoverFn = handlerFunctions(prod.template).get('cutover')!;
  expect(cutoverFn).toBeDefined();
});

const state = (name: string) => {
  const st = asl.States[name];
  expect(st, name).toBeDefined();
  return st!;
};
const alarmsOf = () =>
  new Map(Object.values(prod.template.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>).map((a) => [String(a.Properties.AlarmName), a.Properties]));
const alarm = (short: string) => {
  const a = alarmsOf().get(`Reshard-prod-${short}`);
  expect(a, short).toBeDefined();
  return a!;
};
/** A custom metric of the reverse migration (`<migrationId>.reverse`), as an alarm's metric query. */
const reverseMetric = (metricName: string, stat: string, period = 60) => customMetric(metricName, stat, period, 'orders-2026.reverse');
const queues = () => {
  const all = Object.entries(prod.template.findResources('AWS::SQS::Queue') as Record<string, Resource>);
  return { changesId: all.find(([, q]) => q.Properties.RedrivePolicy !== undefined)![0], dlqId: all.find(([, q]) => q.Properties.RedrivePolicy === undefined)![0] };
};

describe('the Cutover state machine (prod)', () => {
  it('exists beside the full-copy machine, a STANDARD machine with a 7-day timeout', () => {
    expect(stateMachineOf(prod.template, StateMachineIds.fullCopy).id).not.toBe(stateMachineOf(prod.template, StateMachineIds.cutover).id);
    expect(stateMachineOf(prod.template, StateMachineIds.cutover).props.StateMachineType).toBe('STANDARD');
    expect(asl.TimeoutSeconds).toBe(7 * 24 * 3600);
  });

  it('has the states Precheck, ReadyToSwitch, WaitForWritesStopped, Switch, UnfreezeAfterFailure, Unfreeze and CutoverFailed (and only CutoverStates)', () => {
    const names = Object.keys(asl.States);
    expect(names).toEqual(expect.arrayContaining(['Precheck', 'ReadyToSwitch', 'WaitForWritesStopped', 'Switch', 'UnfreezeAfterFailure', 'Unfreeze', 'CutoverFailed']));
    expect(names.sort()).toEqual(Object.values(CutoverStates).sort());
  });

  it('runs Abort? → Precheck → Postpone? → [ReadyToSwitch] → External? → [WaitForWritesStopped] → Switch → Switched', () => {
    expect(asl.StartAt).toBe(CutoverStates.abort);
    expect(state(CutoverStates.abort)).toMatchObject({ Type: 'Choice', Default: CutoverStates.precheck, Choices: [expect.objectContaining({ Next: CutoverStates.unfreeze })] });
    expect(state(CutoverStates.precheck)).toMatchObject({ Type: 'Task', Next: CutoverStates.postpone, ResultPath: '$.precheck' });
    expect(state(CutoverStates.postpone)).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.precheck.postpone', BooleanEquals: true, Next: CutoverStates.ready }],
      Default: CutoverStates.external,
    });
    expect(state(CutoverStates.ready)).toMatchObject({ Type: 'Task', Next: CutoverStates.external });
    expect(state(CutoverStates.external)).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.precheck.freeze', StringEquals: 'external', Next: CutoverStates.writesStopped }],
      Default: CutoverStates.switch,
    });
    expect(state(CutoverStates.writesStopped)).toMatchObject({ Type: 'Task', Next: CutoverStates.switch });
    expect(state(CutoverStates.switch)).toMatchObject({ Type: 'Task', Next: CutoverStates.switched });
    expect(state(CutoverStates.switched)).toEqual({ Type: 'Succeed' });
    expect(state(CutoverStates.unfreeze)).toMatchObject({ Type: 'Task', Next: CutoverStates.aborted });
    expect(state(CutoverStates.aborted)).toEqual({ Type: 'Succeed' });
  });

  it('invokes only the cutover function, one action per task', () => {
    const tasks = Object.entries(asl.States).filter(([, st]) => st.Type === 'Task');
    expect(Object.fromEntries(tasks.map(([name, st]) => [name, [st.Parameters?.FunctionName, st.Parameters?.Payload?.action]]))).toEqual({
      [CutoverStates.precheck]: [functionArn(cutoverFn.id), 'precheck'],
      [CutoverStates.ready]: [functionArn(cutoverFn.id), 'await'],
      [CutoverStates.writesStopped]: [functionArn(cutoverFn.id), 'await'],
      [CutoverStates.switch]: [functionArn(cutoverFn.id), 'switch'],
      [CutoverStates.unfreezeAfterFailure]: [functionArn(cutoverFn.id), 'unfreeze'],
      [CutoverStates.unfreeze]: [functionArn(cutoverFn.id), 'unfreeze'],
    });
  });

  it.each([
    [CutoverStates.ready, 'go'],
    [CutoverStates.writesStopped, 'writes-stopped'],
  ])('%s waits for a task token (lambda:invoke.waitForTaskToken, taskToken.$ $$.Task.Token), waiting for %s', (name, wait) => {
    const st = state(name);
    expect(st.Resource).toBe(INVOKE_WAIT);
    expect(st.Parameters?.Payload).toEqual({ 'migrationId.$': '$.migrationId', action: 'await', wait, 'taskToken.$': '$$.Task.Token', 'execution.$': '$$.Execution.Id' });
    // The operator's go or confirmation carries no output that would replace the execution's state.
    expect(st.ResultPath).toBeNull();
  });

  it('waits for a task token nowhere else', () => {
    for (const [name, st] of Object.entries(asl.States).filter(([, s]) => s.Type === 'Task'))
      expect(st.Resource, name).toBe(name === CutoverStates.ready || name === CutoverStates.writesStopped ? INVOKE_WAIT : INVOKE);
  });

  it('Switch is never retried and catches every error into UnfreezeAfterFailure, which then fails the execution with that error', () => {
    const sw = state(CutoverStates.switch);
    expect(sw.Retry).toBeUndefined();
    expect(sw.Catch).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: CutoverStates.unfreezeAfterFailure }]);
    // The failure is kept beside the input (migrationId), which UnfreezeAfterFailure still reads.
    expect(state(CutoverStates.unfreezeAfterFailure)).toMatchObject({ Type: 'Task', Next: CutoverStates.failed, ResultPath: null, Parameters: { Payload: { 'migrationId.$': '$.migrationId', action: 'unfreeze' } } });
    expect(state(CutoverStates.failed)).toEqual({ Type: 'Fail', ErrorPath: '$.failure.Error', CausePath: '$.failure.Cause' });
  });

  it("its role may invoke the cutover function and nothing else", () => {
    const machine = stateMachineOf(prod.template, StateMachineIds.cutover);
    const roleId = (machine.props.RoleArn as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
    const statements = Object.values(prod.template.findResources('AWS::IAM::Policy') as Record<string, Resource>)
      .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref === roleId))
      .flatMap((p) => (p.Properties.PolicyDocument as { Statement: { Action: string | string[]; Resource: unknown }[] }).Statement);
    const invoke = statements.filter((st) => actionsOf([st]).includes('lambda:InvokeFunction'));
    expect(invoke).toHaveLength(1);
    expect(JSON.stringify(invoke[0]!.Resource)).toContain(cutoverFn.id);
    const others = [...handlerFunctions(prod.template)].filter(([name]) => name !== 'cutover');
    for (const [name, fn] of others) expect(JSON.stringify(statements), name).not.toContain(`"${fn.id}"`);
  });
});

describe('the cutover function (prod)', () => {
  it('knows the change queue and its DLQ (RESHARD_QUEUE_URL, RESHARD_DLQ_URL)', () => {
    const { changesId, dlqId } = queues();
    const vars = (cutoverFn.props.Environment as { Variables: Json }).Variables;
    expect(vars[RuntimeEnv.queueUrl]).toEqual({ Ref: changesId });
    expect(vars[RuntimeEnv.dlqUrl]).toEqual({ Ref: dlqId });
  });

  it('may read the source AND the target secrets (its catch-up reads the binlog, its check reads the targets)', () => {
    const m = prod.env.migration;
    const secrets = prod.env.settings.secrets;
    const [sourceEnv, targetEnv] = [m.source.passwordEnv, m.target.connection.passwordEnv];
    expect([sourceEnv, targetEnv]).toEqual(['RESHARD_SOURCE_PASSWORD', 'RESHARD_TARGET_PASSWORD']);
    const source = secrets[sourceEnv!];
    const target = secrets[targetEnv!];
    expect(source).toMatch(/:secret:reshard\/prod\/source-/);
    expect(target).toMatch(/:secret:reshard\/prod\/target-/);
    const read = statementsOf(prod.template, cutoverFn.id).filter((st) => actionsOf([st]).includes('secretsmanager:GetSecretValue'));
    expect(read.map((st) => st.Resource)).toEqual(expect.arrayContaining([source, target]));
  });

  it('without cutover.reverse, capture reads only the source secret', async () => {
    const { template, env } = await synthEnvironment('prod', (e) => ({ ...e, migration: { ...e.migration, cutover: { ...e.migration.cutover, reverse: false } } }));
    const capture = handlerFunctions(template).get('capture')!;
    const captureReads = statementsOf(template, capture.id).filter((st) => actionsOf([st]).includes('secretsmanager:GetSecretValue'));
    expect(captureReads.map((st) => st.Resource)).toEqual([env.settings.secrets.RESHARD_SOURCE_PASSWORD]);
    const rules = Object.values(template.findResources('AWS::Events::Rule') as Record<string, Resource>);
    expect(rules.map((r) => JSON.parse(String((r.Properties.Targets as { Input: string }[])[0]!.Input)) as unknown)).toEqual([{ server: 0 }]);
  });
});

describe('reverse replication (prod: cutover.reverse)', () => {
  it('schedules a capture of the target server besides the source one, every minute, its event marked reverse', () => {
    expect(prod.env.migration.cutover.reverse).toBe(true);
    const capture = handlerFunctions(prod.template).get('capture')!;
    const rules = Object.values(prod.template.findResources('AWS::Events::Rule') as Record<string, Resource>).map((r) => r.Properties as { ScheduleExpression: string; Targets: { Arn: unknown; Input: string }[] });
    expect(rules.map((r) => [r.ScheduleExpression, JSON.parse(r.Targets[0]!.Input) as unknown])).toEqual([
      ['rate(1 minute)', { server: 0 }],
      ['rate(1 minute)', { server: 0, reverse: true }],
    ]);
    for (const r of rules) expect(r.Targets[0]!.Arn).toEqual({ 'Fn::GetAtt': [capture.id, 'Arn'] });
  });

  it("lets capture read the target secret too (it reads the target servers' binlogs)", () => {
    const capture = handlerFunctions(prod.template).get('capture')!;
    const secrets = prod.env.settings.secrets;
    const vars = (capture.props.Environment as { Variables: Json }).Variables;
    expect(Object.keys(JSON.parse(String(vars[RuntimeEnv.secrets])) as Json).sort()).toEqual(['RESHARD_SOURCE_PASSWORD', 'RESHARD_TARGET_PASSWORD']);
    const captureReads = statementsOf(prod.template, capture.id).filter((st) => actionsOf([st]).includes('secretsmanager:GetSecretValue'));
    expect(captureReads.map((st) => st.Resource)).toEqual(expect.arrayContaining([secrets.RESHARD_SOURCE_PASSWORD, secrets.RESHARD_TARGET_PASSWORD]));
  });

  it('pages when the reverse capture lags: ReverseCaptureLag, CaptureLagSeconds of <migrationId>.reverse above the CDC lag threshold (prod: 120 s for 5 minutes)', () => {
    const a = alarm('ReverseCaptureLag');
    const { cdcLagSeconds, cdcLagMinutes } = prod.env.settings.alarms;
    expect([cdcLagSeconds, cdcLagMinutes]).toEqual([120, 5]);
    expect(a).toMatchObject({ Threshold: 120, EvaluationPeriods: 5, DatapointsToAlarm: 5, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching' });
    expect(a.Metrics).toEqual([expect.objectContaining(reverseMetric(Metric.captureLagSeconds.name, 'Maximum'))]);
    expect(a.AlarmActions).toEqual([prod.env.settings.alarms.topicArn]);
  });

  it('pages when no reverse capture run ends well: ReverseCaptureHeartbeat, CaptureRuns of <migrationId>.reverse below 1 a minute, nothing published counting as failing', () => {
    const a = alarm('ReverseCaptureHeartbeat');
    const minutes = prod.env.settings.alarms.captureHeartbeatMinutes;
    expect(a).toMatchObject({ Threshold: 1, EvaluationPeriods: minutes, DatapointsToAlarm: minutes, ComparisonOperator: 'LessThanThreshold', TreatMissingData: 'breaching' });
    expect(a.Metrics).toEqual([expect.objectContaining(reverseMetric(Metric.captureRuns.name, 'Sum'))]);
  });

  it('pages when the reverse capture stops before a DDL: ReverseCapturePausedForDdl, CapturePaused of <migrationId>.reverse ≥ 1 in 5 minutes', () => {
    const a = alarm('ReverseCapturePausedForDdl');
    expect(a).toMatchObject({ Threshold: 1, EvaluationPeriods: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
    expect(a.Metrics).toEqual([expect.objectContaining(reverseMetric(Metric.capturePaused.name, 'Maximum', 300))]);
  });

  it('builds no reverse alarm without cutover.reverse', async () => {
    const { template } = await synthEnvironment('prod', (e) => ({ ...e, migration: { ...e.migration, cutover: { ...e.migration.cutover, reverse: false } } }));
    const names = Object.values(template.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>).map((a) => String(a.Properties.AlarmName));
    expect(names).toContain('Reshard-prod-CdcCaptureLag');
    expect(names.filter((n) => n.includes('Reverse'))).toEqual([]);
  });

  it('refuses a reserved capture concurrency below the captures scheduled', () => {
    const settings = { ...prod.env.settings, concurrency: { ...prod.env.settings.concurrency, reserved: { ...prod.env.settings.concurrency.reserved, capture: 1 } } };
    let issues: readonly string[] = [];
    try {
      bindMigration(settings, prod.env.migration, 'config/prod.json');
    } catch (err) {
      issues = (err as ConfigError).issues;
    }
    expect(issues).toContain('concurrency.reserved.capture: 1 is below the 2 captures scheduled every minute (one per source server and per target server, for reverse replication): they would be throttled');
  });

  it('runs up to the 15-minute Lambda limit; the Switch task times out after its precheck, the freeze window and 2 minutes (prod: 5 + 30 + 120 s)', () => {
    expect(cutoverFn.props.Timeout).toBe(900);
    expect(state(CutoverStates.switch).TimeoutSeconds).toBe(155);
  });
});

describe('the cut-over alarms (prod)', () => {
  const topic = () => prod.env.settings.alarms.topicArn;

  it.each(['CutoverFailed', 'CutoverTimedOut', 'CutoverFrozenTooLong'])('%s notifies the alarm topic on ALARM and OK', (short) => {
    expect(topic()).toMatch(/^arn:aws:sns:/);
    const a = alarm(short);
    expect(a.AlarmActions).toEqual([topic()]);
    expect(a.OKActions).toEqual([topic()]);
    expect(String(a.AlarmDescription).length).toBeGreaterThan(20);
  });

  it.each([
    ['CutoverFailed', 'ExecutionsFailed'],
    ['CutoverTimedOut', 'ExecutionsTimedOut'],
  ])('%s: any %s of the Cutover machine in a minute', (short, metric) => {
    expect(alarm(short)).toMatchObject({
      Namespace: 'AWS/States',
      MetricName: metric,
      Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: stateMachineOf(prod.template, StateMachineIds.cutover).id } }],
      Statistic: 'Sum',
      Period: 60,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
    });
  });

  it('CutoverFrozenTooLong: CutoverFreezeMs above cutover.freezeTimeoutSeconds × 1000 (prod: the default 30 s)', () => {
    const seconds = prod.env.migration.cutover.freezeTimeoutSeconds;
    // config/migrations/orders.prod.yaml sets no cutover section: the default applies.
    expect(seconds).toBe(30);
    const a = alarm('CutoverFrozenTooLong');
    expect(a).toMatchObject({ Threshold: seconds * 1000, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching' });
    expect(a.Metrics).toEqual([expect.objectContaining(customMetric(Metric.cutoverFreezeMs.name, 'Maximum', 60))]);
  });

  it('follow a freezeTimeoutSeconds set in the migration config, as the Switch timeout does', async () => {
    const { template } = await synthEnvironment('prod', (env) => ({ ...env, migration: { ...env.migration, cutover: { ...env.migration.cutover, freezeTimeoutSeconds: 45 } } }));
    const alarms = new Map(Object.values(template.findResources('AWS::CloudWatch::Alarm') as Record<string, Resource>).map((a) => [String(a.Properties.AlarmName), a.Properties]));
    expect(alarms.get('Reshard-prod-CutoverFrozenTooLong')).toMatchObject({ Threshold: 45_000 });
    const machine = stateMachinesOf(template).find((m) => m.logicalId.startsWith(StateMachineIds.cutover))!;
    expect((machine.definition as typeof asl).States[CutoverStates.switch]!.TimeoutSeconds).toBe(5 + 45 + 120);
  });
});

describe('the stack outputs (prod)', () => {
  it('name the Cutover machine: CutoverStateMachineArn', () => {
    expect(StackOutputs.cutoverStateMachine).toBe('CutoverStateMachineArn');
    const outputs = (prod.template.toJSON() as { Outputs: Record<string, { Value: unknown }> }).Outputs;
    expect(outputs.CutoverStateMachineArn?.Value).toEqual({ Ref: stateMachineOf(prod.template, StateMachineIds.cutover).id });
  });
});
