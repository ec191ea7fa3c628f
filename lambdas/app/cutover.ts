/**
 * Cut-over: precheck (everything copied, verified and caught up, nothing in the DLQ, no DDL pending), freeze
 * writes to the migrated source tables, record each source server's binlog position once frozen, wait for
 * capture and apply to pass them, check the rows changed since the last verification (both within
 * `cutover.freezeTimeoutSeconds`), record the switch and the routing the application uses from now on, and thaw. Any failure after the freeze
 * thaws the source first; `abortCutover` thaws a source whose cut-over process died while it was frozen.
 */
import { unmetConditions, routingFile, type CutoverFacts, type RoutingFile } from '../core/cutover.js';
import { pausedText } from '../core/ddl.js';
import { sourceChangedText } from '../core/source-change.js';
import { ConfigError, describeError, ReshardError } from '../core/errors.js';
import { FROZEN_STATUSES, SegmentStatus, type CutoverState } from '../core/model.js';
import { sleep } from '../core/time.js';
import { captureServers, serverNames } from '../core/source-layout.js';
import { checkSourceSettings, detectDialect, serverIdentity } from '../adapters/binlog/server.js';
import { endSession, lockTables, setReadOnly, type HeldLock } from '../adapters/mysql/freeze.js';
import { checkMigrationId, type AppContext } from './context.js';
import { reverseMigrationId } from '../core/reverse-id.js';
import { captureReadings, sourcePositions, waitForCdc, type QueueBacklog, type ServerPosition } from './settle.js';
import { changedKeys, checkKeys, keyCount } from './cutover-check.js';
import { comparePositions } from '../core/position.js';
import { capturedTables } from './capture.js';
import { migrationStatus } from './status.js';
import { verifyTable } from './verify.js';
import { planReverse } from './plan.js';

/** The cut-over was refused before anything was frozen; `issues` are the unmet conditions. */
export class CutoverRefusedError extends ConfigError {}

/** The cut-over failed after the freeze; the source was thawed. */
export class CutoverFailedError extends ReshardError {}

export interface CutoverDeps {
  /** Change messages waiting or in flight. */
  readonly backlog: QueueBacklog;
  /** Change messages in the DLQ. */
  readonly dead: () => Promise<number>;
  /**
   * Waits until capture and apply have handled every change up to the sources' positions of now, at most
   * `timeoutMs` (rejects past it). Where the caller can tell which messages were handled (the local runtime),
   * live writes do not hold it up; the default waits for an empty queue on two readings in a row.
   */
  readonly catchUp?: (timeoutMs: number) => Promise<void>;
  /** With `cutover.freeze: external`: resolves once the operator confirms the application stopped writing. */
  readonly writesStopped?: () => Promise<void>;
  /**
   * Runs capture of one source server for at most `budgetMs` (returning at once when another run holds its
   * lease): where capture otherwise runs only on a schedule (AWS, once a minute), the catch-up keeps it going
   * so the freeze does not wait for the next scheduled run.
   */
  readonly driveCapture?: (server: number, budgetMs: number) => Promise<void>;
  /**
   * With `cutover.reverse`: the reverse migration's context (`core/reverse.ts`), whose capture the switch
   * starts at each target server's position of that moment.
   */
  readonly reverse?: AppContext;
  /** Called every `FROZEN_TICK_MS` while writes are frozen with how long they have been (a live metric on AWS). */
  readonly frozenFor?: (ms: number) => void;
  readonly log?: (line: string) => void;
}

/** How often `CutoverDeps.frozenFor` hears how long writes have been frozen. */
const FROZEN_TICK_MS = 5000;

/** Options of `runCutover`. */
export interface CutoverOptions {
  /** Precheck only, and say what the cut-over would do. */
  readonly dryRun?: boolean;
  /**
   * A rollback: the cut-over of the reverse migration (`ctx` is its context), whose capture started at these
   * positions at the switch. Nothing was copied or verified in segments: the check compares every key changed since.
   */
  readonly rollbackFrom?: readonly ServerPosition[];
}

/**
 * Where the last verification began, per source server: the earliest `verifyFrom` over every segment; undefined
 * when a segment has none (verified before positions were recorded, or not verified).
 */
