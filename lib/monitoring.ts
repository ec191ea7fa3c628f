/**
 * Operating a migration from the console: one CloudWatch dashboard per environment and the alarms, all
 * notifying one SNS topic (a new, KMS-encrypted topic with an e-mail subscription, or an existing topic).
 * Metrics are defined in `metrics.ts`; custom metric names in `lambdas/core/metric-names.ts`.
 *
 * Alarms (name `<prefix>-<Alarm>`):
 * - ExecutionsFailed / ExecutionsTimedOut / ExecutionsAborted: the state machine (a failed segment makes
 *   the execution FAILED; redrive it from the console).
 * - SegmentsFailed: segment attempts keep failing (more than 5 failed copy/verify calls in 15 minutes: a
 *   segment is using up its retries; once they are spent the child fails and, by the Map's tolerance,
 *   the execution — see ExecutionsFailed).
 * - `<fn>-Errors`, `<fn>-Throttles`: per function, sum over 5 minutes above the threshold.
 * - DeadLetters: change messages in the DLQ (apply gave up on them).
 * - CdcQueueLag: the oldest change message is older than the threshold for N minutes in a row.
 * - CdcCaptureLag: the capture checkpoint is behind the binlog by more than the threshold for N minutes.
 * - DirtyRows: verification found differences.
 * - CopyStalled: copy-batch is being called but no row was copied, see `stalled`.
 * - VerifyStalled: verify-batch is being called but no row was verified, see `stalled` (when verification is on).
 * - CaptureHeartbeat: no capture run ended successfully for N minutes (when the migration captures changes).
 * - CapturePausedForDdl: capture of a source server is stopped before a DDL of a migrated table and waits for
 *   `reshard ddl apply|skip` (when the migration captures changes).
 * - ReverseCaptureLag / ReverseCaptureHeartbeat / ReverseCapturePausedForDdl (with `cutover.reverse`, one each
 *   per target server captured): the reverse capture (metrics under `<migrationId>.reverse`) is behind the new
 *   layout's binlog, no run of it ended well for N minutes, or it is stopped before a DDL. Before the switch its
 *   runs are idle: no lag, no pause, heartbeat on.
 * - ApplyRecordFailures: apply reported change messages failed (batchItemFailures) in 5 minutes.
 * - StateTableThrottles: DynamoDB throttled reads or writes of the state table in 5 minutes.
 * - CutoverFailed / CutoverTimedOut: a Cutover execution failed (refused, or failed and thawed; a Switch that
 *   hangs past its task timeout is unfrozen and fails too) or timed out waiting for the operator.
 * - CutoverFrozenTooLong: a cut-over keeps (or kept) writes frozen longer than `cutover.freezeTimeoutSeconds`
 *   (CutoverFreezeMs, published every 5 s while frozen and at the thaw).
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { Metric, SOURCE_SERVER_DIMENSION, type MetricDefinition } from '../lambdas/core/metric-names.js';
import { reverseMigrationId } from '../lambdas/core/reverse-id.js';
import { ReshardMetricFactory } from './metrics.js';

export interface AlarmThresholds {
  /** Errors per function in 5 minutes above which its alarm fires. @default 0 */
  readonly lambdaErrors?: number;
  /** Throttles per function in 5 minutes above which its alarm fires. @default 0 */
  readonly lambdaThrottles?: number;
  /** DLQ messages above which the alarm fires. @default 0 */
  readonly dlqMessages?: number;
  /** CDC lag (seconds) above which a minute counts as lagging. @default 300 */
  readonly cdcLagSeconds?: number;
  /** Consecutive lagging minutes before the CDC lag alarms fire. @default 10 */
  readonly cdcLagMinutes?: number;
  /** Dirty rows (per 5 minutes) above which the verification alarm fires. @default 0 */
  readonly dirtyRows?: number;
  /**
   * Length of one copy-stalled evaluation period, in minutes; the alarm needs two in a row. Must exceed a
   * copy-batch call's time budget (it reports its rows when it returns). @default 30
   */
  readonly copyStalledMinutes?: number;
  /**
   * Length of one verify-stalled evaluation period, in minutes; the alarm needs two in a row. Must exceed a
   * verify-batch call's duration (it reports its rows when it returns). @default 30
   */
  readonly verifyStalledMinutes?: number;
  /**
   * Minutes without a successful capture run before the heartbeat alarm fires. Must exceed one capture run
   * plus the one-minute schedule. @default 10
   */
  readonly captureHeartbeatMinutes?: number;
  /** Change messages reported failed by apply (per 5 minutes) above which its alarm fires. @default 0 */
  readonly applyRecordFailures?: number;
  /** Throttled state table reads + writes (per 5 minutes) above which its alarm fires. @default 0 */
  readonly stateTableThrottles?: number;
}

