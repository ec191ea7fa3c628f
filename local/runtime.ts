/**
 * The local runtime: the synthesized state machine, executed by aws-local-stepfunctions, with each
 * Task state's Lambda bound to the same handler code that is deployed, over dynalite and a real MySQL.
 * This is the embedded default for `reshard run`, `npm run demo` and the tests.
 */
import { hostname } from 'node:os';
import { localOwnerId } from '../lambdas/core/lease-owner.js';
import { reclaimLeases } from './leases.js';
import { randomUUID } from 'node:crypto';
import { StateMachine } from 'aws-local-stepfunctions';
import type { MigrationConfig } from '../lambdas/core/config.js';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dynamoClient, StateStore } from '../lambdas/adapters/state-store.js';
import { buildContext, buildReverseContext, closeContext } from '../lambdas/app/build-context.js';
import type { AppContext, CopyHooks } from '../lambdas/app/context.js';
import { makePlanHandler } from '../lambdas/handlers/plan.js';
import { makeCopyBatchHandler } from '../lambdas/handlers/copy-batch.js';
import { makeVerifyBatchHandler } from '../lambdas/handlers/verify-batch.js';
import { makeFinalizeHandler } from '../lambdas/handlers/finalize.js';
import { makeCutoverHandler } from '../lambdas/handlers/cutover.js';
import type { CutoverDeps, CutoverDirection, OperatorWait } from '../lambdas/app/cutover.js';
import { ConfigError } from '../lambdas/core/errors.js';
import { logger, type ContextProvider, type InvocationContext } from '../lambdas/handlers/common.js';
import type { HandlerName } from '../lib/reshard-stack.js';
import { ensureStateTable, LOCAL_AWS, startDynamo, startQueues, type LocalDynamo, type LocalQueues } from './emulators.js';
import { LocalCdc } from './cdc.js';
import { join } from 'node:path';
import { synthesizeStateMachine, type SynthesizedMachine } from './asl.js';

export interface LocalRuntimeOptions {
  readonly config: MigrationConfig;
  /** Directory for dynalite's data; omitted = in memory. */
  readonly stateDir?: string;
  /** Use an already running dynalite (tests share one per file). */
  readonly dynamo?: LocalDynamo;
  readonly stateTable?: string;
  /** Fault injection points (tests only). */
  readonly hooks?: CopyHooks;
  /** Called with the DynamoDB client before use (tests add middleware to simulate a killed process). */
  readonly onDocumentClient?: (doc: DynamoDBDocumentClient) => void;
  /** Use already running queues (tests); otherwise started when `cdc.enabled`. */
  readonly queues?: LocalQueues;
  /** Pause between Task retries, replacing the definition's seconds. @default 250 */
  readonly retryIntervalMs?: number;
  /** Run this synthesized state machine (e.g. an environment's) instead of the one synthesized for `config`. */
  readonly machine?: SynthesizedMachine;
  /** Called as each Task state's Lambda is invoked, with its handler's name (the chaos suite kills by phase). */
  readonly onTask?: (handler: HandlerName) => void;
}

type Handler = (event: unknown, ctx?: InvocationContext) => Promise<unknown>;

/** Handlers the full-copy state machine invokes (capture and apply run beside it, see `cdc.ts`; cutover needs its deps). */
const makers: Record<Exclude<HandlerName, 'capture' | 'apply' | 'cutover'>, (p: ContextProvider) => Handler> = {
  plan: makePlanHandler,
  'copy-batch': makeCopyBatchHandler,
  'verify-batch': makeVerifyBatchHandler,
  finalize: makeFinalizeHandler,
};

const synthCache = new Map<string, SynthesizedMachine>();

/** The Lambda timeout the local invocation context reports (as deployed). */
const LAMBDA_TIMEOUT_MS = 15 * 60 * 1000;