async function verifiedFrom(ctx: AppContext): Promise<ServerPosition[] | undefined> {
  const earliest = new Map<number, ServerPosition>();
  for (const t of ctx.config.tables)
    for (const cp of await ctx.store.segments(ctx.config.migrationId, t.name)) {
      if (!cp.verifyFrom) return undefined;
      for (const p of cp.verifyFrom) {
        const e = earliest.get(p.server);
        if (!e || comparePositions(p.position, e.position) < 0) earliest.set(p.server, { server: p.server, position: p.position });
      }
    }
  return earliest.size ? [...earliest.values()] : undefined;
}

/** `work`'s result, or `late()`'s error once `deadline` (epoch ms) has passed; `work` goes on unobserved. */
async function beforeDeadline<T>(work: Promise<T>, deadline: number, late: () => Error): Promise<T> {
  work.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(late()), Math.max(0, deadline - Date.now()))));
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** Short capture runs back to back on every server until `stop`; the last error of each is kept for the report. */
function keepCapturing(servers: readonly number[], drive: NonNullable<CutoverDeps['driveCapture']>, until: number) {
  let stopped = false;
  const errors = new Map<number, string>();
  const loops = servers.map(async (server) => {
    while (!stopped && Date.now() < until) {
      try {
        await drive(server, Math.max(1000, Math.min(2000, until - Date.now())));
        errors.delete(server);
      } catch (err) {
        errors.set(server, describeError(err));
        await sleep(250);
      }
    }
  });
  return {
    errors: () => [...errors].map(([server, e]) => `capture of server #${server}: ${e}`),
    stop: () => {
      stopped = true;
      return Promise.all(loops).then(() => undefined);
    },
  };
}

/** What precheck found. */
async function cutoverFacts(ctx: AppContext, deps: Pick<CutoverDeps, 'dead' | 'backlog' | 'catchUp'>, rollback: boolean): Promise<CutoverFacts> {
  const { config, store } = ctx;
  const view = await migrationStatus(config, store);
  const names = serverNames(config.source);
  const servers = config.cdc.enabled
    ? (await captureReadings(ctx)).map(({ server, state, caughtUp }) => {
        // Behind: at most since capture last caught up (an upper bound, on the safe side), else since its last event.
        const since = state?.caughtUpAt ?? state?.lastEventAt;
        const lagSeconds = !state ? Infinity : caughtUp ? 0 : since !== undefined ? Math.max(0, (Date.now() - since) / 1000) : Infinity;
        // Stopped before a DDL, or because the endpoint reaches another server: either refuses the cut-over.
        const stopped = state?.paused ? pausedText(server, state.paused) : state?.sourceChanged ? sourceChangedText(config.source, server, state.sourceChanged, !!ctx.reverse) : undefined;
        return { name: names[server]!, caughtUp, lagSeconds, ...(stopped ? { paused: stopped } : {}) };
      })
    : [];
  // Capture alone within the bound: capture and apply together must reach the sources' positions of now
  // within it too (an apply that stopped or fell behind shows here, whatever capture's checkpoint says).
  let endToEndBehind: string | undefined;
  const lagBound = config.cutover.maxLagSeconds;
  if (servers.length && servers.every((s) => !s.paused && s.lagSeconds <= lagBound)) {
    const timeoutMs = Math.max(1000, lagBound * 1000);
    await (deps.catchUp ? deps.catchUp(timeoutMs) : waitForCdc(ctx, deps.backlog, timeoutMs, 100)).catch((err: unknown) => {
      endToEndBehind = describeError(err).replace(/: verification waits for it$/, '');
    });
  }
  return {
    ...(endToEndBehind ? { endToEndBehind } : {}),
    // A rollback copied nothing: its check compares every key changed since the switch.
    tables: rollback ? [] : view.tables.map((t) => ({
      table: t.table,
      copyDone: t.segments.length > 0 && t.segments.every((s) => s.status === SegmentStatus.DONE),
      failedSegments: t.segments.filter((s) => s.status === SegmentStatus.FAILED).length,
      unverifiedSegments: t.segments.filter((s) => s.verifyStatus !== 'CLEAN' && s.verifyStatus !== 'REPAIRED').length,
      dirtyRows: t.dirtyRows,
    })),
    servers,
    dead: config.cdc.enabled ? await deps.dead() : 0,
    cdcEnabled: config.cdc.enabled,
    verifyEnabled: config.verify.enabled,
  };
}