function alarmDefaults(t: AlarmThresholds = {}): Required<AlarmThresholds> {
  return {
    lambdaErrors: t.lambdaErrors ?? 0,
    lambdaThrottles: t.lambdaThrottles ?? 0,
    dlqMessages: t.dlqMessages ?? 0,
    cdcLagSeconds: t.cdcLagSeconds ?? 300,
    cdcLagMinutes: t.cdcLagMinutes ?? 10,
    dirtyRows: t.dirtyRows ?? 0,
    copyStalledMinutes: t.copyStalledMinutes ?? 30,
    verifyStalledMinutes: t.verifyStalledMinutes ?? 30,
    captureHeartbeatMinutes: t.captureHeartbeatMinutes ?? 10,
    applyRecordFailures: t.applyRecordFailures ?? 0,
    stateTableThrottles: t.stateTableThrottles ?? 0,
  };
}

export interface ReshardMonitoringProps {
  /** The migration the custom metrics are published for (their `migrationId` dimension). */
  readonly migrationId: string;
  readonly stateMachine: sfn.IStateMachine;
  /** The Cutover state machine: its failed and timed-out executions are alarmed on. */
  readonly cutoverStateMachine?: sfn.IStateMachine;
  /** `cutover.freezeTimeoutSeconds`: a freeze longer than this pages. @default 30 */
  readonly freezeTimeoutSeconds?: number;
  /** The handler functions by name; each gets errors/throttles alarms and dashboard lines. */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /** The function whose invocations mean "the copy is running" (copy-batch). */
  readonly copyFunction: lambda.IFunction;
  /** The function whose invocations mean "a verification is running" (verify-batch). */
  readonly verifyFunction: lambda.IFunction;
  /** The state table: its throttled reads and writes are alarmed on. */
  readonly stateTable: Pick<dynamodb.ITable, 'metric'>;
  /** The migration captures changes (`cdc.enabled`): the capture heartbeat alarm is built. @default false */
  readonly cdcEnabled?: boolean;
  /** The source servers captured (a sharded source has several): one heartbeat and one capture-lag alarm each. @default [0] */
  readonly captureServers?: readonly number[];
  /**
   * With reverse replication (`cutover.reverse`): the target servers its capture reads (indexes among the
   * reverse migration's source servers), one lag, one heartbeat and one DDL-pause alarm each. @default none
   */
  readonly reverseCaptureServers?: readonly number[];
  /** The migration verifies its segments (`verify.enabled`): the verify-stalled alarm is built. @default true */
  readonly verifyEnabled?: boolean;
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  /** Alarm and dashboard names start with this. */
  readonly prefix: string;
  /** E-mail subscribed to the alarm topic. @default none */
  readonly alarmEmail?: string;
  /** Notify this existing topic instead of creating one. @default a new KMS-encrypted topic */
  readonly alarmTopicArn?: string;
  /** @default see `alarmDefaults` */
  readonly thresholds?: AlarmThresholds;
}

export class ReshardMonitoring extends Construct {
  readonly topic: sns.ITopic;
  readonly dashboard: cloudwatch.Dashboard;
  /** Every alarm, by its short name (`ExecutionsFailed`, `copy-batch-Errors`, ...). */
  readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;
  readonly metrics: ReshardMetricFactory;
  /** Reverse replication's custom metrics (`<migrationId>.reverse`), given `reverseCaptureServers`. */
  private readonly reverse?: ReshardMetricFactory;

