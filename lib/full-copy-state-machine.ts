/**
 * The full-copy state machine construct:
 *
 *   Plan → CopySegments (Distributed Map over segments, child executions)
 *            └─ CopyBatch ⟲ (until done; each call copies many pages within its time budget)
 *               ├─ Retry: transient DB/Lambda errors (backoff + full jitter); LeaseHeldError (wait for lease expiry)
 *               └─ Catch → MarkFailed → SegmentFailed (the iteration succeeds, so the other segments finish)
 *        → Finalize (fails the execution with SegmentsFailedError if any segment FAILED)
 *
 * JSONPath only: the same definition runs locally in aws-local-stepfunctions, which ignores JSONata.
 * Results are discarded from the Map (`ResultPath: null`) so history and payloads stay O(1) per segment.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

/** State names: the local runtime and the tests refer to them. */
export const States = {
  plan: 'Plan',
  map: 'CopySegments',
  copyBatch: 'CopyBatch',
  segmentCopied: 'SegmentCopied?',
  segmentDone: 'SegmentDone',
  markFailed: 'MarkFailed',
  segmentFailed: 'SegmentFailed',
  finalize: 'Finalize',
} as const;

/** Errors worth retrying with backoff (our TransientError plus the Lambda service's own). */
export const TRANSIENT_ERRORS = [
  'TransientError',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Lambda.ClientExecutionTimeoutException',
];

export interface FullCopyStateMachineProps {
  readonly planFunction: lambda.IFunction;
  readonly copyBatchFunction: lambda.IFunction;
  readonly markFailedFunction: lambda.IFunction;
  readonly finalizeFunction: lambda.IFunction;
  /** Segments copied at once. @default 4 */
  readonly maxConcurrency?: number;
  /** Attempts for transient errors per CopyBatch call. @default 6 */
  readonly transientRetries?: number;
  /** How long a CopyBatch call may wait for another worker's lease to expire, in attempts. @default 30 */
  readonly leaseRetries?: number;
  /** @default Duration.hours(24 * 7) */
  readonly timeout?: Duration;
  /** Log group removal. @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** Trace with X-Ray. @default false */
  readonly tracing?: boolean;
}

export function fullCopyDefaults(props: FullCopyStateMachineProps): Required<Omit<FullCopyStateMachineProps, 'planFunction' | 'copyBatchFunction' | 'markFailedFunction' | 'finalizeFunction'>> {
  return {
    maxConcurrency: props.maxConcurrency ?? 4,
    transientRetries: props.transientRetries ?? 6,
    leaseRetries: props.leaseRetries ?? 30,
    timeout: props.timeout ?? Duration.hours(24 * 7),
    logRemovalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    tracing: props.tracing ?? false,
  };
}

export class FullCopyStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: FullCopyStateMachineProps) {
    super(scope, id);
    const d = fullCopyDefaults(props);
    if (!Number.isInteger(d.maxConcurrency) || d.maxConcurrency < 1) throw new Error(`maxConcurrency must be a positive integer, got ${d.maxConcurrency}`);

    const invoke = (stateId: string, fn: lambda.IFunction, payload: Record<string, string>, extra: Partial<tasks.LambdaInvokeProps> = {}) =>
      new tasks.LambdaInvoke(this, stateId, {
        stateName: stateId,
        lambdaFunction: fn,
        payload: sfn.TaskInput.fromObject(payload),
        // Our own retries below cover the Lambda service errors: no CDK default retry on top.
        retryOnServiceExceptions: false,
        taskTimeout: sfn.Timeout.duration(Duration.minutes(15)),
        ...extra,
      });

    const transientRetry: sfn.RetryProps = {
      errors: TRANSIENT_ERRORS,
      interval: Duration.seconds(2),
      maxAttempts: d.transientRetries,
      backoffRate: 2,
      maxDelay: Duration.seconds(60),
      jitterStrategy: sfn.JitterType.FULL,
    };

    const plan = invoke(States.plan, props.planFunction, { 'migrationId.$': '$.migrationId' }, {
      resultSelector: { 'segments.$': '$.Payload.segments', 'tables.$': '$.Payload.tables' },
      resultPath: '$.plan',
    });
    plan.addRetry(transientRetry);

    const copyBatch = invoke(States.copyBatch, props.copyBatchFunction, {
      'migrationId.$': '$.migrationId',
      'table.$': '$.table',
      'segment.$': '$.segment',
    }, {
      resultSelector: { 'done.$': '$.Payload.done', 'cursor.$': '$.Payload.cursor', 'rowsCopied.$': '$.Payload.rowsCopied' },
      resultPath: '$.copy',
    });
    copyBatch.addRetry(transientRetry);
    copyBatch.addRetry({
      errors: ['LeaseHeldError'],
      interval: Duration.seconds(10),
      maxAttempts: d.leaseRetries,
      backoffRate: 1.5,
      maxDelay: Duration.seconds(60),
      jitterStrategy: sfn.JitterType.FULL,
    });

    const markFailed = invoke(States.markFailed, props.markFailedFunction, {
      'migrationId.$': '$.migrationId',
      'table.$': '$.table',
      'segment.$': '$.segment',
      'error.$': '$.error',
    }, { resultPath: sfn.JsonPath.DISCARD });
    markFailed.addRetry({ ...transientRetry, errors: [...TRANSIENT_ERRORS, 'States.TaskFailed'] });
    copyBatch.addCatch(markFailed, { errors: [sfn.Errors.ALL], resultPath: '$.error' });
    markFailed.next(new sfn.Pass(this, States.segmentFailed, { stateName: States.segmentFailed }));

    const loop = copyBatch.next(
      new sfn.Choice(this, States.segmentCopied, { stateName: States.segmentCopied })
        .when(sfn.Condition.booleanEquals('$.copy.done', true), new sfn.Succeed(this, States.segmentDone, { stateName: States.segmentDone }))
        .otherwise(copyBatch),
    );

    const map = new sfn.DistributedMap(this, States.map, {
      stateName: States.map,
      itemsPath: '$.plan.segments',
      maxConcurrency: d.maxConcurrency,
      mapExecutionType: sfn.StateMachineType.STANDARD,
      resultPath: sfn.JsonPath.DISCARD,
      label: 'Segments',
    });
    map.itemProcessor(loop);

    const finalize = invoke(States.finalize, props.finalizeFunction, { 'migrationId.$': '$.migrationId' }, { outputPath: '$.Payload' });
    finalize.addRetry(transientRetry);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/${id}-${this.node.addr.slice(0, 8)}`,
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: d.logRemovalPolicy,
    });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(plan.next(map).next(finalize)),
      stateMachineType: sfn.StateMachineType.STANDARD,
      timeout: d.timeout,
      tracingEnabled: d.tracing,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ERROR, includeExecutionData: false },
    });
  }
}