export interface CutoverResult {
  readonly dryRun: boolean;
  /** What the cut-over does (dry run) or did, one line each. */
  readonly steps: string[];
  readonly freezeMs?: number;
  readonly rowsChecked?: number;
  readonly routing?: RoutingFile;
}

export async function runCutover(ctx: AppContext, deps: CutoverDeps, opts: CutoverOptions = {}): Promise<CutoverResult> {
  const { config, store } = ctx;
  const c = config.cutover;
  const what = opts.rollbackFrom ? 'rollback' : 'cut-over';
  const log = deps.log ?? (() => undefined);
  const reverse = c.reverse ? deps.reverse : undefined;
  if (c.reverse && !reverse) throw new ConfigError('cutover.reverse is set but this runtime has no reverse replication context');
  // A cut-over already under way or done decides before the conditions (their lag checks wait up to maxLagSeconds).
  const previous = await store.getCutover(config.migrationId);
  if (previous && FROZEN_STATUSES.includes(previous.status))
    throw new CutoverRefusedError(`a ${what} started ${new Date(previous.startedAt).toISOString()} is ${previous.status}: if its process died, run reshard ${opts.rollbackFrom ? 'rollback' : 'cutover'} --abort first`);
  if (previous?.status === 'DONE' && previous.reverseFrom)
    throw new CutoverRefusedError(`${config.migrationId} switched to the new layout at ${new Date(previous.frozenAt ?? previous.startedAt).toISOString()} and replicates back to the old one: reshard rollback goes back`);
  const unmet = unmetConditions(await cutoverFacts(ctx, deps, !!opts.rollbackFrom), c.maxLagSeconds);
  if (reverse) unmet.push(...(await reverseUnmet(reverse)));
  if (unmet.length) throw new CutoverRefusedError(`${what} refused: these conditions do not hold`, unmet);
  // Every source server holding a migrated table (those capture reads), in order, with its tables.
  const servers = captureServers(config);
  const tablesOf = new Map(servers.map((s) => [s, capturedTables(config, s)]));
  const names = serverNames(config.source);
  const steps = [
    opts.rollbackFrom
      ? `precheck passed: reverse replication within ${c.maxLagSeconds} s on ${servers.length} target server(s), DLQ empty`
      : `precheck passed: every table copied and verified, CDC within ${c.maxLagSeconds} s on ${servers.length} source server(s), DLQ empty`,
    c.freeze === 'lock'
      ? `freeze${opts.rollbackFrom ? ' the new layout' : ''}: FLUSH TABLES … WITH READ LOCK on ${servers.map((s) => `${names[s]} (${tablesOf.get(s)!.length} table(s))`).join(', ')}, once in-flight transactions end`
      : c.freeze === 'read-only'
        ? `freeze: SET GLOBAL read_only (super_read_only on MySQL) on ${servers.map((s) => names[s]).join(', ')}`
        : 'freeze: wait for the operator to confirm the application stopped writing',
    `catch up: capture and apply pass each server's binlog position taken after the freeze, within ${c.freezeTimeoutSeconds} s (else thaw and fail)`,
    opts.rollbackFrom
      ? 'check: every row the binlog of the new layout changed since the switch, compared with the old layout'
      : config.cdc.enabled && config.verify.enabled
        ? 'check: every row the binlog changed since the last verification began, compared with the targets (every table in full when a segment has no such position)'
        : `check: verify every table once more (${config.tables.map((t) => t.name).join(', ')})`,
    ...(reverse
      ? [
          `reverse replication: start capture on ${serverNames(reverse.config.source).join(', ')} at their positions of the switch, applying to the old layout; forward capture stops there` +
            (c.freeze === 'external' ? '' : ' (writes to the old tables after the thaw, such as those the freeze held back, are carried nowhere: point the application at the new layout before the thaw)'),
        ]
      : []),
    `switch: record ${opts.rollbackFrom ? 'the rollback' : 'CUTOVER'} DONE with the positions and the routing of the ${opts.rollbackFrom ? 'old' : 'new'} layout, then thaw`,
  ];
  if (opts.dryRun) return { dryRun: true, steps };
  const since = opts.rollbackFrom ?? (await verifiedFrom(ctx));
  // The reverse changes are decoded and written with the new layout's columns: recorded before the freeze.
  if (reverse) await planReverse(reverse);

  const startedAt = Date.now();
  const dialects = c.freeze === 'read-only' ? await Promise.all(servers.map((s) => detectDialect(ctx.sources[s]!))) : [];
  let state: CutoverState = { status: 'FROZEN', freeze: c.freeze, startedAt, servers: servers.map((s) => ({ server: s, name: names[s]! })) };
  const locks: HeldLock[] = [];
  let ticking: NodeJS.Timeout | undefined;
  const thaw = async () => {
    clearInterval(ticking);
    await Promise.all(locks.map((l) => l.release().catch(() => undefined)));
    if (c.freeze === 'read-only') await Promise.all(servers.map((s, i) => setReadOnly(ctx.sources[s]!, dialects[i]!, false)));
  };
  let frozenAt = 0;
  let stopCapturing: (() => Promise<void>) | undefined;
  try {
    // Recorded before freezing: whatever happens next, --abort knows what to thaw.
    await store.putCutover(config.migrationId, state);
    if (c.freeze === 'lock') {
      for (const s of servers) locks.push(await lockTables(ctx.sources[s]!, tablesOf.get(s)!, c.freezeTimeoutSeconds));
      state = { ...state, servers: state.servers.map((x, i) => ({ ...x, lockSession: locks[i]!.sessionId })) };
    } else if (c.freeze === 'read-only') {
      await Promise.all(servers.map((s, i) => setReadOnly(ctx.sources[s]!, dialects[i]!, true, c.freezeTimeoutSeconds)));
    } else {
      if (!deps.writesStopped) throw new ConfigError('cutover.freeze is external: the operator must confirm that the application stopped writing');
      await deps.writesStopped();
    }
    frozenAt = Date.now();
    if (deps.frozenFor) {
      const tell = deps.frozenFor;
      ticking = setInterval(() => tell(Date.now() - frozenAt), FROZEN_TICK_MS).unref();
    }
    // Catch-up and check both end by then: past it, thaw and fail.
    const deadline = frozenAt + c.freezeTimeoutSeconds * 1000;
    // Only now, with every writing transaction ended, is each server's position final.
    const positions = await sourcePositions(ctx);
    state = { ...state, status: 'CATCHING_UP', frozenAt, servers: state.servers.map((x, i) => ({ ...x, position: positions[i]!.position })) };
    await store.putCutover(config.migrationId, state);
    log(`frozen (${c.freeze}) at ${positions.map((p) => `${names[p.server]} ${p.position.file}:${p.position.position}`).join(', ')}; catching up…`);
    const capturing = deps.driveCapture ? keepCapturing(servers, deps.driveCapture, deadline) : undefined;
    // Not awaited before the thaw: a capture run in progress ends on its own within its short budget.
    stopCapturing = capturing?.stop;
    try {
      await waitForCdc(ctx, deps.backlog, Math.max(1, deadline - Date.now()), 100, () => Promise.resolve(positions));
    } catch (err) {
      const why = capturing?.errors() ?? [];
      throw why.length ? new CutoverFailedError(`${describeError(err)}; ${why.join('; ')}`, { cause: err }) : err;
    } finally {
      void capturing?.stop();
    }
    state = { ...state, status: 'CHECKING' };
    await store.putCutover(config.migrationId, state);
    // A check still running at the deadline only reads, and is left to end on its own.
    const check = (async () => {
      if (since) {
        // Every change after the last verification began is in the binlog from there: check just those keys.
        const keys = await changedKeys(ctx, since, positions, deadline);
        log(`checking ${keyCount(keys)} key(s) changed since the last verification…`);
        const out = await checkKeys(ctx, keys);
        if (out.text.length) throw new CutoverFailedError(`rows differ after catch-up: ${out.text.join('; ')} (see reshard verify)`);
        return out.rows;
      }
      let rows = 0;
      for (const t of config.tables) {
        const v = await verifyTable(ctx, t.name, { repair: false });
        rows += v.rowsCompared;
        if (!v.clean) throw new CutoverFailedError(`${t.name} differs after catch-up: ${v.missing} missing, ${v.different} different, ${v.extra} extra (see reshard verify)`);
      }
      return rows;
    })();
    const rowsChecked = await beforeDeadline(check, deadline, () =>
      new CutoverFailedError(`the final check did not finish within cutover.freezeTimeoutSeconds (${c.freezeTimeoutSeconds} s) of the freeze`),
    );
    const routing = routingFile(config, positions.map((p) => ({ server: names[p.server]!, position: p.position })), Date.now());
    if (reverse) {
      // Still frozen: the new layout's positions now are where changes made on it start to travel back.
      const reverseFrom = await sourcePositions(reverse);
      await Promise.all(reverseFrom.map(async (p) => reverse.store.restartCapture(reverse.config.migrationId, p.position, p.server, { sourceId: await serverIdentity(reverse.sources[p.server]!) })));
      // DONE before the thaw: forward capture stops here, so the reverse changes never travel forward again.
      state = { ...state, status: 'DONE', rowsChecked, routing, reverseFrom, freezeMs: Date.now() - frozenAt };
      await store.putCutover(config.migrationId, state);
      log(`reverse replication starts at ${reverseFrom.map((p) => `${serverNames(reverse.config.source)[p.server]} ${p.position.file}:${p.position.position}`).join(', ')}`);
    }
    await thaw();
    const freezeMs = Date.now() - frozenAt;
    await store.putCutover(config.migrationId, { ...state, status: 'DONE', freezeMs, rowsChecked, routing });
    await stopCapturing?.();
    return { dryRun: false, steps, freezeMs, rowsChecked, routing };
  } catch (err) {
    // Never leave the source frozen.
    await thaw();
    await stopCapturing?.();
    const error = err instanceof Error ? err.message : String(err);
    const { reverseFrom: _r, ...failed } = state;
    await store.putCutover(config.migrationId, { ...failed, status: 'FAILED', error, ...(frozenAt ? { freezeMs: Date.now() - frozenAt } : {}) }).catch(() => undefined);
    if (err instanceof ReshardError && !(err instanceof CutoverFailedError) && frozenAt === 0) throw err;
    throw new CutoverFailedError(`${what} failed${frozenAt ? ' after the freeze' : ''}, and the ${opts.rollbackFrom ? 'new layout' : 'source'} was thawed: ${error}`, { cause: err });
  }
}