  constructor(scope: Construct, id: string, props: ReshardMonitoringProps) {
    super(scope, id);
    const t = alarmDefaults(props.thresholds);
    validateThresholds(t);
    const m = (this.metrics = new ReshardMetricFactory(props.migrationId, props.stateMachine, props.queue, props.deadLetterQueue));
    // With reverse replication: its custom metrics, the reverse migration's id as their `migrationId` dimension.
    if (props.reverseCaptureServers?.length) this.reverse = new ReshardMetricFactory(reverseMigrationId(props.migrationId), props.stateMachine, props.queue, props.deadLetterQueue);

    this.topic = props.alarmTopicArn ? sns.Topic.fromTopicArn(this, 'AlarmTopic', props.alarmTopicArn) : this.createTopic();
    if (props.alarmEmail) this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));

    const alarms: Record<string, cloudwatch.Alarm> = {};
    const add = (name: string, metric: cloudwatch.IMetric, opts: Omit<cloudwatch.CreateAlarmOptions, 'alarmName'>) => {
      const alarm = new cloudwatch.Alarm(this, `Alarm-${name}`, { metric, alarmName: `${props.prefix}-${name}`, ...opts });
      alarm.addAlarmAction(new actions.SnsAction(this.topic));
      alarm.addOkAction(new actions.SnsAction(this.topic));
      alarms[name] = alarm;
    };
    const atLeastOne = {
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    };
    const above = (threshold: number, evaluationPeriods = 1) => ({
      threshold,
      evaluationPeriods,
      datapointsToAlarm: evaluationPeriods,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    add('ExecutionsFailed', m.executionsFailed(), { ...atLeastOne, alarmDescription: 'A reshard execution FAILED: see its failed segments in the console, fix the cause, then Redrive.' });
    add('ExecutionsTimedOut', m.executionsTimedOut(), { ...atLeastOne, alarmDescription: 'A reshard execution timed out: Redrive resumes the unfinished segments from their checkpoints.' });
    add('ExecutionsAborted', m.executionsAborted(), { ...atLeastOne, alarmDescription: 'A reshard execution was aborted (stopped by someone or by a service limit).' });
    add('SegmentsFailed', m.custom(Metric.segmentsFailed, cloudwatch.Stats.SUM, Duration.minutes(15)), {
      ...above(5),
      alarmDescription: 'Segment copy/verify attempts keep failing (each is recorded FAILED in its checkpoint with the error); when a segment spends its retries the execution fails and can be redriven.',
    });
    for (const [name, fn] of Object.entries(props.functions)) {
      add(`${name}-Errors`, m.fnErrors(name, fn), { ...above(t.lambdaErrors), alarmDescription: `The ${name} function reported more than ${t.lambdaErrors} errors in 5 minutes.` });
      add(`${name}-Throttles`, m.fnThrottles(name, fn), { ...above(t.lambdaThrottles), alarmDescription: `The ${name} function was throttled more than ${t.lambdaThrottles} times in 5 minutes.` });
    }
    add('DeadLetters', m.deadLetters(), { ...above(t.dlqMessages), alarmDescription: 'Change messages reached the DLQ: fix the cause, then redrive the DLQ to the change queue.' });
    add('CdcQueueLag', m.queueOldestAge(), {
      ...above(t.cdcLagSeconds, t.cdcLagMinutes),
      alarmDescription: `The oldest change message has waited more than ${t.cdcLagSeconds} s for ${t.cdcLagMinutes} minutes: apply is behind.`,
    });
    // One per source server (server n > 0 publishes with its own dimension).
    for (const server of props.captureServers ?? [0])
      add(server === 0 ? 'CdcCaptureLag' : `CdcCaptureLag${server}`, m.custom(Metric.captureLagSeconds, cloudwatch.Stats.MAXIMUM, undefined, server ? { [SOURCE_SERVER_DIMENSION]: String(server) } : {}), {
        ...above(t.cdcLagSeconds, t.cdcLagMinutes),
        alarmDescription: `Capture ${server ? `of source server #${server} ` : ''}has been more than ${t.cdcLagSeconds} s behind the source binlog for ${t.cdcLagMinutes} minutes.`,
      });
    add('DirtyRows', m.custom(Metric.dirtyRows, cloudwatch.Stats.SUM, Duration.minutes(5)), {
      ...above(t.dirtyRows),
      alarmDescription: 'Verification found rows that differ between source and targets (see the dirty-record state; repair with verify --repair).',
    });
    const twoStalledPeriods = {
      threshold: 1,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    };
    add('CopyStalled', this.stalled(props.copyFunction, Metric.rowsCopied, t.copyStalledMinutes, 'copy'), {
      ...twoStalledPeriods,
      alarmDescription: `copy-batch has been called for ${2 * t.copyStalledMinutes} minutes without copying a row (leases held, errors retried, source or targets stuck).`,
    });
    if (props.verifyEnabled ?? true)
      add('VerifyStalled', this.stalled(props.verifyFunction, Metric.rowsVerified, t.verifyStalledMinutes, 'verify'), {
        ...twoStalledPeriods,
        alarmDescription: `verify-batch has been called for ${2 * t.verifyStalledMinutes} minutes without verifying a row (errors retried, CDC never settling, source or targets stuck).`,
      });
    // A capture's heartbeat: one-minute periods, all N missing or zero — N minutes in a row without a run that
    // ended well. No run published anything: that is the failure these alarms are for.
    const noRunFor = {
      threshold: 1,
      evaluationPeriods: t.captureHeartbeatMinutes,
      datapointsToAlarm: t.captureHeartbeatMinutes,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    };
    // Server n > 0 (of a sharded source, or a target server of reverse replication) publishes with its own dimension.
    const serverDims = (server: number) => (server ? { [SOURCE_SERVER_DIMENSION]: String(server) } : {});
    if (props.cdcEnabled ?? false)
      // One per source server.
      for (const server of props.captureServers ?? [0])
        add(server === 0 ? 'CaptureHeartbeat' : `CaptureHeartbeat${server}`, m.custom(Metric.captureRuns, cloudwatch.Stats.SUM, undefined, serverDims(server)), {
          ...noRunFor,
          alarmDescription: `No capture run ${server ? `of source server #${server} ` : ''}ended successfully for ${t.captureHeartbeatMinutes} minutes: capture keeps failing (see its log) or is not scheduled; the binlog is not being read.`,
        });
    if (props.cdcEnabled ?? false)
      for (const server of props.captureServers ?? [0])
        add(server === 0 ? 'CapturePausedForDdl' : `CapturePausedForDdl${server}`, m.custom(Metric.capturePaused, cloudwatch.Stats.MAXIMUM, Duration.minutes(5), serverDims(server)), {
          ...atLeastOne,
          alarmDescription: `Capture ${server ? `of source server #${server} ` : ''}is stopped before a DDL of a migrated table (cdc.onDdl): nothing after it is applied. See "capture stopped before a DDL" in the capture log or reshard status, then run reshard ddl apply or skip.`,
        });
    // Reverse replication's capture publishes under the reverse migration's id.
    const reverse = this.reverse;
    if (reverse)
      for (const server of props.reverseCaptureServers ?? []) {
        const dims = serverDims(server);
        const which = server ? ` of target server #${server}` : '';
        add(`ReverseCaptureLag${server || ''}`, reverse.custom(Metric.captureLagSeconds, cloudwatch.Stats.MAXIMUM, undefined, dims), {
          ...above(t.cdcLagSeconds, t.cdcLagMinutes),
          alarmDescription: `Reverse replication's capture${which} has been more than ${t.cdcLagSeconds} s behind the new layout's binlog for ${t.cdcLagMinutes} minutes: the old layout falls behind, and a rollback would wait for it.`,
        });
        // Its runs publish every minute, idle ones before the switch too.
        add(`ReverseCaptureHeartbeat${server || ''}`, reverse.custom(Metric.captureRuns, cloudwatch.Stats.SUM, undefined, dims), {
          ...noRunFor,
          alarmDescription: `No run of reverse replication's capture${which} ended successfully for ${t.captureHeartbeatMinutes} minutes: it keeps failing (see the capture log, runs with "reverse": true) or is not scheduled.`,
        });
        add(`ReverseCapturePausedForDdl${server || ''}`, reverse.custom(Metric.capturePaused, cloudwatch.Stats.MAXIMUM, Duration.minutes(5), dims), {
          ...atLeastOne,
          alarmDescription: `Reverse replication's capture${which} is stopped before a DDL of a migrated table on the new layout: nothing after it reaches the old tables. See reshard status (reverse replication), then run reshard ddl apply or skip with --reverse.`,
        });
      }
    add('ApplyRecordFailures', m.custom(Metric.applyRecordFailures, cloudwatch.Stats.SUM, Duration.minutes(5)), {
      ...above(t.applyRecordFailures),
      alarmDescription: `apply reported more than ${t.applyRecordFailures} change messages failed in 5 minutes (they are retried, then go to the DLQ): see "change message failed" in its log.`,
    });
    add('StateTableThrottles', m.tableThrottles(props.stateTable), {
      ...above(t.stateTableThrottles),
      alarmDescription: `DynamoDB throttled more than ${t.stateTableThrottles} reads or writes of the state table in 5 minutes (retried by the SDK; checkpoints and leases slow down).`,
    });
    if (props.cutoverStateMachine) {
      const co = props.cutoverStateMachine;
      add('CutoverFailed', co.metricFailed({ period: Duration.minutes(1), statistic: cloudwatch.Stats.SUM }), {
        ...atLeastOne,
        alarmDescription: 'A cut-over FAILED (refused by its precheck, or failed after the freeze and thawed): see the execution\'s error and reshard status; start a new Cutover execution once the cause is fixed.',
      });
      add('CutoverTimedOut', co.metricTimedOut({ period: Duration.minutes(1), statistic: cloudwatch.Stats.SUM }), {
        ...atLeastOne,
        alarmDescription: 'A cut-over execution timed out (a go or a confirmation never came): nothing is frozen while it waits; start a new one when ready.',
      });
      const freezeLimitMs = (props.freezeTimeoutSeconds ?? 30) * 1000;
      add('CutoverFrozenTooLong', m.custom(Metric.cutoverFreezeMs, cloudwatch.Stats.MAXIMUM, Duration.minutes(1)), {
        ...above(freezeLimitMs),
        alarmDescription: `A cut-over keeps (or kept) writes frozen longer than cutover.freezeTimeoutSeconds (${freezeLimitMs / 1000} s): the final check takes long, or the thaw comes late. If the Switch is gone, thaw with the Cutover machine's {"abort": true} input or reshard cutover --abort. See the Switch's log.`,
      });
    }
    this.alarms = alarms;

    this.dashboard = this.buildDashboard(props, Object.values(alarms));
  }

  /**
   * Stalled = a stage is running but makes no progress; built for copy (copy-batch, RowsCopied) and for
   * verification (verify-batch, RowsVerified), described here for the copy.
   *
   * Copy stalled = the copy is running but makes no progress. Step Functions has no "executions running"
   * metric, and RowsCopied alone cannot tell "stalled" from "nothing to do" (both publish nothing), so
   * "running" is read from copy-batch's own Invocations: the CopySegments Map calls CopyBatch in a loop
   * and each call returns within copy.timeBudgetSeconds (plus at most a minute of retry backoff), so while
   * a copy runs, every period longer than that sees at least one invocation (lib/environment.ts checks the
   * period against the budget). A call publishes RowsCopied when it returns, so a healthy copy shows rows
   * in every such period. A period breaches when copy-batch was invoked and RowsCopied is 0 or missing.
   * Two periods in a row are required: a segment's last call may copy nothing (its last page is empty)
   * and can fall alone in one period at the very end of a copy. No invocations = no copy running = OK.
   *
   * Verification stalled is the same on verify-batch and RowsVerified: the VerifySegments Map calls
   * VerifyBatch in a loop, and every call publishes RowsVerified (0 included) when it returns, at most its
   * batch in progress after verify.timeBudgetSeconds and never after its 15-minute Lambda timeout
   * (lib/environment.ts checks the period against that). It means: in two periods in a row verify-batch
   * was invoked and no call that returned compared a single row (calls failing, or each one waiting out
   * its budget). Built only when verification is on: with it off, every call returns at once without rows.
   */
  private stalled(fn: lambda.IFunction, rows: MetricDefinition, minutes: number, stage: string): cloudwatch.MathExpression {
    const period = Duration.minutes(minutes);
    return new cloudwatch.MathExpression({
      expression: 'IF(FILL(calls, 0) > 0 AND FILL(rows, 0) <= 0, 1, 0)',
      usingMetrics: {
        calls: fn.metricInvocations({ period, statistic: cloudwatch.Stats.SUM }),
        rows: this.metrics.custom(rows, cloudwatch.Stats.SUM, period),
      },
      period,
      label: `${stage} stalled (1 = invoked, no rows)`,
    });
  }

  /** A topic CloudWatch can publish to: encrypted with a customer-managed key whose policy lets CloudWatch use it. */
  private createTopic(): sns.Topic {
    const key = new kms.Key(this, 'AlarmTopicKey', { enableKeyRotation: true, description: 'Encrypts the reshard alarm topic' });
    key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
      }),
    );
    return new sns.Topic(this, 'AlarmTopic', { masterKey: key, enforceSSL: true, displayName: 'reshard alarms' });
  }

  private buildDashboard(props: ReshardMonitoringProps, alarms: cloudwatch.IAlarm[]): cloudwatch.Dashboard {
    const m = this.metrics;
    const fns = Object.entries(props.functions);
    const five = Duration.minutes(5);
    const graph = (title: string, left: cloudwatch.IMetric[], extra: Partial<cloudwatch.GraphWidgetProps> = {}) =>
      new cloudwatch.GraphWidget({ title, left, width: 8, height: 6, ...extra });
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { dashboardName: props.prefix, defaultInterval: Duration.hours(6) });
    dashboard.addWidgets(
      new cloudwatch.TextWidget({
        markdown: `## reshard \`${props.migrationId}\`\nCopy → verify → finalize (Step Functions), CDC (capture → FIFO queue → apply). Custom metrics: namespace \`Reshard\`, dimension \`migrationId\`.`,
        width: 24,
        height: 2,
      }),
    );
    dashboard.addWidgets(
      graph('Rows copied / s', [m.perSecond(Metric.rowsCopied)]),
      graph('Executions', [m.executionsStarted(five), m.executionsSucceeded(five), m.executionsFailed(five), m.executionsTimedOut(five), m.executionsAborted(five)]),
      graph('Segments failed', [m.custom(Metric.segmentsFailed, cloudwatch.Stats.SUM, five)]),
    );
    dashboard.addWidgets(
      graph('Rows verified', [m.custom(Metric.rowsVerified, cloudwatch.Stats.SUM, five)]),
      graph('Dirty / repaired rows', [m.custom(Metric.dirtyRows, cloudwatch.Stats.SUM, five), m.custom(Metric.rowsRepaired, cloudwatch.Stats.SUM, five)]),
      graph('Tables complete', [m.custom(Metric.tablesComplete, cloudwatch.Stats.SUM, five)]),
    );
    dashboard.addWidgets(
      graph('CDC lag (s)', [m.queueOldestAge(), m.custom(Metric.captureLagSeconds, cloudwatch.Stats.MAXIMUM), ...(this.reverse ? [this.reverse.custom(Metric.captureLagSeconds, cloudwatch.Stats.MAXIMUM).with({ label: 'reverse CaptureLagSeconds' })] : [])], {
        leftAnnotations: [{ value: alarmDefaults(props.thresholds).cdcLagSeconds, label: 'alarm threshold' }],
      }),
      graph('CDC events / s', [m.perSecond(Metric.eventsCaptured), m.perSecond(Metric.eventsApplied)]),
      graph('Change queue and DLQ depth', [m.queueVisible(), m.queueInFlight()], { right: [m.deadLetters()] }),
    );
    dashboard.addWidgets(
      graph('Capture runs / apply failed messages', [m.custom(Metric.captureRuns, cloudwatch.Stats.SUM, five), m.custom(Metric.applyRecordFailures, cloudwatch.Stats.SUM, five)]),
      graph('State table throttles (5 min)', [m.tableThrottles(props.stateTable)]),
    );
    dashboard.addWidgets(
      graph('Lambda errors (5 min)', fns.map(([n, f]) => m.fnErrors(n, f))),
      graph('Lambda throttles (5 min)', fns.map(([n, f]) => m.fnThrottles(n, f))),
      graph('Lambda duration p99', fns.map(([n, f]) => m.fnDuration(n, f))),
    );
    dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 24, height: 4 }));
    return dashboard;
  }
}

