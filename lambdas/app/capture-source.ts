/**
 * Capture reads a source server's binlog only while the server's endpoint reaches the server whose binlog the
 * held position is in: every capture run checks it before reading, and after a failover the operator says
 * where capture goes on (`reshard capture-source accept`).
 */
import type { Pool } from '../adapters/mysql/pool.js';
import { currentPosition, detectDialect, gtidAt, positionAfterGtid, serverIdentity } from '../adapters/binlog/server.js';
import { formatGtidPosition, parseGtidPosition } from '../core/gtid.js';
import type { Dialect } from '../core/dialect.js';
import { ConfigError, SchemaError, SourceChangedError } from '../core/errors.js';
import type { CaptureState, SourceChange } from '../core/model.js';
import type { BinlogPosition } from '../core/position.js';
import { serverNames } from '../core/source-layout.js';
import { sourceChangedText, type AcceptAt } from '../core/source-change.js';
import type { AppContext } from './context.js';
import { acquireCaptureForOperator } from './capture-lease.js';

function poolOf(ctx: Pick<AppContext, 'config' | 'sources'>, server: number): Pool {
  const pool = ctx.sources[server];
  if (!pool) throw new ConfigError(`there is no source server #${server}: the config has ${ctx.sources.length}`);
  return pool;
}

/** The server the endpoint of source server `server` reaches now: its pool, dialect and identity. */
interface Reached {
  readonly pool: Pool;
  readonly dialect: Dialect;
  readonly id: string;
}

async function reached(ctx: Pick<AppContext, 'config' | 'sources'>, server: number): Promise<Reached> {
  const pool = poolOf(ctx, server);
  const dialect = await detectDialect(pool);
  return { pool, dialect, id: await serverIdentity(pool, dialect) };
}

/** The name (`host:port`) of source server `server`. */
const nameOf = (ctx: Pick<AppContext, 'config'>, server: number) => serverNames(ctx.config.source)[server] ?? `#${server}`;

/**
 * The held capture state, once the endpoint of `server` is found to reach the server its position belongs
 * to: a position stored without its server takes this one's, and a stop for a changed source ends when that
 * server is reached again. On another server, with `cdc.onSourceChange: gtid`, the state moved to where the
 * changes after its GTID position begin there (`followByGtid`). Otherwise records the stop (for `reshard
 * status`) and throws SourceChangedError: capture reads nothing of another server's binlog.
 */
export async function checkCaptureSource(ctx: Pick<AppContext, 'config' | 'sources' | 'store' | 'reverse'>, held: CaptureState, owner: string, server: number): Promise<CaptureState> {
  const r = await reached(ctx, server);
  const now = r.id;
  if (held.sourceId === undefined || (held.sourceId === now && held.sourceChanged)) return ctx.store.setCaptureSource(ctx.config.migrationId, held, owner, { sourceId: now }, server);
  if (held.sourceId === now) return held;
  const followed = ctx.config.cdc.onSourceChange === 'gtid' ? await followByGtid(ctx, held, owner, server, r) : undefined;
  if (followed && !('why' in followed)) return followed;
  const seen = held.sourceChanged;
  const change: SourceChange =
    seen?.now === now && seen.notFollowed === followed?.why
      ? seen
      : {
          was: held.sourceId,
          now,
          at: held.position,
          since: seen?.now === now ? seen.since : Date.now(),
          ...(held.lastEventAt !== undefined ? { lastEventAt: held.lastEventAt } : {}),
          ...(held.gtid !== undefined ? { gtid: held.gtid } : {}),
          ...(followed ? { notFollowed: followed.why } : {}),
        };
  if (change !== seen) await ctx.store.stopCaptureForSource(ctx.config.migrationId, held, owner, change, server);
  throw new SourceChangedError(sourceChangedText(ctx.config.source, server, change, !!ctx.reverse));
}

/**
 * `cdc.onSourceChange: gtid`: capture of `server` goes on from the server reached now, where the changes
 * after its GTID position begin there; or why it cannot (MySQL, no GTID position kept, the server lacks some).
 */
async function followByGtid(ctx: Pick<AppContext, 'config' | 'store'>, held: CaptureState, owner: string, server: number, r: Reached): Promise<CaptureState | { why: string }> {
  try {
    const next = await whereToGoOn(r, held, { gtid: true }, server);
    return await ctx.store.setCaptureSource(ctx.config.migrationId, held, owner, { sourceId: r.id, ...next }, server);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof SchemaError) return { why: err.message };
    throw err;
  }
}

/** The position (and its GTID position, on MariaDB) capture goes on from on the server reached; nothing for `keep`. */
async function whereToGoOn({ pool, dialect }: Reached, held: CaptureState, at: AcceptAt, server: number): Promise<{ position?: BinlogPosition; gtid?: string }> {
  if ('keep' in at) return {};
  if ('gtid' in at) {
    if (dialect.flavor !== 'mariadb') throw new ConfigError('--gtid: MariaDB only (MySQL GTID sets are not followed): find the position yourself and give it with --at');
    const text = at.gtid === true ? held.gtid : at.gtid;
    if (text === undefined)
      throw new ConfigError(`capture of source server #${server} has no GTID position stored with ${held.position.file}:${held.position.position} (it was recorded before GTIDs were kept): give one with --gtid DOMAIN-SERVER-SEQ, or use --at`);
    const after = parseGtidPosition(text);
    if (!after) throw new ConfigError(`--gtid ${text} is not a GTID position (DOMAIN-SERVER-SEQ, comma-separated)`);
    return { position: await positionAfterGtid(pool, after), gtid: formatGtidPosition(after) };
  }
  const position = 'now' in at ? await currentPosition(pool, dialect) : at.position;
  const gtid = await gtidAt(pool, dialect, position);
  return { position, ...(gtid !== undefined ? { gtid } : {}) };
}

export interface AcceptResult {
  readonly server: number;
  /** The server the position belonged to, and the one capture reads from now. */
  readonly was: string | undefined;
  readonly now: string;
  /** Where capture goes on. */
  readonly position: BinlogPosition;
  /** True with `now`: the changes between the old position and this one are not captured. */
  readonly missed: boolean;
  /** MariaDB: the GTID position there. */
  readonly gtid?: string;
}

/**
 * Makes capture of `server` go on from the server its endpoint reaches now, at the position `at` says
 * (lease-fenced; waits a moment for a capture run holding the lease). Refused when the endpoint still reaches
 * the server the position belongs to.
 */
export async function acceptSource(ctx: Pick<AppContext, 'config' | 'sources' | 'store'>, opts: { server: number; at: AcceptAt; owner: string }): Promise<AcceptResult> {
  const { config, store } = ctx;
  const { server, at } = opts;
  const r = await reached(ctx, server);
  const now = r.id;
  let held = await acquireCaptureForOperator(ctx, opts.owner, server);
  try {
    if (held.sourceId === now && !held.sourceChanged)
      throw new ConfigError(`capture of source server #${server} (${nameOf(ctx, server)}) reads ${now}, the server its position ${held.position.file}:${held.position.position} belongs to: nothing to accept`);
    const was = held.sourceChanged?.was ?? held.sourceId;
    const next = await whereToGoOn(r, held, at, server);
    held = await store.setCaptureSource(config.migrationId, held, opts.owner, { sourceId: now, ...next }, server);
    return { server, was, now, position: held.position, missed: 'now' in at, ...(held.gtid !== undefined ? { gtid: held.gtid } : {}) };
  } finally {
    await store.releaseCapture(config.migrationId, held, opts.owner, undefined, server);
  }
}
