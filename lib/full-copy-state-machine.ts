/**
 * The full-copy state machine construct:
 *
 *   Plan → CopySegments (Distributed Map over segments, one child execution each)
 *            └─ CopyBatch ⟲ (until done; each call copies many pages within its time budget)
 *               └─ Retry: transient DB/Lambda errors (backoff + full jitter); LeaseHeldError (wait for lease expiry)
 *        → VerifySegments (Distributed Map over the same segments)
 *            └─ VerifyBatch ⟲ (checksum per batch, row by row where it differs, repair when configured)
 *        → Finalize (marks complete tables; fails the execution if a segment failed or stayed dirty)
 *
 * Failure is redrive-able: no Catch. The handler records every failed attempt in the segment's checkpoint
 * (FAILED, the error, the attempt count) before it throws; when the retries are spent, the child execution
 * fails *in* CopyBatch (or VerifyBatch). Once more than `toleratedFailurePercentage` of the children failed,
 * the Map Run fails (running children are aborted) and the execution ends FAILED. The console's Redrive
 * then reruns the unsuccessful children from the state that failed — the batch Task, with the same input —
 * so each resumes from its DynamoDB checkpoint (a Catch leading to a Fail state would be redriven into the
 * Fail state and fail again).
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
import { stackLogGroup } from './log-groups.js';

/** State names: the local runtime and the tests refer to them. */
export const States = {
  plan: 'Plan',
  map: 'CopySegments',
  copyBatch: 'CopyBatch',
  segmentCopied: 'SegmentCopied?',
  segmentDone: 'SegmentDone',
  verifyMap: 'VerifySegments',
  verifyBatch: 'VerifyBatch',
  segmentVerified: 'SegmentVerified?',
  verifyDone: 'VerifyDone',
  finalize: 'Finalize',
} as const;

/**
 * Errors worth retrying with backoff: our TransientError, the Lambda service's own, and timeouts — an AWS
 * SDK call's (`TimeoutError`, once the SDK's own attempts are spent), the function's (`Sandbox.Timedout`) and
 * the task's (`States.Timeout`). Every task resumes from its DynamoDB checkpoint, so a call cut short is
 * simply made again.
 */
export const TRANSIENT_ERRORS = [
  'TransientError',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'Lambda.ClientExecutionTimeoutException',
  'TimeoutError',
  'Sandbox.Timedout',
  'States.Timeout',
];

export interface FullCopyStateMachineProps {
  readonly planFunction: lambda.IFunction;
  readonly copyBatchFunction: lambda.IFunction;
  readonly verifyBatchFunction: lambda.IFunction;
  readonly finalizeFunction: lambda.IFunction;
  /** Segments copied (and verified) at once. @default 4 */
  readonly maxConcurrency?: number;
  /**
   * Failed segments (child executions) tolerated before the Map Run fails, in percent. 0: the first
   * segment that gives up fails the run (the others are aborted and resume on redrive). @default 0
   */
  readonly toleratedFailurePercentage?: number;
  /** Attempts for transient errors per CopyBatch call. @default 6 */
  readonly transientRetries?: number;
  /**
   * The segment lease length (`copy.leaseSeconds`). A CopyBatch call that meets another worker's lease retries
   * `LeaseHeldError` for at least the longest that lease can stand: a live invocation renews it until it
   * returns (at most Lambda's 900 s), a crashed one leaves it for this long; plus a minute.
   * @default 120
   */
  readonly copyLeaseSeconds?: number;
  /** @default Duration.hours(24 * 7) */
  readonly timeout?: Duration;
  /** Log group removal. @default RemovalPolicy.RETAIN */
  readonly logRemovalPolicy?: RemovalPolicy;
  /** Log group retention. @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** Trace with X-Ray. @default false */
  readonly tracing?: boolean;
}

/** Lambda's longest invocation. */
const LAMBDA_MAX_SECONDS = 900;

/** The LeaseHeldError retry of CopyBatch: waits of 10 s, growing by half each time, at most 60 s. */
const LEASE_RETRY = { intervalSeconds: 10, backoffRate: 1.5, maxDelaySeconds: 60 } as const;

/** Seconds Step Functions waits in all before retry `attempt` (1-based) of a retry with these settings, without jitter. */
export function retryWaitSeconds(attempts: number, r: { intervalSeconds: number; backoffRate: number; maxDelaySeconds: number } = LEASE_RETRY): number {
  let total = 0;
  for (let i = 0; i < attempts; i++) total += Math.min(r.intervalSeconds * r.backoffRate ** i, r.maxDelaySeconds);
  return total;
}

/** The fewest LeaseHeldError retries whose waits add up to at least `seconds`. */
function leaseRetryAttempts(seconds: number): number {
  let n = 1;
  while (retryWaitSeconds(n) < seconds) n++;
  return n;
}

