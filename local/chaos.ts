/**
 * The chaos scenario: a copy with CDC while a writer inserts, updates and deletes, with faults injected at
 * seeded random moments, then an independent comparison of every target table with the source.
 *
 * Faults:
 * - AWS API errors through AWS SDK v3 middleware on the real clients (DynamoDB: ThrottlingException,
 *   ProvisionedThroughputExceededException, 500; SQS: throttling and 500 on send, receive and delete),
 *   thrown on a request's first attempt, before it is sent or (500s) after it took effect;
 * - `KILL CONNECTION` from the server side on a random session of the migration (source readers, target
 *   writers, the binlog dump; the writer's own sessions are spared);
 * - short visibility: a receive of change messages asks for a 1 s visibility timeout instead of apply's own, so
 *   a batch that takes longer is delivered again while it is still being applied (a duplicate delivery);
 * - lock holds on the targets: a transaction locks a random key range of a random target table (gaps
 *   included) for a while, so the copy's and apply's writes there wait, time out or deadlock;
 * - with `restartServer`, restarts of the server holding the source and the targets (shut down, started
 *   again on the same datadir).
 *
 * An execution that fails meanwhile is started again (a restart), as an operator would redrive it. Once the
 * copy is through, the writer stops, CDC reaches lag 0, and every target table is compared with the source
 * rows the routing rule sends to it, in SQL (`checksum.ts`), row by row where the checksums differ.
 */
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import type { MigrationConfig } from '../lambdas/core/config.js';
import { routerFor } from '../lambdas/app/context.js';
import { qt } from '../lambdas/core/sql.js';
import { sleep } from '../lambdas/core/time.js';
import { describeError } from '../lambdas/core/errors.js';
import { rng } from './seed.js';
import { LocalRuntime } from './runtime.js';
import type { LocalDynamo } from './emulators.js';
import { checkAll, rowDifferences } from './checksum.js';
import { DemoWriter } from './demo.js';

export type FaultKind =
  | 'dynamodb-throttle'
  | 'dynamodb-500'
  | 'dynamodb-500-after'
  | 'sqs-throttle'
  | 'sqs-500'
  | 'sqs-500-after'
  | 'kill-connection'
  | 'server-restart'
  | 'lock-hold'
  | 'short-visibility';

export interface ChaosOptions {
  readonly config: MigrationConfig;
  /** Root on the server holding the source and the targets. */
  readonly admin: Pool;
  /** Orders seeded in the source (the writer's updates and deletes pick among them). */
  readonly orders: number;
  readonly seed: number;
  /** Faults to inject in all. */
  readonly faults: number;
  /** Share of AWS requests that fail (until the budget is spent). @default 0.05 */
  readonly awsFaultRate?: number;
  /** Mean pause between two killed connections, ms. @default 400 */
  readonly killEveryMs?: number;
  readonly dynamo?: LocalDynamo;
  /**
   * Stops the server holding the source and the targets and starts it again on the same datadir; with it,
   * `restarts` restarts happen at seeded moments during the copy. @default none
   */
  readonly restartServer?: () => Promise<void>;
  /** @default 0 */
  readonly restarts?: number;
  /**
   * How long a conflicting transaction holds the rows it locked in a target table (`SELECT … FOR UPDATE` over a
   * key range, with its gaps), ms; one starts about every second. Longer than the server's
   * `innodb_lock_wait_timeout`, the copy's and apply's writes there fail with a lock-wait timeout. @default 1500
   */
  readonly lockHoldMs?: number;
  readonly log?: (line: string) => void;
}

export interface ChaosResult {
  readonly seed: number;
  readonly faultsInjected: number;
  readonly byKind: Readonly<Record<FaultKind, number>>;
  /** Executions started again after one failed. */
  readonly restarts: number;
  /** Failed copy and verify attempts recorded in the checkpoints (each redoes at most one page). */
  readonly rowsRedone: number;
  readonly rowsLost: number;
  readonly rowsExtra: number;
  readonly rowsDifferent: number;
  readonly sourceRows: number;
  readonly writes: number;
  readonly seconds: number;
}

/** Decides, from the seed, which requests and sessions fail; counts what it did. */
class FaultPlan {
  readonly byKind: Record<FaultKind, number> = {
    'dynamodb-throttle': 0,
    'dynamodb-500': 0,
    'dynamodb-500-after': 0,
    'sqs-throttle': 0,
    'sqs-500': 0,
    'sqs-500-after': 0,
    'kill-connection': 0,
    'server-restart': 0,
    'lock-hold': 0,
    'short-visibility': 0,
  };
  private readonly rand: () => number;
  active = true;
  constructor(
    seed: number,
    private readonly budget: number,
  ) {
    this.rand = rng(seed);
  }
  get injected(): number {
    return Object.values(this.byKind).reduce((a, b) => a + b, 0);
  }
  /** Whether the next fault may happen, with probability `p`. */
  draw(p: number): boolean {
    return this.active && this.injected < this.budget && this.rand() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.rand() * items.length)]!;
  }
  pauseMs(mean: number): number {
    return Math.round(mean * (0.5 + this.rand()));
  }
}