/** What reverse replication needs of the target servers, which become its source: binary logging in ROW format with full images. */
async function reverseUnmet(reverse: AppContext): Promise<string[]> {
  const names = serverNames(reverse.config.source);
  const out: string[] = [];
  for (const s of captureServers(reverse.config)) {
    const pool = reverse.sources[s]!;
    try {
      await checkSourceSettings(pool, await detectDialect(pool));
    } catch (err) {
      out.push(`target server ${names[s]} cannot be captured for reverse replication: ${describeError(err)}`);
    }
  }
  return out;
}

/**
 * `reshard rollback`: the cut-over of the reverse migration (`reverse`, the new layout back to the old one):
 * the same precheck, freeze (now of the target tables), catch-up and check of every key changed since the
 * switch. Once DONE the forward cut-over is ROLLED_BACK: forward capture carries the old layout's changes to
 * the new one again from where it stopped, and reverse capture stops.
 */
export async function runRollback(ctx: AppContext, reverse: AppContext, deps: CutoverDeps, opts: { dryRun?: boolean } = {}): Promise<CutoverResult> {
  const switched = await ctx.store.getCutover(ctx.config.migrationId);
  if (switched?.status !== 'DONE' || !switched.reverseFrom)
    throw new CutoverRefusedError(
      `nothing to roll back: ${ctx.config.migrationId} has ${switched ? `a cut-over that is ${switched.status}${switched.status === 'DONE' ? ' without reverse replication (cutover.reverse was off)' : ''}` : 'no cut-over'}`,
    );
  const out = await runCutover(reverse, deps, { ...opts, rollbackFrom: switched.reverseFrom });
  if (!out.dryRun) await ctx.store.putCutover(ctx.config.migrationId, { ...switched, status: 'ROLLED_BACK' });
  return out;
}