function fullCopyDefaults(
  props: FullCopyStateMachineProps,
): Required<Omit<FullCopyStateMachineProps, 'planFunction' | 'copyBatchFunction' | 'verifyBatchFunction' | 'finalizeFunction'>> {
  return {
    maxConcurrency: props.maxConcurrency ?? 4,
    toleratedFailurePercentage: props.toleratedFailurePercentage ?? 0,
    transientRetries: props.transientRetries ?? 6,
    copyLeaseSeconds: props.copyLeaseSeconds ?? 120,
    timeout: props.timeout ?? Duration.hours(24 * 7),
    logRemovalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    logRetention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
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
    if (!(d.toleratedFailurePercentage >= 0 && d.toleratedFailurePercentage <= 100))
      throw new Error(`toleratedFailurePercentage must be 0..100, got ${d.toleratedFailurePercentage}`);

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

    // The whole execution input goes to Plan: `{migrationId}`, optionally `only: [{table, segment}]` to rerun
    // just those segments (StartExecution by hand).
    const plan = invoke(States.plan, props.planFunction, { 'input.$': '$' }, {
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
    // No jitter: the waits must add up to the lease, whatever the draw.
    copyBatch.addRetry({
      errors: ['LeaseHeldError'],
      interval: Duration.seconds(LEASE_RETRY.intervalSeconds),
      maxAttempts: leaseRetryAttempts(LAMBDA_MAX_SECONDS + d.copyLeaseSeconds + 60),
      backoffRate: LEASE_RETRY.backoffRate,
      maxDelay: Duration.seconds(LEASE_RETRY.maxDelaySeconds),
    });

    const loop = copyBatch.next(
      new sfn.Choice(this, States.segmentCopied, { stateName: States.segmentCopied })
        // Children end with empty output (OutputPath null): the Map's results, discarded, never add up against its 256 KiB.
        .when(sfn.Condition.booleanEquals('$.copy.done', true), new sfn.Succeed(this, States.segmentDone, { stateName: States.segmentDone, outputPath: sfn.JsonPath.DISCARD }))
        .otherwise(copyBatch),
    );

    const segmentMap = (stateId: string, label: string, itemSelector?: Record<string, unknown>) =>
      new sfn.DistributedMap(this, stateId, {
        stateName: stateId,
        itemsPath: '$.plan.segments',
        ...(itemSelector ? { itemSelector } : {}),
        maxConcurrency: d.maxConcurrency,
        toleratedFailurePercentage: d.toleratedFailurePercentage,
        mapExecutionType: sfn.StateMachineType.STANDARD,
        resultPath: sfn.JsonPath.DISCARD,
        label,
      });
    const map = segmentMap(States.map, 'Segments');
    map.itemProcessor(loop);

    // Verification of every copied segment: a cursor travels through the loop (verification is read-only
    // until a repair, and a rerun of a batch is harmless).
    const verifyBatch = invoke(States.verifyBatch, props.verifyBatchFunction, {
      'migrationId.$': '$.migrationId',
      'table.$': '$.table',
      'segment.$': '$.segment',
      'verify.$': '$.verify',
    }, {
      resultSelector: { 'done.$': '$.Payload.done', 'cursor.$': '$.Payload.cursor', 'batch.$': '$.Payload.batch' },
      resultPath: '$.verify',
    });
    verifyBatch.addRetry(transientRetry);
    const verifyLoop = verifyBatch.next(
      new sfn.Choice(this, States.segmentVerified, { stateName: States.segmentVerified })
        .when(sfn.Condition.booleanEquals('$.verify.done', true), new sfn.Succeed(this, States.verifyDone, { stateName: States.verifyDone, outputPath: sfn.JsonPath.DISCARD }))
        .otherwise(verifyBatch),
    );
    const verifyMap = segmentMap(States.verifyMap, 'Verify', {
      'migrationId.$': '$$.Map.Item.Value.migrationId',
      'table.$': '$$.Map.Item.Value.table',
      'segment.$': '$$.Map.Item.Value.segment',
      verify: { batch: 0 },
    });
    verifyMap.itemProcessor(verifyLoop);

    const finalize = invoke(States.finalize, props.finalizeFunction, { 'migrationId.$': '$.migrationId' }, { outputPath: '$.Payload' });
    finalize.addRetry(transientRetry);

    // Under /aws/vendedlogs/ (keeps the CloudWatch Logs resource policy small), named per stack instance: a
    // retained group never collides with the next deploy's.
    this.logGroup = stackLogGroup(this, 'Logs', { prefix: '/aws/vendedlogs/states/', label: id, retention: d.logRetention, removalPolicy: d.logRemovalPolicy });
    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromChainable(plan.next(map).next(verifyMap).next(finalize)),
      stateMachineType: sfn.StateMachineType.STANDARD,
      timeout: d.timeout,
      tracingEnabled: d.tracing,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ERROR, includeExecutionData: false },
    });
  }
}