/** An AWS error as the SDK's retry strategy sees one (name, HTTP status, fault side). */
function awsError(name: string, status: number): Error {
  return Object.assign(new Error(`injected by the chaos suite: ${name} (${status})`), { name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status, attempts: 1 } });
}

/** The part of an SDK client's middleware stack used here. */
interface Stack {
  add(
    mw: (next: (args: { request: unknown }) => Promise<unknown>, context: { commandName?: string }) => (args: { request: unknown }) => Promise<unknown>,
    opts: { step: 'finalizeRequest' | 'initialize'; priority: 'low' | 'high'; name: string },
  ): void;
}

/** Gives some ReceiveMessage calls a 1 s visibility timeout: slower processing sees the messages delivered again. */
function shortVisibility(stack: Stack, plan: FaultPlan, rate: number): void {
  stack.add(
    (next, context) => async (args) => {
      const input = (args as { input?: { VisibilityTimeout?: number } }).input;
      if (context.commandName === 'ReceiveMessageCommand' && input?.VisibilityTimeout !== undefined && plan.draw(rate)) {
        input.VisibilityTimeout = 1;
        plan.byKind['short-visibility']++;
      }
      return next(args);
    },
    { step: 'initialize', priority: 'high', name: 'reshardChaosShortVisibility' },
  );
}

/** An injected AWS error: its kind, name and HTTP status, and whether it comes after the request took effect. */
type AwsFault = readonly [FaultKind, string, number, 'before' | 'after'];

/**
 * Fails a request's first attempt with one of `errors` (inside the SDK's retry loop: the retry strategy sees
 * it as it sees a real one): before it is sent, or once the service has done it (as when a response is lost),
 * so the retry sends it again — a conditional write whose first try succeeded, a message sent twice.
 */
function injectAws(stack: Stack, plan: FaultPlan, rate: number, errors: readonly AwsFault[]): void {
  stack.add(
    (next) => async (args) => {
      const headers = (args.request as { headers?: Record<string, string> }).headers ?? {};
      const firstAttempt = !/attempt=([2-9]|\d\d)/.test(headers['amz-sdk-request'] ?? '');
      if (firstAttempt && plan.draw(rate)) {
        const [kind, name, status, when] = plan.pick(errors);
        plan.byKind[kind]++;
        if (when === 'after') await next(args);
        throw awsError(name, status);
      }
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'reshardChaosFaults' },
  );
}