/** What a Task of an aborted local execution fails with (not retried: the name matches no Retry). */
class ExecutionAbortedError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** How the operator answers a cut-over waiting for them (`cutover.postpone`'s go, or `freeze: external`'s confirmation). */
export type Operator = (wait: OperatorWait) => Promise<void>;

export interface Execution {
  readonly id: string;
  readonly result: Promise<unknown>;
  abort(): void;
}

/**
 * Definitions aws-local-stepfunctions has validated: as Step Functions does at CreateStateMachine, a
 * definition is checked once (asl-validator; ~0.3 s, its schema compiled per call), not at every execution.
 */
const validDefinitions = new WeakSet<object>();

function stateMachineOf(definition: unknown): StateMachine {
  const known = validDefinitions.has(definition as object);
  const sm = new StateMachine(definition as never, { validationOptions: known ? { noValidate: true } : { checkArn: false, checkPaths: false } });
  validDefinitions.add(definition as object);
  return sm;
}

export class LocalRuntime {
  private constructor(
    readonly config: MigrationConfig,
    readonly ctx: AppContext,
    readonly store: StateStore,
    readonly machine: SynthesizedMachine,
    private readonly dynamo: LocalDynamo,
    private readonly ownsDynamo: boolean,
    private readonly retryIntervalMs: number,
    /** Change capture and apply, when the config enables CDC (not started until `cdc.start()`). */
    readonly cdc: LocalCdc | undefined,
    private readonly ownedQueues: LocalQueues | undefined,
    /** The reverse migration's context, with `cutover.reverse` and CDC. */
    readonly reverse: AppContext | undefined,
    private readonly onTask: ((handler: HandlerName) => void) | undefined,
  ) {}

  static async start(opts: LocalRuntimeOptions): Promise<LocalRuntime> {
    // The handlers' structured logs are for CloudWatch; locally only warnings unless asked for.
    if (!process.env.POWERTOOLS_LOG_LEVEL) logger.setLogLevel('WARN');
    const key = JSON.stringify(opts.config);
    let machine = opts.machine ?? synthCache.get(key);
    if (!machine) synthCache.set(key, (machine = synthesizeStateMachine(opts.config)));
    const dynamo = opts.dynamo ?? (await startDynamo(opts.stateDir));
    const tableName = opts.stateTable ?? 'reshard-state';
    await ensureStateTable(dynamo.client, tableName);
    const doc = dynamoClient({ ...LOCAL_AWS, endpoint: dynamo.endpoint });
    opts.onDocumentClient?.(doc);
    const store = new StateStore(doc, tableName);
    // Verification under live CDC waits for the local capture + apply to catch up (bound below, once they exist).
    let cdcRef: LocalCdc | undefined;
    const settle = opts.config.cdc.enabled ? async () => (cdcRef?.active ? cdcRef.catchUp(opts.config.verify.settleSeconds * 1000) : undefined) : undefined;
    const ctx = await buildContext({
      config: opts.config,
      store,
      workerId: localOwnerId({ host: hostname(), pid: process.pid }, randomUUID().slice(0, 8)),
      ...(opts.hooks ? { hooks: opts.hooks } : {}),
      ...(settle ? { settle } : {}),
    });
    let queues = opts.queues;
    let ownedQueues: LocalQueues | undefined;
    if (opts.config.cdc.enabled && !queues)
      queues = ownedQueues = await startQueues({
        ...(opts.stateDir ? { dataDir: join(opts.stateDir, 'sqs') } : {}),
        maxReceiveCount: opts.config.cdc.maxReceiveCount,
      });
    // Reverse replication (cutover.reverse): the new layout back to the old one, over the same store and queue.
    const reverse = opts.config.cdc.enabled && opts.config.cutover.reverse
      ? await buildReverseContext(ctx)
      : undefined;
    const cdc = opts.config.cdc.enabled && queues ? new LocalCdc(ctx, queues, reverse) : undefined;
    cdcRef = cdc;
    stateMachineOf(machine.definition); // validated now, as a deployment does, and not again per execution
    if (machine.cutover) stateMachineOf(machine.cutover.definition);
    return new LocalRuntime(opts.config, ctx, store, machine, dynamo, !opts.dynamo, opts.retryIntervalMs ?? 250, cdc, ownedQueues, reverse, opts.onTask);
  }

