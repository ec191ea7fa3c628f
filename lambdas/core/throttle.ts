/**
 * When the copy pauses (gh-ost's throttler, pt-online-schema-change's --max-load, Vitess' tablet throttler):
 * the readings of the source and target servers, of a replica and of change capture against the `throttle.*`
 * limits, and the line that says why. Pure: the readings come from `adapters/mysql/load.ts` and
 * `app/throttle.ts`.
 */

import type { MigrationConfig } from './config.js';
import { serverKey, serverNames, sourceServers } from './source-layout.js';

/** The limits (`throttle.*` in the config). */
export interface ThrottleLimits {
  readonly maxThreadsRunning: number;
  readonly maxHistoryListLength: number;
  readonly maxReplicaLagSeconds: number;
  readonly maxCdcLagSeconds: number;
}

/** One database server's load, as far as it could be read (a metric absent: not readable there). */
export interface ServerLoad {
  /** How the status line names the server: `source`, `target db 1`, … */
  readonly where: string;
  /** `Threads_running` (SHOW GLOBAL STATUS). */
  readonly threadsRunning?: number;
  /** InnoDB's history list length: undo logs not purged yet. */
  readonly historyListLength?: number;
}

export interface ThrottleReadings {
  readonly servers: readonly ServerLoad[];
  /** The replica's `Seconds_Behind_Master`; null while its replication is not running. Absent: no replica configured. */
  readonly replica?: { readonly where: string; readonly lagSeconds: number | null };
  /** Change capture's lag per source server (with CDC). */
  readonly cdc?: readonly { readonly where: string; readonly lagSeconds: number }[];
}

export type ThrottleMetric = 'CDC lag' | 'replica lag' | 'Threads_running' | 'history list length';

/** Why the copy pauses: the first limit exceeded, in the order CDC lag, replica lag, Threads_running, history list length. */
export interface ThrottleReason {
  readonly metric: ThrottleMetric;
  /** The reading; null: replica lag unknown (replication not running). */
  readonly value: number | null;
  readonly limit: number;
  readonly where: string;
}

/**
 * The first limit the readings exceed, or undefined when the copy may go on. CDC comes first: change capture
 * has priority over the copy. A replica whose replication is not running counts as lagging (pt-osc waits too).
 */
export function throttleReason(r: ThrottleReadings, limits: ThrottleLimits): ThrottleReason | undefined {
  for (const c of r.cdc ?? []) if (c.lagSeconds > limits.maxCdcLagSeconds) return { metric: 'CDC lag', value: c.lagSeconds, limit: limits.maxCdcLagSeconds, where: c.where };
  if (r.replica && (r.replica.lagSeconds === null || r.replica.lagSeconds > limits.maxReplicaLagSeconds))
    return { metric: 'replica lag', value: r.replica.lagSeconds, limit: limits.maxReplicaLagSeconds, where: r.replica.where };
  for (const s of r.servers)
    if (s.threadsRunning !== undefined && s.threadsRunning > limits.maxThreadsRunning) return { metric: 'Threads_running', value: s.threadsRunning, limit: limits.maxThreadsRunning, where: s.where };
  for (const s of r.servers)
    if (s.historyListLength !== undefined && s.historyListLength > limits.maxHistoryListLength)
      return { metric: 'history list length', value: s.historyListLength, limit: limits.maxHistoryListLength, where: s.where };
  return undefined;
}

const count = (n: number) => n.toLocaleString('en-US');
const seconds = (n: number) => `${Number.isInteger(n) ? n : n.toFixed(1)} s`;

/**
 * The reason as the status line shows it: `Threads_running 31 > 25 on target db 1`, `CDC lag 42.5 s > 30 s on
 * source`, `replica lag unknown (replication not running) on replica 10.0.0.9:3306`.
 */
export function throttleText(r: ThrottleReason): string {
  if (r.value === null) return `${r.metric} unknown (replication not running) on ${r.where}`;
  const lag = r.metric === 'CDC lag' || r.metric === 'replica lag';
  return `${r.metric} ${lag ? seconds(r.value) : count(r.value)} > ${lag ? seconds(r.limit) : count(r.limit)} on ${r.where}`;
}

/** `History list length N` from SHOW ENGINE INNODB STATUS (undefined when the text has none). */
export function historyListLengthOf(innodbStatus: string): number | undefined {
  const m = /History list length\s+(\d+)/.exec(innodbStatus);
  return m ? Number(m[1]) : undefined;
}

/**
 * Change capture's lag: 0 when caught up; else the age of the newer of the last captured event's source time
 * and the last time capture found nothing more to read (nothing unread is older than either), in seconds.
 * 0 before capture recorded either.
 */
export function captureLagSeconds(caughtUp: boolean, lastEventAt: number | undefined, caughtUpAt: number | undefined, now: number): number {
  if (caughtUp) return 0;
  const since = Math.max(lastEventAt ?? 0, caughtUpAt ?? 0);
  return since > 0 ? Math.max(0, (now - since) / 1000) : 0;
}

/**
 * A pause while throttled: the next check after `checkIntervalMs`, but never past the end of the time
 * budget (`deadline`), so a throttled call returns in time to give its lease back.
 */
export function throttleWaitMs(now: number, deadline: number, checkIntervalMs: number): number {
  return Math.max(0, Math.min(checkIntervalMs, deadline - now));
}

/** A server the throttle reads: a source server (its index) or the target server of database `db`, and its name in the status line. */
export interface WatchedServer {
  readonly role: 'source' | 'target';
  /** The source server's index, or the first target database index on that server. */
  readonly index: number;
  readonly where: string;
}

/**
 * Every server the copy reads or writes, once each (a server that is source and target is read as the source):
 * `source` (`source host:port` with several), `target` when every target database is on one server, else
 * `target db 1` / `target dbs 0, 4, 8, …`.
 */
export function watchedServers(config: Pick<MigrationConfig, 'source' | 'target'>): WatchedServer[] {
  const sources = sourceServers(config.source);
  const names = serverNames(config.source);
  const out: WatchedServer[] = sources.map((_, i) => ({ role: 'source', index: i, where: sources.length > 1 ? `source ${names[i]}` : 'source' }));
  const seen = new Set(sources.map(serverKey));
  const targets = new Map<string, number[]>();
  for (let db = 0; db < config.target.databases; db++) {
    const key = serverKey(config.target.connections?.[db] ?? config.target.connection);
    if (seen.has(key)) continue;
    let dbs = targets.get(key);
    if (!dbs) targets.set(key, (dbs = []));
    dbs.push(db);
  }
  for (const dbs of targets.values()) {
    const where =
      dbs.length === config.target.databases ? 'target' : dbs.length === 1 ? `target db ${dbs[0]}` : `target dbs ${dbs.slice(0, 4).join(', ')}${dbs.length > 4 ? ', …' : ''}`;
    out.push({ role: 'target', index: dbs[0]!, where });
  }
  return out;
}