function validateThresholds(t: Required<AlarmThresholds>): void {
  const checks: [keyof AlarmThresholds, boolean][] = [
    ['lambdaErrors', t.lambdaErrors >= 0],
    ['lambdaThrottles', t.lambdaThrottles >= 0],
    ['dlqMessages', t.dlqMessages >= 0],
    ['cdcLagSeconds', t.cdcLagSeconds > 0],
    ['cdcLagMinutes', Number.isInteger(t.cdcLagMinutes) && t.cdcLagMinutes >= 1],
    ['dirtyRows', t.dirtyRows >= 0],
    ['copyStalledMinutes', Number.isInteger(t.copyStalledMinutes) && t.copyStalledMinutes >= 1],
    ['verifyStalledMinutes', Number.isInteger(t.verifyStalledMinutes) && t.verifyStalledMinutes >= 1],
    // One-minute periods: CloudWatch allows at most a day of evaluation.
    ['captureHeartbeatMinutes', Number.isInteger(t.captureHeartbeatMinutes) && t.captureHeartbeatMinutes >= 1 && t.captureHeartbeatMinutes <= 1440],
    ['applyRecordFailures', t.applyRecordFailures >= 0],
    ['stateTableThrottles', t.stateTableThrottles >= 0],
  ];
  for (const [name, ok] of checks) if (!ok) throw new Error(`ReshardMonitoring: thresholds.${name} is out of range (${t[name]})`);
}