/** Runs `body` in the background until `stop`, which it sees through `running()`; `stop` waits for it to end. */
function background(body: (running: () => boolean) => Promise<void>): { stop(): Promise<void> } {
  let running = true;
  const loop = body(() => running);
  return {
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** Kills a random session of the migration now and then, sparing `spared` and itself. */
function startKiller(admin: Pool, plan: FaultPlan, everyMs: number, spared: ReadonlySet<number>, log: (l: string) => void) {
  return background(async (running) => {
    let conn: PoolConnection | undefined;
    while (running()) {
      await sleep(plan.pauseMs(everyMs));
      if (!plan.draw(1)) continue;
      try {
        conn ??= await admin.getConnection();
        const [rows] = await conn.query<RowDataPacket[]>(
          "SELECT ID, COMMAND FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND USER <> 'system user' AND COMMAND NOT IN ('Daemon')",
        );
        const victims = rows.filter((r) => !spared.has(Number(r.ID)));
        if (!victims.length) continue;
        const v = plan.pick(victims);
        await conn.query(`KILL CONNECTION ${Number(v.ID)}`);
        plan.byKind['kill-connection']++;
      } catch (err) {
        if ((err as { code?: string }).code === 'ER_NO_SUCH_THREAD') continue;
        // The server went away (a restart): a new session next time.
        conn?.destroy();
        conn = undefined;
        log(`chaos: kill failed: ${describeError(err)}`);
      }
    }
    conn?.release();
  });
}

/** The stack of the innermost cause (for RESHARD_CHAOS_STACKS). */
function deepestStack(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && e.cause instanceof Error) e = e.cause;
  return e instanceof Error ? (e.stack ?? e.message) : String(e);
}

/** Now and then locks a random key range of a random target table for `holdMs`, then rolls back. */
function startLockHolds(admin: Pool, plan: FaultPlan, targets: readonly string[], maxKey: number, holdMs: number, log: (l: string) => void) {
  return background(async (running) => {
    while (running()) {
      await sleep(plan.pauseMs(1000));
      if (!running() || !plan.draw(0.5)) continue;
      const table = plan.pick(targets);
      const lo = 1 + Math.floor(plan.pauseMs(maxKey / 2));
      let conn: PoolConnection | undefined;
      try {
        conn = await admin.getConnection();
        await conn.query('START TRANSACTION');
        await conn.query(`SELECT id FROM ${table} WHERE id BETWEEN ? AND ? FOR UPDATE`, [lo, lo + 2000]);
        plan.byKind['lock-hold']++;
        await sleep(plan.pauseMs(holdMs));
        await conn.query('ROLLBACK');
        conn.release();
      } catch (err) {
        conn?.destroy();
        log(`chaos: lock hold failed: ${describeError(err)}`);
      }
    }
  });
}

/** Restarts the server `count` times, each after a seeded pause of 2–6 s. */
function startRestarts(plan: FaultPlan, restart: () => Promise<void>, count: number, log: (l: string) => void) {
  return background(async (running) => {
    for (let i = 0; i < count && running(); i++) {
      await sleep(plan.pauseMs(4000));
      if (!running() || !plan.draw(1)) return;
      log('chaos: restarting the server');
      await restart();
      plan.byKind['server-restart']++;
    }
  });
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosResult> {
  const log = opts.log ?? (() => undefined);
  const started = Date.now();
  const plan = new FaultPlan(opts.seed, opts.faults);
  const rate = opts.awsFaultRate ?? 0.05;
  const { config, admin } = opts;
  // The writer's and the controller's sessions are never killed.
  const spared = new Set<number>();
  admin.on('connection', (c) => spared.add(c.threadId));
  for (const c of await Promise.all(Array.from({ length: 2 }, () => admin.getConnection()))) {
    spared.add(c.threadId);
    c.release();
  }
  const rt = await LocalRuntime.start({
    config,
    ...(opts.dynamo ? { dynamo: opts.dynamo } : {}),
    retryIntervalMs: 200,
    onDocumentClient: (doc) =>
      injectAws(doc.middlewareStack as unknown as Stack, plan, rate, [
        ['dynamodb-throttle', 'ThrottlingException', 400, 'before'],
        ['dynamodb-throttle', 'ProvisionedThroughputExceededException', 400, 'before'],
        ['dynamodb-500', 'InternalServerError', 500, 'before'],
        ['dynamodb-500-after', 'InternalServerError', 500, 'after'],
      ]),
  });
  const writer = new DemoWriter(admin, config.source.database!, opts.orders, opts.seed, true);
  let restarts = 0;
  try {
    injectAws(rt.cdc!.queues.sqs.middlewareStack as unknown as Stack, plan, rate, [
      ['sqs-throttle', 'ThrottlingException', 400, 'before'],
      ['sqs-500', 'InternalError', 500, 'before'],
      ['sqs-500-after', 'InternalError', 500, 'after'],
    ]);
    shortVisibility(rt.cdc!.queues.sqs.middlewareStack as unknown as Stack, plan, rate);
    rt.cdc!.start();
    writer.start();
    const killer = startKiller(admin, plan, opts.killEveryMs ?? 400, spared, log);
    const restarter = opts.restartServer && opts.restarts ? startRestarts(plan, opts.restartServer, opts.restarts, log) : undefined;
    const targets = config.tables.flatMap((t) => routerFor(rt.ctx, t).allTargets().map((x) => qt(x.database, x.tableName)));
    const locker = startLockHolds(admin, plan, targets, opts.orders, opts.lockHoldMs ?? 1500, log);
    try {
      for (;;) {
        try {
          await rt.execute().result;
          break;
        } catch (err) {
          if (++restarts > 30) throw new Error(`the migration failed 30 times under faults; last: ${describeError(err)}`, { cause: err });
          log(`chaos: execution failed (${describeError(err).slice(0, 200)}); starting it again`);
          if (process.env.RESHARD_CHAOS_STACKS) log(deepestStack(err));
        }
      }
    } finally {
      plan.active = false;
      await restarter?.stop();
      await locker.stop();
      await killer.stop();
      await writer.stop();
    }
    log(`chaos: copy and verification through, ${plan.injected} faults injected, ${restarts} restart(s); applying until CDC lag is 0…`);
    await rt.cdc!.drain(10 * 60_000);
    const retries = (await Promise.all(config.tables.map((t) => rt.store.segments(config.migrationId, t.name)))).flat().reduce((a, s) => a + (s.retries ?? 0), 0);
    const checks = await checkAll(config, admin, [admin]);
    const diff = await rowDifferences(config, admin, checks);
    return {
      seed: opts.seed,
      faultsInjected: plan.injected,
      byKind: { ...plan.byKind },
      restarts,
      rowsRedone: retries * config.copy.pageSize,
      ...diff,
      sourceRows: checks.reduce((a, c) => a + c.sourceRows, 0),
      writes: writer.ops,
      seconds: Math.round((Date.now() - started) / 100) / 10,
    };
  } finally {
    await writer.stop();
    await rt.close();
  }
}
