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
 * - capture crashes between send and checkpoint: a commit of capture's position fails, not retried, after its
 *   messages were sent;
 * - short visibility: a receive of change messages asks for a 1 s visibility timeout instead of apply's own, so
 *   a batch that takes longer is delivered again while it is still being applied (a duplicate delivery);
 * - lock holds on the targets: a transaction locks a random key range of a random target table (gaps
 *   included) for a while, so the copy's and apply's writes there wait, time out or deadlock;
 * - with `restartServer`, restarts of the source's or the targets' server, or of the one holding both (shut
 *   down, started again on the same datadir).
 *
 * An execution that fails meanwhile is started again (a restart), as an operator would redrive it. Once the
 * copy is through, the writer stops, CDC reaches lag 0, and every target table is compared with the source
 * rows the routing rule sends to it, in SQL (`checksum.ts`), row by row where the checksums differ.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Pool, PoolConnection, RowDataPacket } from 'mysql2/promise';
import { builtInRouters, TableRouter } from '../lambdas/core/routing.js';
import type { HandlerName } from '../lib/reshard-stack.js';
import type { MigrationConfig } from '../lambdas/core/config.js';
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
  | 'source-restart'
  | 'target-restart'
  | 'lock-hold'
  | 'short-visibility'
  | 'capture-crash'
  | 'sigkill';

export interface ChaosOptions {
  readonly config: MigrationConfig;
  /** Root on the server holding the source (and the targets, unless `targetAdmin` is another server). */
  readonly admin: Pool;
  /** Root on the server holding the targets, when it is not the source's. */
  readonly targetAdmin?: Pool;
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
   * Stops the source's or the targets' server (the same one unless `targetAdmin` is given) and starts it again
   * on the same datadir; with it, `restarts` restarts happen at seeded moments during the copy, on a seeded
   * pick of the two servers. @default none
   */
  readonly restartServer?: (server: 'source' | 'target') => Promise<void>;
  /** @default 0 */
  readonly restarts?: number;
  /**
   * SIGKILLs of the runtime: with it, the runtime runs in child processes, killed once they reach the next of
   * `KILL_PHASES` (copy, apply, verify, finalize, and again), and started again on the same state. @default 0
   */
  readonly kills?: number;
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
  /** With `kills`: the phase each SIGKILL hit. */
  readonly killedIn?: readonly KillPhase[];
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
export class FaultPlan {
  readonly byKind: Record<FaultKind, number> = {
    'dynamodb-throttle': 0,
    'dynamodb-500': 0,
    'dynamodb-500-after': 0,
    'sqs-throttle': 0,
    'sqs-500': 0,
    'sqs-500-after': 0,
    'kill-connection': 0,
    'server-restart': 0,
    'source-restart': 0,
    'target-restart': 0,
    'lock-hold': 0,
    'short-visibility': 0,
    'capture-crash': 0,
    sigkill: 0,
  };
  /** The phases the runtime was killed in (SIGKILL, `ChaosOptions.kills`). */
  readonly killedIn: KillPhase[] = [];
  /** Told of every fault counted (a chaos child reports its faults to the parent this way). */
  onInject?: (kind: FaultKind) => void;
  private readonly rand: () => number;
  active = true;
  constructor(
    seed: number,
    readonly budget: number,
  ) {
    this.rand = rng(seed);
  }
  /** Counts one fault of `kind`. */
  count(kind: FaultKind): void {
    this.byKind[kind]++;
    this.onInject?.(kind);
  }
  get injected(): number {
    return Object.values(this.byKind).reduce((a, b) => a + b, 0);
  }
  /** Whether the next fault of `kind` may happen, with probability `p`: at most `max` of them, apart from the budget. */
  drawOwn(kind: FaultKind, p: number, max: number): boolean {
    return this.active && this.byKind[kind] < max && this.rand() < p;
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
        plan.count('short-visibility');
      }
      return next(args);
    },
    { step: 'initialize', priority: 'high', name: 'reshardChaosShortVisibility' },
  );
}

/**
 * Crashes a capture run between send and checkpoint: some commits of capture's position fail at once, not
 * retried, after the run's messages were sent. The next run reads again from the checkpoint and sends them again.
 */