/** A cut-over's direction: forward (the migration's own cut-over) or a rollback (the reverse migration's). */
export interface CutoverDirection {
  /** The migration. */
  readonly ctx: AppContext;
  /** The reverse migration's context, with `cutover.reverse`. */
  readonly reverse?: AppContext;
  /** A rollback: the cut-over of `reverse`. */
  readonly rollback: boolean;
}

/**
 * The direction an event for `migrationId` asks for: the migration's id is its cut-over, its reverse
 * migration's id (`<id>.reverse`, the Cutover state machine's input for a rollback) is a rollback.
 */
export async function directionOf(ctx: AppContext, migrationId: string, getReverse: () => Promise<AppContext>): Promise<CutoverDirection> {
  const rollback = migrationId === reverseMigrationId(ctx.config.migrationId);
  if (!rollback) checkMigrationId(ctx, migrationId);
  if (rollback && !ctx.config.cutover.reverse) throw new ConfigError(`${migrationId} is a rollback, but ${ctx.config.migrationId} has no reverse replication (cutover.reverse is off)`);
  return { ctx, rollback, ...(ctx.config.cutover.reverse ? { reverse: await getReverse() } : {}) };
}

/** The context the cut-over of `d` works on: the reverse migration's for a rollback. */
export const cutoverContext = (d: CutoverDirection): AppContext => (d.rollback ? d.reverse! : d.ctx);