  /**
   * Frees what a killed local run left behind before this one starts: leases of processes of this host that are
   * gone are released at once, leases other processes still hold are waited out (`local/leases.ts`).
   */
  reclaimLeases(log: (line: string) => void): Promise<void> {
    return reclaimLeases(this.store, this.config, log);
  }

  /**
   * Starts one execution of the synthesized state machine (input `{migrationId}`).
   *
   * A Map whose iteration fails behaves as a Distributed Map with ToleratedFailurePercentage 0 does in AWS:
   * the run fails and the other child executions are aborted. aws-local-stepfunctions stops the running
   * iterations at their next state but still starts queued ones and lets a Task in progress finish; here an
   * aborted execution's Tasks fail at once and the result settles only after every Task in progress has
   * returned, so nothing of a failed execution keeps running beside the next one.
   */
  execute(input: Record<string, unknown> = {}): Execution {
    return this.run(this.machine, { migrationId: this.config.migrationId, ...input });
  }

  /**
   * Starts one execution of the synthesized Cutover state machine (input `{migrationId}`, or with
   * `abort: true`). Its waits for a task token end when `operator` resolves: it stands for SendTaskSuccess.
   */
  executeCutover(input: Record<string, unknown> = {}, operator?: Operator, deps: (d: CutoverDeps) => CutoverDeps = (d) => d): Execution {
    const machine = this.machine.cutover;
    if (!machine) throw new Error('this runtime runs a single synthesized machine without the Cutover state machine: start it with the config');
    return this.run(machine, { migrationId: this.config.migrationId, ...input }, operator, deps);
  }

  /**
   * What the cut-over (the rollback: `rollback`) needs besides its context: the local change queue's backlog,
   * DLQ depth and catch-up wait.
   */
  cutoverDeps(rollback = false): CutoverDeps {
    const cdc = this.cdc;
    return {
      backlog: async () => (cdc ? cdc.queue.backlog() : 0),
      dead: async () => (cdc ? (await cdc.dlq.depth()).visible : 0),
      ...(cdc ? { catchUp: (ms: number) => cdc.catchUp(ms, rollback) } : {}),
    };
  }

  /** The direction of a cut-over of this runtime: forward, or with `rollback` the reverse migration's (`app/cutover.ts`). */
  direction(rollback = false): CutoverDirection {
    if (rollback && !this.reverse) throw new ConfigError(`${this.config.migrationId} has no reverse replication to roll back with: set cutover.reverse and cdc.enabled`);
    return { ctx: this.ctx, rollback, ...(this.reverse ? { reverse: this.reverse } : {}) };
  }

  /**
   * Runs one child execution of a Distributed Map of the synthesized definition (its ItemProcessor) with
   * `item` as input — what a redrive does for a failed child: Step Functions restarts it at the state that
   * failed with that state's input, and for our children that is the batch Task they start with.
   */
  executeChild(mapState: string, item: Record<string, unknown>): Execution {
    const map = (this.machine.definition as { States: Record<string, { ItemProcessor?: { StartAt: string; States: Record<string, unknown> } }> }).States[mapState];
    if (!map?.ItemProcessor) throw new Error(`state ${mapState} is not a Map of the synthesized definition`);
    return this.run({ definition: { StartAt: map.ItemProcessor.StartAt, States: map.ItemProcessor.States }, taskHandlers: this.machine.taskHandlers }, item);
  }

