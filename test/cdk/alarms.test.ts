/**
 * The blind-spot alarms of every environment's stack: capture heartbeat, apply record failures, verification
 * stalled and state table throttles — each one's metric, threshold, periods, missing-data rule and SNS
 * actions, the settings that change them, and when they are left out.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Template } from 'aws-cdk-lib/assertions';
import { bindMigration, parseEnvironment } from '../../lib/environment.js';
import { parseConfig } from '../../lambdas/core/config.js';
import { Metric } from '../../lambdas/core/metric-names.js';
import { configIssues, customMetric, ENVIRONMENTS, handlerFunctions, synthEnvironment, type SynthesizedEnvironment } from '../helpers/cdk.js';
import { synthTemplate } from '../helpers/synth.js';
import type { Environment } from '../../lib/environment.js';

type Props = Record<string, unknown>;
type MetricQuery = { Id: string; Expression?: string; ReturnData?: boolean; MetricStat?: { Metric: Props; Stat: string; Period: number } };

const alarmsOf = (t: Template) =>
  new Map(Object.values(t.findResources('AWS::CloudWatch::Alarm') as Record<string, { Properties: Props }>).map((a) => [String(a.Properties.AlarmName), a.Properties]));
const queriesOf = (alarm: Props) => alarm.Metrics as MetricQuery[];



const synthesized: Record<string, SynthesizedEnvironment> = {};
beforeAll(async () => {
  for (const name of ENVIRONMENTS) synthesized[name] = await synthEnvironment(name);
});

describe.each(ENVIRONMENTS)('the %s stack', (name) => {
  const s = () => synthesized[name]!;
  const t = () => s().template;
  const alarm = (short: string) => {
    const a = alarmsOf(t()).get(`Reshard-${name}-${short}`);
    expect(a, short).toBeDefined();
    return a!;
  };
  const thresholds = () => s().env.settings.alarms;
  const topic = () => {
    const arn = thresholds().topicArn;
    if (arn) return arn;
    const [topicId] = Object.keys(t().findResources('AWS::SNS::Topic'));
    return { Ref: topicId };
  };

  it.each(['CaptureHeartbeat', 'CapturePausedForDdl', 'ApplyRecordFailures', 'VerifyStalled', 'StateTableThrottles'])('%s notifies the alarm topic on ALARM and OK', (short) => {
    const a = alarm(short);
    expect(a.AlarmActions).toEqual([topic()]);
    expect(a.OKActions).toEqual([topic()]);
  });

  it('capture heartbeat: CaptureRuns summed per minute, below 1 for captureHeartbeatMinutes minutes in a row, missing data breaching', () => {
    const minutes = thresholds().captureHeartbeatMinutes;
    const a = alarm('CaptureHeartbeat');
    expect(a).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      EvaluationPeriods: minutes,
      DatapointsToAlarm: minutes,
      TreatMissingData: 'breaching',
    });
    expect(queriesOf(a)).toEqual([expect.objectContaining(customMetric(Metric.captureRuns.name, 'Sum', 60))]);
    // Longer than one capture run plus the schedule's minute.
    expect(minutes * 60).toBeGreaterThan(s().env.migration.cdc.captureBudgetSeconds + 60);
  });

  it('capture paused for a DDL: CapturePaused at its maximum over 5 minutes, at or above 1, missing data fine', () => {
    const a = alarm('CapturePausedForDdl');
    expect(a).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', EvaluationPeriods: 1, TreatMissingData: 'notBreaching' });
    expect(queriesOf(a)).toEqual([expect.objectContaining(customMetric(Metric.capturePaused.name, 'Maximum', 300))]);
    expect(String(a.AlarmDescription)).toMatch(/reshard ddl apply or skip/);
  });

  it('apply record failures: ApplyRecordFailures summed over 5 minutes above the threshold, missing data fine', () => {
    const a = alarm('ApplyRecordFailures');
    expect(a).toMatchObject({ Threshold: thresholds().applyRecordFailures, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 1, TreatMissingData: 'notBreaching' });
    expect(queriesOf(a)).toEqual([expect.objectContaining(customMetric(Metric.applyRecordFailures.name, 'Sum', 300))]);
  });

  it('verification stalled: verify-batch invoked but no RowsVerified for two periods of verifyStalledMinutes', () => {
    const period = thresholds().verifyStalledMinutes * 60;
    const a = alarm('VerifyStalled');
    expect(a).toMatchObject({ Threshold: 1, EvaluationPeriods: 2, DatapointsToAlarm: 2, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'notBreaching' });
    const verifyFn = handlerFunctions(t()).get('verify-batch')!.id;
    expect(queriesOf(a)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Expression: 'IF(FILL(calls, 0) > 0 AND FILL(rows, 0) <= 0, 1, 0)', ReturnData: true }),
        expect.objectContaining({
          Id: 'calls',
          MetricStat: { Metric: { Namespace: 'AWS/Lambda', MetricName: 'Invocations', Dimensions: [{ Name: 'FunctionName', Value: { Ref: verifyFn } }] }, Stat: 'Sum', Period: period },
        }),
        expect.objectContaining({ Id: 'rows', ...customMetric(Metric.rowsVerified.name, 'Sum', period) }),
      ]),
    );
    expect(queriesOf(a)).toHaveLength(3);
    // Longer than a verify-batch call, which ends by its 15-minute Lambda timeout at the latest.
    expect(period).toBeGreaterThan(15 * 60);
  });

  it('state table throttles: ReadThrottleEvents + WriteThrottleEvents of the state table over 5 minutes above the threshold', () => {
    const [tableId] = Object.keys(t().findResources('AWS::DynamoDB::Table'));
    const a = alarm('StateTableThrottles');
    expect(a).toMatchObject({ Threshold: thresholds().stateTableThrottles, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 1, TreatMissingData: 'notBreaching' });
    const onTable = (metricName: string) => ({
      MetricStat: { Metric: { Namespace: 'AWS/DynamoDB', MetricName: metricName, Dimensions: [{ Name: 'TableName', Value: { Ref: tableId } }] }, Stat: 'Sum', Period: 300 },
    });
    expect(queriesOf(a)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Expression: 'FILL(reads, 0) + FILL(writes, 0)', ReturnData: true }),
        expect.objectContaining({ Id: 'reads', ...onTable('ReadThrottleEvents') }),
        expect.objectContaining({ Id: 'writes', ...onTable('WriteThrottleEvents') }),
      ]),
    );
    expect(queriesOf(a)).toHaveLength(3);
  });
});

describe('settings and switches', () => {
  const alarms = async (change: (env: Environment) => Environment) => alarmsOf((await synthEnvironment('staging', change)).template);

  it('takes each threshold from the environment file', async () => {
    const a = await alarms((env) => {
      Object.assign(env.settings.alarms, { captureHeartbeatMinutes: 25, applyRecordFailures: 7, verifyStalledMinutes: 45, stateTableThrottles: 12 });
      return env;
    });
    expect(a.get('Reshard-staging-CaptureHeartbeat')).toMatchObject({ EvaluationPeriods: 25, DatapointsToAlarm: 25 });
    expect(a.get('Reshard-staging-ApplyRecordFailures')).toMatchObject({ Threshold: 7 });
    expect(a.get('Reshard-staging-StateTableThrottles')).toMatchObject({ Threshold: 12 });
    const verify = queriesOf(a.get('Reshard-staging-VerifyStalled')!);
    expect(verify.filter((q) => q.MetricStat).map((q) => q.MetricStat!.Period)).toEqual([45 * 60, 45 * 60]);
  });

  it('has no capture heartbeat when the migration does not capture changes (nothing would run)', async () => {
    const a = await alarms((env) => ({ ...env, migration: { ...env.migration, cdc: { ...env.migration.cdc, enabled: false } } }));
    expect(a.has('Reshard-staging-CaptureHeartbeat')).toBe(false);
    expect(a.has('Reshard-staging-CapturePausedForDdl')).toBe(false);
    expect(a.has('Reshard-staging-ApplyRecordFailures')).toBe(true);
  });

  it('has no verify-stalled alarm when verification is off (every call returns without rows)', async () => {
    const a = await alarms((env) => ({ ...env, migration: { ...env.migration, verify: { ...env.migration.verify, enabled: false } } }));
    expect(a.has('Reshard-staging-VerifyStalled')).toBe(false);
    expect(a.has('Reshard-staging-CopyStalled')).toBe(true);
  });

  it('defaults: heartbeat 10 minutes, verify-stalled period 30 minutes, no failure or throttle tolerated', () => {
    const s = parseEnvironment({ account: '111111111111', region: 'eu-west-1', migrationConfig: { file: 'x.yaml' }, alarms: { email: 'a@example.com' } }, 'config/test.json');
    expect(s.alarms).toMatchObject({ captureHeartbeatMinutes: 10, verifyStalledMinutes: 30, applyRecordFailures: 0, stateTableThrottles: 0 });
  });
});

describe('periods checked against the migration config', () => {
  const migration = (cdc: Props, verify: Props) =>
    parseConfig({
      migrationId: 'orders-2026',
      source: { host: 'src', user: 'reshard', database: 'orders' },
      target: { connection: { host: 'tgt', user: 'reshard' }, databases: 2, databasePattern: 'db_{db}' },
      tables: [{ name: 'order_info', shardKeys: ['order_no'], targetTable: 'order_info_{table}', tablesPerDb: 2 }],
      cdc,
      verify,
    });
  const settings = (alarms: Props) =>
    parseEnvironment({ account: '111111111111', region: 'eu-west-1', migrationConfig: { file: 'm.yaml' }, alarms: { email: 'a@example.com', ...alarms } }, 'config/test.json');
  const issues = configIssues;

  it('refuses a heartbeat shorter than a capture run', () => {
    expect(issues(() => bindMigration(settings({ captureHeartbeatMinutes: 5 }), migration({ enabled: true, captureBudgetSeconds: 600 }, {}), 'config/test.json'))).toEqual([
      'alarms.captureHeartbeatMinutes: 5 is too short for cdc.captureBudgetSeconds 600 of m.yaml: use at least 12',
    ]);
    expect(issues(() => bindMigration(settings({ captureHeartbeatMinutes: 12 }), migration({ enabled: true, captureBudgetSeconds: 600 }, {}), 'config/test.json'))).toEqual([]);
    // Without CDC there is no heartbeat alarm to check.
    expect(issues(() => bindMigration(settings({ captureHeartbeatMinutes: 1 }), migration({ enabled: false, captureBudgetSeconds: 600 }, {}), 'config/test.json'))).toEqual([]);
  });

  it('refuses a verify-stalled period shorter than a verify-batch call', () => {
    // 300 s budget + 60 s + 2 × 60 s settle = 480 s, + 120 s = 10 minutes.
    expect(issues(() => bindMigration(settings({ verifyStalledMinutes: 9 }), migration({}, { timeBudgetSeconds: 300, settleSeconds: 60 }), 'config/test.json'))).toEqual([
      'alarms.verifyStalledMinutes: 9 is too short for a verify-batch call of m.yaml (up to 480 s): use at least 10',
    ]);
    expect(issues(() => bindMigration(settings({ verifyStalledMinutes: 10 }), migration({}, { timeBudgetSeconds: 300, settleSeconds: 60 }), 'config/test.json'))).toEqual([]);
    // A call never outlasts the 15-minute Lambda timeout.
    expect(issues(() => bindMigration(settings({ verifyStalledMinutes: 17 }), migration({}, { timeBudgetSeconds: 840, settleSeconds: 840 }), 'config/test.json'))).toEqual([]);
    expect(issues(() => bindMigration(settings({ verifyStalledMinutes: 1 }), migration({}, { enabled: false }), 'config/test.json'))).toEqual([]);
  });
});

describe('the ReshardMonitoring construct on its own', () => {
  const template = (migration: Props, thresholds: Props = {}) =>
    synthTemplate({ migrationConfigJson: JSON.stringify({ migrationId: 'm-1', ...migration }), monitoring: { alarmEmail: 'ops@example.com', thresholds } });

  it('builds the heartbeat only for a migration with cdc.enabled, 10 minutes by default', () => {
    expect(alarmsOf(template({})).has('ReshardAslTest-CaptureHeartbeat')).toBe(false);
    expect(alarmsOf(template({ cdc: { enabled: true } })).get('ReshardAslTest-CaptureHeartbeat')).toMatchObject({ EvaluationPeriods: 10, TreatMissingData: 'breaching' });
  });

  it('builds one heartbeat and one capture-lag alarm per captured source server, each on its server\'s metrics', () => {
    const t = synthTemplate({
      migrationConfigJson: JSON.stringify({ migrationId: 'm-1', cdc: { enabled: true } }),
      monitoring: { alarmEmail: 'ops@example.com', thresholds: {} },
      cdc: { sourceServers: [0, 2] },
    });
    const a = alarmsOf(t);
    const dimensions = (name: string) => {
      const [q] = queriesOf(a.get(name)!);
      return (q!.MetricStat as unknown as { Metric: { MetricName: string; Dimensions: { Name: string; Value: string }[] } }).Metric;
    };
    expect(dimensions('ReshardAslTest-CaptureHeartbeat')).toMatchObject({ MetricName: 'CaptureRuns' });
    expect(dimensions('ReshardAslTest-CaptureHeartbeat').Dimensions.map((d) => d.Name).sort()).toEqual(['migrationId', 'service']);
    expect(dimensions('ReshardAslTest-CaptureHeartbeat2').Dimensions).toContainEqual({ Name: 'sourceServer', Value: '2' });
    expect(a.get('ReshardAslTest-CaptureHeartbeat2')).toMatchObject({ EvaluationPeriods: 10, TreatMissingData: 'breaching' });
    expect(a.has('ReshardAslTest-CaptureHeartbeat1')).toBe(false);
    expect(dimensions('ReshardAslTest-CdcCaptureLag2')).toMatchObject({ MetricName: 'CaptureLagSeconds' });
    expect(dimensions('ReshardAslTest-CdcCaptureLag2').Dimensions).toContainEqual({ Name: 'sourceServer', Value: '2' });
    expect(dimensions('ReshardAslTest-CdcCaptureLag').Dimensions.map((d) => d.Name).sort()).toEqual(['migrationId', 'service']);
  });

  it('builds verify-stalled unless verify.enabled is false, 30-minute periods by default', () => {
    const stalled = alarmsOf(template({})).get('ReshardAslTest-VerifyStalled')!;
    expect(queriesOf(stalled).filter((q) => q.MetricStat).map((q) => q.MetricStat!.Period)).toEqual([1800, 1800]);
    expect(alarmsOf(template({ verify: { enabled: false } })).has('ReshardAslTest-VerifyStalled')).toBe(false);
  });

  it.each([
    ['captureHeartbeatMinutes', 0],
    ['captureHeartbeatMinutes', 1441],
    ['verifyStalledMinutes', 1.5],
    ['applyRecordFailures', -1],
    ['stateTableThrottles', -1],
  ])('refuses thresholds.%s = %s', (field, value) => {
    expect(() => template({}, { [field]: value })).toThrow(new RegExp(`thresholds\\.${field} is out of range`));
  });
});