/** The cut-over (or, for a rollback, `runRollback`) in direction `d`. */
export function cutOver(d: CutoverDirection, deps: CutoverDeps, opts: { dryRun?: boolean } = {}): Promise<CutoverResult> {
  return d.rollback ? runRollback(d.ctx, d.reverse!, deps, opts) : runCutover(d.ctx, { ...deps, ...(d.reverse ? { reverse: d.reverse } : {}) }, opts);
}

/**
 * `reshard cutover --abort`: thaws a source whose cut-over process died while frozen (ends the lock
 * sessions it recorded, or turns the read-only switch off) and marks the cut-over ABORTED.
 */
export async function abortCutover(ctx: AppContext): Promise<{ thawed: string[] }> {
  const { config, store } = ctx;
  const state = await store.getCutover(config.migrationId);
  if (!state) return { thawed: [] };
  const thawed: string[] = [];
  if ([...FROZEN_STATUSES, 'FAILED'].includes(state.status)) {
    for (const s of state.servers) {
      const pool = ctx.sources[s.server]!;
      if (state.freeze === 'lock' && s.lockSession !== undefined) {
        await endSession(pool, s.lockSession);
        thawed.push(`${s.name}: lock session ${s.lockSession} ended`);
      } else if (state.freeze === 'read-only') {
        await setReadOnly(pool, await detectDialect(pool), false);
        thawed.push(`${s.name}: read-only off`);
      }
    }
    if (state.status !== 'FAILED') await store.putCutover(config.migrationId, { ...state, status: 'ABORTED' });
  } else if (OPERATOR_STATUSES.includes(state.status)) {
    await store.putCutover(config.migrationId, { ...state, status: 'ABORTED' });
  }
  return { thawed };
}

/** What the cut-over waits for from the operator: the go (`cutover.postpone`), or the confirmation that writes stopped (`freeze: external`). */
export type OperatorWait = 'go' | 'writes-stopped';

const OPERATOR_STATUSES: readonly CutoverState['status'][] = ['READY', 'AWAITING_WRITES_STOPPED'];

/**
 * Records that the cut-over waits for the operator, with nothing frozen: READY (for the go) or
 * AWAITING_WRITES_STOPPED, with the task token that resumes the execution on AWS.
 */
export async function awaitOperator(ctx: AppContext, wait: OperatorWait, resume: { taskToken?: string; execution?: string } = {}): Promise<CutoverState> {
  const { config, store } = ctx;
  const names = serverNames(config.source);
  const state: CutoverState = {
    status: wait === 'go' ? 'READY' : 'AWAITING_WRITES_STOPPED',
    freeze: config.cutover.freeze,
    startedAt: Date.now(),
    servers: captureServers(config).map((s) => ({ server: s, name: names[s]! })),
    ...(resume.taskToken ? { taskToken: resume.taskToken } : {}),
    ...(resume.execution ? { execution: resume.execution } : {}),
  };
  await store.putCutover(config.migrationId, state);
  return state;
}

/** The cut-over waiting for the operator, if one is (`reshard cutover --go` resumes it). */
export async function waitingCutover(ctx: Pick<AppContext, 'config' | 'store'>): Promise<CutoverState | undefined> {
  const state = await ctx.store.getCutover(ctx.config.migrationId);
  return state && OPERATOR_STATUSES.includes(state.status) ? state : undefined;
}
