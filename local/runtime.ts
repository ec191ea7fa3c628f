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
import { buildContext, closeContext } from '../lambdas/app/build-context.js';
import type { AppContext, CopyHooks } from '../lambdas/app/context.js';
import { makePlanHandler } from '../lambdas/handlers/plan.js';
import { makeCopyBatchHandler } from '../lambdas/handlers/copy-batch.js';
import { makeVerifyBatchHandler } from '../lambdas/handlers/verify-batch.js';
import { makeFinalizeHandler } from '../lambdas/handlers/finalize.js';
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
}

type Handler = (event: unknown, ctx?: InvocationContext) => Promise<unknown>;

/** Handlers the state machine invokes (capture and apply run beside it, see `cdc.ts`). */
const makers: Record<Exclude<HandlerName, 'capture' | 'apply'>, (p: ContextProvider) => Handler> = {
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
    const cdc = opts.config.cdc.enabled && queues ? new LocalCdc(ctx, queues) : undefined;
    cdcRef = cdc;
    stateMachineOf(machine.definition); // validated now, as a deployment does, and not again per execution
    return new LocalRuntime(opts.config, ctx, store, machine, dynamo, !opts.dynamo, opts.retryIntervalMs ?? 250, cdc, ownedQueues);
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
    return this.run(this.machine.definition, { migrationId: this.config.migrationId, ...input });
  }

  /**
   * Runs one child execution of a Distributed Map of the synthesized definition (its ItemProcessor) with
   * `item` as input — what a redrive does for a failed child: Step Functions restarts it at the state that
   * failed with that state's input, and for our children that is the batch Task they start with.
   */
  executeChild(mapState: string, item: Record<string, unknown>): Execution {
    const map = (this.machine.definition as { States: Record<string, { ItemProcessor?: { StartAt: string; States: Record<string, unknown> } }> }).States[mapState];
    if (!map?.ItemProcessor) throw new Error(`state ${mapState} is not a Map of the synthesized definition`);
    return this.run({ StartAt: map.ItemProcessor.StartAt, States: map.ItemProcessor.States }, item);
  }

  private run(definition: unknown, input: Record<string, unknown>): Execution {
    const provider: ContextProvider = () => Promise.resolve(this.ctx);
    const taskResourceLocalHandlers: Record<string, (input: unknown) => Promise<unknown>> = {};
    const retryIntervalOverrides: Record<string, number> = {};
    const inFlight = new Set<Promise<unknown>>();
    let aborted = false;
    for (const [state, name] of Object.entries(this.machine.taskHandlers)) {
      if (!(name in makers)) throw new Error(`state ${state} invokes the ${name} handler, which the state machine does not run`);
      const handler = makers[name as keyof typeof makers](provider);
      taskResourceLocalHandlers[state] = async (taskInput: unknown) => {
        if (aborted) throw new ExecutionAbortedError('States.Aborted', 'the execution was aborted (a Map iteration failed)');
        // `arn:aws:states:::lambda:invoke` sends {FunctionName, Payload} and returns {Payload, StatusCode}.
        const deadline = Date.now() + LAMBDA_TIMEOUT_MS;
        const invocation: InvocationContext = { awsRequestId: randomUUID(), getRemainingTimeInMillis: () => deadline - Date.now() };
        const payload = (taskInput as { Payload?: unknown }).Payload;
        const call = handler(payload, invocation);
        inFlight.add(call);
        try {
          return { StatusCode: 200, Payload: await call };
        } finally {
          inFlight.delete(call);
        }
      };
      retryIntervalOverrides[state] = this.retryIntervalMs;
    }
    const sm = stateMachineOf(definition);
    const run = sm.run(input as never, {
      overrides: { taskResourceLocalHandlers: taskResourceLocalHandlers as never, retryIntervalOverrides },
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
      id: randomUUID(),
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
    if (this.ownsDynamo) await this.dynamo.close();
  }
}