function captureCrashes(stack: Stack, plan: FaultPlan, rate: number): void {
  stack.add(
    (next) => async (args) => {
      const input = (args as { input?: { Key?: { sk?: unknown }; UpdateExpression?: string } }).input;
      // The key as the document client has it, or marshalled ({S: …}) as the client's own stack sees it.
      const raw = input?.Key?.sk;
      const sk = typeof raw === 'string' ? raw : (raw as { S?: unknown } | undefined)?.S;
      const commit = typeof sk === 'string' && sk.startsWith('CAPTURE') && input?.UpdateExpression?.includes('#p = :p');
      // A share of the budget of their own: capture commits are few beside the copy's requests.
      if (commit && plan.drawOwn('capture-crash', rate * 4, Math.max(1, Math.round(plan.budget / 20)))) {
        plan.count('capture-crash');
        throw Object.assign(new Error('injected by the chaos suite: capture crashed between send and checkpoint'), { name: 'ChaosCaptureCrash' });
      }
      return next(args);
    },
    { step: 'initialize', priority: 'high', name: 'reshardChaosCaptureCrash' },
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
        plan.count(kind);
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

/** Kills a random session of the migration now and then, on one of `servers` (seeded), sparing `spared` and itself. */
function startKiller(servers: readonly Pool[], plan: FaultPlan, everyMs: number, spared: ReadonlySet<number>, log: (l: string) => void) {
  return background(async (running) => {
    const conns = new Map<Pool, PoolConnection>();
    while (running()) {
      await sleep(plan.pauseMs(everyMs));
      if (!plan.draw(1)) continue;
      const admin = plan.pick(servers);
      let conn = conns.get(admin);
      try {
        if (!conn) conns.set(admin, (conn = await admin.getConnection()));
        const [rows] = await conn.query<RowDataPacket[]>(
          "SELECT ID, COMMAND FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND USER <> 'system user' AND COMMAND NOT IN ('Daemon')",
        );
        const victims = rows.filter((r) => !spared.has(Number(r.ID)));
        if (!victims.length) continue;
        const v = plan.pick(victims);
        await conn.query(`KILL CONNECTION ${Number(v.ID)}`);
        plan.count('kill-connection');
      } catch (err) {
        if ((err as { code?: string }).code === 'ER_NO_SUCH_THREAD') continue;
        // The server went away (a restart): a new session next time.
        conn?.destroy();
        conns.delete(admin);
        log(`chaos: kill failed: ${describeError(err)}`);
      }
    }
    for (const c of conns.values()) c.release();
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
        plan.count('lock-hold');
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

/**
 * Restarts a server `count` times, each after a seeded pause of 2–6 s: with two servers (`apart`), the source's
 * or the targets' by a seeded pick; else the one that holds both.
 */
function startRestarts(plan: FaultPlan, restart: (server: 'source' | 'target') => Promise<void>, count: number, apart: boolean, log: (l: string) => void) {
  return background(async (running) => {
    for (let i = 0; i < count && running(); i++) {
      await sleep(plan.pauseMs(4000));
      if (!running() || !plan.draw(1)) return;
      const server = apart ? plan.pick(['source', 'target'] as const) : 'source';
      log(`chaos: restarting the ${apart ? `${server} ` : ''}server`);
      await restart(server);
      plan.count(apart ? `${server}-restart` : 'server-restart');
    }
  });
}

/** What the runtime side of a chaos run needs (in this process, or in a chaos child). */
export interface ChaosRuntimeOptions {
  readonly config: MigrationConfig;
  readonly plan: FaultPlan;
  /** Share of AWS requests that fail. */
  readonly rate: number;
  readonly dynamo?: LocalDynamo;
  /** Keeps dynalite's and the queues' data on disk (a chaos child, killed and started again). */
  readonly stateDir?: string;
  readonly onTask?: (handler: HandlerName) => void;
  readonly log: (line: string) => void;
}

/** The local runtime with the AWS faults on its DynamoDB and SQS clients, capture and apply started. */
export async function startChaosRuntime(o: ChaosRuntimeOptions): Promise<LocalRuntime> {
  const rt = await LocalRuntime.start({
    config: o.config,
    ...(o.dynamo ? { dynamo: o.dynamo } : {}),
    ...(o.stateDir ? { stateDir: o.stateDir } : {}),
    ...(o.onTask ? { onTask: o.onTask } : {}),
    retryIntervalMs: 200,
    onDocumentClient: (doc) => {
      injectAws(doc.middlewareStack as unknown as Stack, o.plan, o.rate, [
        ['dynamodb-throttle', 'ThrottlingException', 400, 'before'],
        ['dynamodb-throttle', 'ProvisionedThroughputExceededException', 400, 'before'],
        ['dynamodb-500', 'InternalServerError', 500, 'before'],
        ['dynamodb-500-after', 'InternalServerError', 500, 'after'],
      ]);
      captureCrashes(doc.middlewareStack as unknown as Stack, o.plan, o.rate);
    },
  });
  // A runtime started again after a kill takes over the leases its dead predecessor held.
  await rt.reclaimLeases((line) => o.log(`chaos: ${line}`));
  injectAws(rt.cdc!.queues.sqs.middlewareStack as unknown as Stack, o.plan, o.rate, [
    ['sqs-throttle', 'ThrottlingException', 400, 'before'],
    ['sqs-500', 'InternalError', 500, 'before'],
    ['sqs-500-after', 'InternalError', 500, 'after'],
  ]);
  shortVisibility(rt.cdc!.queues.sqs.middlewareStack as unknown as Stack, o.plan, o.rate);
  rt.cdc!.start();
  return rt;
}

/** Starts executions until one succeeds, as an operator redrives a failed one; how many were started again. */
export async function executeUntilDone(rt: LocalRuntime, log: (line: string) => void, onRestart: () => void = () => undefined): Promise<number> {
  for (let restarts = 0; ; ) {
    try {
      await rt.execute().result;
      return restarts;
    } catch (err) {
      if (++restarts > 30) throw new Error(`the migration failed 30 times under faults; last: ${describeError(err)}`, { cause: err });
      onRestart();
      log(`chaos: execution failed (${describeError(err).slice(0, 200)}); starting it again`);
      if (process.env.RESHARD_CHAOS_STACKS) log(deepestStack(err));
    }
  }
}

/** Failed copy and verify attempts recorded in the checkpoints. */
export async function retriesOf(rt: LocalRuntime): Promise<number> {
  return (await Promise.all(rt.config.tables.map((t) => rt.store.segments(rt.config.migrationId, t.name)))).flat().reduce((a, s) => a + (s.retries ?? 0), 0);
}

/** The phases a SIGKILL of the runtime aims at, in the order a run reaches them. */
export const KILL_PHASES = ['copy', 'apply', 'verify', 'finalize'] as const;
export type KillPhase = (typeof KILL_PHASES)[number];

/** The phase a Task state's handler is in. */
export const phaseOfHandler = (h: HandlerName): KillPhase | undefined => (h === 'copy-batch' ? 'copy' : h === 'verify-batch' ? 'verify' : h === 'finalize' ? 'finalize' : undefined);

export async function runChaos(opts: ChaosOptions): Promise<ChaosResult> {
  const log = opts.log ?? (() => undefined);
  const started = Date.now();
  const plan = new FaultPlan(opts.seed, opts.faults);
  const rate = opts.awsFaultRate ?? 0.05;
  const { config, admin } = opts;
  const targetAdmin = opts.targetAdmin ?? admin;
  const servers = [...new Set([admin, targetAdmin])];
  // The writer's and the controller's sessions are never killed (one set for both servers' thread ids: at worst
  // a session of the migration is spared that need not be).
  const spared = new Set<number>();
  for (const pool of servers) {
    pool.on('connection', (c) => spared.add(c.threadId));
    for (const c of await Promise.all(Array.from({ length: 2 }, () => pool.getConnection()))) {
      spared.add(c.threadId);
      c.release();
    }
  }
  const writer = new DemoWriter(admin, config.source.database!, opts.orders, opts.seed, true);
  const kills = opts.kills ?? 0;
  // In this process, unless the runtime is to be killed: then in chaos children (`chaos-child.ts`).
  const rt = kills ? undefined : await startChaosRuntime({ config, plan, rate, ...(opts.dynamo ? { dynamo: opts.dynamo } : {}), log });
  let restarts: number;
  let stopFaults: () => Promise<void> = () => Promise.resolve();
  try {
    writer.start();
    const killer = startKiller(servers, plan, opts.killEveryMs ?? 400, spared, log);
    const restarter = opts.restartServer && opts.restarts ? startRestarts(plan, opts.restartServer, opts.restarts, servers.length > 1, log) : undefined;
    const targets = config.tables.flatMap((t) => new TableRouter(config, t, builtInRouters.spread).allTargets().map((x) => qt(x.database, x.tableName)));
    const locker = startLockHolds(targetAdmin, plan, targets, opts.orders, opts.lockHoldMs ?? 1500, log);
    stopFaults = async () => {
      plan.active = false;
      await restarter?.stop();
      await locker.stop();
      await killer.stop();
      await writer.stop();
    };
    let retries: number;
    if (rt) {
      try {
        restarts = await executeUntilDone(rt, log);
      } finally {
        await stopFaults();
      }
      log(`chaos: copy and verification through, ${plan.injected} faults injected, ${restarts} restart(s); applying until CDC lag is 0…`);
      await rt.cdc!.drain(10 * 60_000);
      retries = await retriesOf(rt);
    } else {
      const out = await runInChildren({ ...opts, kills }, plan, rate, stopFaults, log);
      restarts = out.restarts;
      retries = out.retries;
    }
    const checks = await checkAll(config, admin, Array.from({ length: config.target.databases }, () => targetAdmin));
    const diff = await rowDifferences(config, admin, checks, { target: targetAdmin });
    return {
      seed: opts.seed,
      faultsInjected: plan.injected,
      byKind: { ...plan.byKind },
      restarts,
      ...(kills ? { killedIn: plan.killedIn } : {}),
      rowsRedone: retries * config.copy.pageSize,
      ...diff,
      sourceRows: checks.reduce((a, c) => a + c.sourceRows, 0),
      writes: writer.ops,
      seconds: Math.round((Date.now() - started) / 100) / 10,
    };
  } finally {
    await stopFaults();
    await writer.stop();
    await rt?.close();
  }
}

/** How the chaos child is started: node with tsx, this file's sibling. */
const CHILD = [process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'chaos-child.ts')]] as const;

/** What a chaos child is given (as a JSON file). */
export interface ChaosChildInput {
  readonly config: MigrationConfig;
  readonly stateDir: string;
  readonly seed: number;
  /** AWS faults it may still inject. */
  readonly budget: number;
  readonly rate: number;
}

/**
 * The runtime in child processes, each killed with SIGKILL once it reaches the next phase of `KILL_PHASES`
 * (cycled `kills` times) after a seeded pause, and started again on the same state directory. A child reports
 * its phases, faults and restarts on stdout; once its execution succeeds ("copied"), the faults stop, the
 * child is told to drain CDC, and its last line gives the retries recorded.
 */
async function runInChildren(opts: ChaosOptions & { kills: number }, plan: FaultPlan, rate: number, stopFaults: () => Promise<void>, log: (line: string) => void): Promise<{ restarts: number; retries: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'reshard-chaos-child-'));
  const stateDir = join(dir, 'state');
  let restarts = 0;
  const targets = Array.from({ length: opts.kills }, (_, i) => KILL_PHASES[i % KILL_PHASES.length]!);
  try {
    for (let spawned = 0; ; spawned++) {
      const input: ChaosChildInput = { config: opts.config, stateDir, seed: opts.seed * 1000 + spawned, budget: Math.max(0, opts.faults - plan.injected), rate };
      const file = join(dir, `input-${spawned}.json`);
      writeFileSync(file, JSON.stringify(input));
      const child = spawn(CHILD[0], [...CHILD[1], file], { stdio: ['pipe', 'pipe', 'pipe'] });
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
      let tail = '';
      let done: { retries: number } | undefined;
      let copied = false;
      const target = targets[0];
      let killTimer: NodeJS.Timeout | undefined;
      const lines = createInterface({ input: child.stdout });
      lines.on('line', (line) => {
        const [word, rest] = [line.split(' ', 1)[0]!, line.slice(line.indexOf(' ') + 1)];
        if (word === 'fault') plan.byKind[rest as FaultKind]++;
        else if (word === 'restart') restarts++;
        else if (word === 'copied') {
          copied = true;
          clearTimeout(killTimer);
          void stopFaults().then(() => child.stdin.write('drain\n'));
        } else if (word === 'done') done = JSON.parse(rest) as { retries: number };
        else if (word === 'log') log(rest);
        else if (word === 'phase') {
          if (target && rest === target && !killTimer && !copied && plan.active) {
            // Mid-phase: a seeded pause (short for finalize, which is quick), then SIGKILL.
            killTimer = setTimeout(() => {
              if (copied) return;
              log(`chaos: SIGKILL of the runtime (pid ${child.pid}) in ${target}`);
              plan.count('sigkill');
              plan.killedIn.push(target);
              targets.shift();
              child.kill('SIGKILL');
            }, plan.pauseMs(target === 'finalize' ? 20 : 300));
          }
        } else log(line);
      });
      child.stderr.on('data', (d: Buffer) => (tail = (tail + d.toString()).slice(-4000)));
      const end = await exited;
      clearTimeout(killTimer);
      if (end.signal === 'SIGKILL') continue;
      if (end.code !== 0 || !done) throw new Error(`the chaos child ended with code ${end.code}${end.signal ? ` (${end.signal})` : ''}: ${tail}`);
      return { restarts, retries: done.retries };
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
