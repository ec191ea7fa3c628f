/**
 * The Cutover state machine construct, started from the console (input `{migrationId}`; `{migrationId,
 * abort: true}` only thaws a source a cut-over left frozen):
 *
 *   Abort? ──abort──→ Unfreeze → Aborted
 *     └→ Precheck (refuses with the unmet conditions; nothing frozen)
 *        → Postpone? ──cutover.postpone──→ ReadyToSwitch (waits for the operator's go: SendTaskSuccess)
 *        → External? ──freeze external──→ WaitForWritesStopped (waits for the operator's confirmation)
 *        → Switch (one invocation: freeze, catch up, check, record CUTOVER DONE and the routing, thaw)
 *            └─ Catch (any error) → UnfreezeAfterFailure → CutoverFailed
 *        → Switched
 *
 * The Switch holds the freeze inside one invocation, since a table lock lives in its session. It thaws on
 * every failure it sees, and once its catch-up and check outrun `cutover.freezeTimeoutSeconds`;
 * UnfreezeAfterFailure covers what it cannot: an invocation that hangs past the Switch's task timeout, or
 * crashes, while the database still holds its session or the read-only switch. A failed cut-over is started again as a new execution: it
 * prechecks again. JSONPath only, as the full-copy machine: the same definition runs locally.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { stackLogGroup } from './log-groups.js';
import { TRANSIENT_ERRORS } from './full-copy-state-machine.js';

/** State names: the local runtime, the CLI and the tests refer to them. */
export const CutoverStates = {
  abort: 'Abort?',
  unfreeze: 'Unfreeze',
  aborted: 'Aborted',
  precheck: 'Precheck',
  postpone: 'Postpone?',
  ready: 'ReadyToSwitch',
  external: 'External?',
  writesStopped: 'WaitForWritesStopped',
  switch: 'Switch',
  unfreezeAfterFailure: 'UnfreezeAfterFailure',
  failed: 'CutoverFailed',
  switched: 'Switched',
} as const;

export interface CutoverStateMachineProps {
  readonly cutoverFunction: lambda.IFunction;
  /**
   * The Switch task's timeout: its precheck (up to `cutover.maxLagSeconds`), the freeze window
   * (`cutover.freezeTimeoutSeconds`) and a margin. Past it, the execution unfreezes and fails even when the
   * invocation hangs. @default Duration.minutes(15)
   */
  readonly switchTimeout?: Duration;
  /** How long the operator's go or confirmation may take before the execution times out. @default Duration.days(7) */
  readonly timeout?: Duration;
  /** @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default false */
  readonly tracing?: boolean;
}

export class CutoverStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: CutoverStateMachineProps) {
    super(scope, id);
    const fn = props.cutoverFunction;
    const transientRetry: sfn.RetryProps = {
      errors: TRANSIENT_ERRORS,
      interval: Duration.seconds(2),
      maxAttempts: 6,
      backoffRate: 2,
      maxDelay: Duration.seconds(30),
      jitterStrategy: sfn.JitterType.FULL,
    };
    const call = (stateId: string, action: string, extra: Partial<tasks.LambdaInvokeProps> = {}, payload: Record<string, unknown> = {}) =>
      new tasks.LambdaInvoke(this, stateId, {
        stateName: stateId,
        lambdaFunction: fn,
        payload: sfn.TaskInput.fromObject({ 'migrationId.$': '$.migrationId', action, ...payload }),
        retryOnServiceExceptions: false,
        taskTimeout: sfn.Timeout.duration(Duration.minutes(15)),
        ...extra,
      });
    // Waits for SendTaskSuccess with the token the handler records in the CUTOVER item (`reshard cutover --go`).
    const waitFor = (stateId: string, wait: 'go' | 'writes-stopped') => {
      const task = new tasks.LambdaInvoke(this, stateId, {
        stateName: stateId,
        lambdaFunction: fn,
        integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
        payload: sfn.TaskInput.fromObject({ 'migrationId.$': '$.migrationId', action: 'await', wait, taskToken: sfn.JsonPath.taskToken, 'execution.$': '$$.Execution.Id' }),
        retryOnServiceExceptions: false,
        resultPath: sfn.JsonPath.DISCARD,
      });
      task.addRetry(transientRetry);
      return task;
    };

    const unfreeze = call(CutoverStates.unfreeze, 'unfreeze', { resultPath: '$.unfrozen', resultSelector: { 'thawed.$': '$.Payload.thawed' } });
    unfreeze.addRetry(transientRetry);
    unfreeze.next(new sfn.Succeed(this, CutoverStates.aborted, { stateName: CutoverStates.aborted }));

    const precheck = call(CutoverStates.precheck, 'precheck', { resultSelector: { 'postpone.$': '$.Payload.postpone', 'freeze.$': '$.Payload.freeze', 'steps.$': '$.Payload.steps' }, resultPath: '$.precheck' });
    precheck.addRetry(transientRetry);

    const switchTask = call(CutoverStates.switch, 'switch', { taskTimeout: sfn.Timeout.duration(props.switchTimeout ?? Duration.minutes(15)), resultSelector: { 'freezeMs.$': '$.Payload.freezeMs', 'rowsChecked.$': '$.Payload.rowsChecked', 'routing.$': '$.Payload.routing' }, resultPath: '$.switch' });
    const unfreezeAfterFailure = call(CutoverStates.unfreezeAfterFailure, 'unfreeze', { resultPath: sfn.JsonPath.DISCARD });
    unfreezeAfterFailure.addRetry(transientRetry);
    unfreezeAfterFailure.next(new sfn.Fail(this, CutoverStates.failed, { stateName: CutoverStates.failed, errorPath: '$.failure.Error', causePath: '$.failure.Cause' }));
    switchTask.addCatch(unfreezeAfterFailure, { errors: ['States.ALL'], resultPath: '$.failure' });
    switchTask.next(new sfn.Succeed(this, CutoverStates.switched, { stateName: CutoverStates.switched }));

    const external = new sfn.Choice(this, CutoverStates.external, { stateName: CutoverStates.external })
      .when(sfn.Condition.stringEquals('$.precheck.freeze', 'external'), waitFor(CutoverStates.writesStopped, 'writes-stopped').next(switchTask))
      .otherwise(switchTask);
    const postpone = new sfn.Choice(this, CutoverStates.postpone, { stateName: CutoverStates.postpone })
      .when(sfn.Condition.booleanEquals('$.precheck.postpone', true), waitFor(CutoverStates.ready, 'go').next(external))
      .otherwise(external);
    const start = new sfn.Choice(this, CutoverStates.abort, { stateName: CutoverStates.abort })
      .when(sfn.Condition.and(sfn.Condition.isPresent('$.abort'), sfn.Condition.booleanEquals('$.abort', true)), unfreeze)
      .otherwise(precheck.next(postpone));

    this.logGroup = stackLogGroup(this, 'Logs', {
      prefix: '/aws/vendedlogs/states/',
      label: id,
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(start),
      stateMachineType: sfn.StateMachineType.STANDARD,
      timeout: props.timeout ?? Duration.days(7),
      tracingEnabled: props.tracing ?? false,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ERROR, includeExecutionData: false },
    });
  }
}