  /** `cutoverDeps` adapts what the cutover handler gets (tests inject faults through it). */
  private run(
    machine: { readonly definition: unknown; readonly taskHandlers: SynthesizedMachine['taskHandlers'] },
    input: Record<string, unknown>,
    operator?: Operator,
    cutoverDeps: (d: CutoverDeps) => CutoverDeps = (d) => d,
  ): Execution {
    const { definition } = machine;
    const provider: ContextProvider = () => Promise.resolve(this.ctx);
    const states = (definition as { States: Record<string, { Resource?: string }> }).States;
    const taskResourceLocalHandlers: Record<string, (input: unknown) => Promise<unknown>> = {};
    const retryIntervalOverrides: Record<string, number> = {};
    const inFlight = new Set<Promise<unknown>>();
    let aborted = false;
    for (const [state, name] of Object.entries(machine.taskHandlers)) {
      const reverse = this.reverse;
      const handler =
        name === 'cutover'
          ? makeCutoverHandler(provider, (rollback) => cutoverDeps(this.cutoverDeps(rollback)), reverse ? () => Promise.resolve(reverse) : undefined)
          : name in makers
            ? makers[name as keyof typeof makers](provider)
            : undefined;
      if (!handler) throw new Error(`state ${state} invokes the ${name} handler, which the state machine does not run`);
      // `lambda:invoke.waitForTaskToken`: the call records the token; the state ends at SendTaskSuccess (here: the operator).
      const waits = states[state]?.Resource?.endsWith('.waitForTaskToken') ?? false;
      taskResourceLocalHandlers[state] = async (taskInput: unknown) => {
        if (aborted) throw new ExecutionAbortedError('States.Aborted', 'the execution was aborted (a Map iteration failed)');
        // `arn:aws:states:::lambda:invoke` sends {FunctionName, Payload} and returns {Payload, StatusCode}.
        const deadline = Date.now() + LAMBDA_TIMEOUT_MS;
        const invocation: InvocationContext = { awsRequestId: randomUUID(), getRemainingTimeInMillis: () => deadline - Date.now() };
        const payload = (taskInput as { Payload?: unknown }).Payload;
        this.onTask?.(name);
        const call = handler(payload, invocation);
        inFlight.add(call);
        try {
          const out = await call;
          if (!waits) return { StatusCode: 200, Payload: out };
        } finally {
          inFlight.delete(call);
        }
        const wait = (payload as { wait?: OperatorWait }).wait ?? 'go';
        if (!operator) throw new Error(`state ${state} waits for the operator (${wait}), and this execution was started without a way to hear them`);
        await operator(wait);
        return {};
      };
      retryIntervalOverrides[state] = this.retryIntervalMs;
    }
    const executionId = randomUUID();
    const sm = stateMachineOf(definition);
    const run = sm.run(input as never, {
      overrides: { taskResourceLocalHandlers: taskResourceLocalHandlers as never, retryIntervalOverrides },
      // `$$.Task.Token`: one per execution is enough here, where one task at a time waits for it.
      context: { Task: { Token: `local:${executionId}` }, Execution: { Id: `arn:aws:states:us-east-1:000000000000:execution:local:${executionId}` } },
    });
    let killed = false;
    const settleAll = async () => {
      aborted = true;
      // An execution aborted from outside (a simulated kill) settles at once, whatever is still running.
      while (inFlight.size && !killed) await Promise.race([Promise.allSettled([...inFlight]), killSignal]);
    };
    let onKill: () => void = () => undefined;
    const killSignal = new Promise<void>((r) => (onKill = r));
    const result = run.result.then(
      async (out: unknown) => {
        await settleAll();
        return out;
      },
      async (err: unknown) => {
        await settleAll();
        throw err;
      },
    );
    return {
      id: executionId,
      result,
      abort: () => {
        aborted = true;
        killed = true;
        onKill();
        run.abort();
      },
    };
  }

  async close(): Promise<void> {
    await this.cdc?.stop();
    await this.ownedQueues?.close();
    await closeContext(this.ctx);
    if (this.reverse) await closeContext(this.reverse);
    if (this.ownsDynamo) await this.dynamo.close();
  }
}
