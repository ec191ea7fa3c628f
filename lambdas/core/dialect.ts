/**
 * Where MariaDB and MySQL 8 (Aurora MySQL 3 included) differ in what reshard reads or sets on a source: the
 * server's dialect from `VERSION()` and `@@version_comment`, the statements and variable names each uses, and
 * the checks of the settings change capture needs. Pure: the adapters run the statements.
 */

export interface Dialect {
  readonly flavor: 'mariadb' | 'mysql';
  /** major, minor, patch */
  readonly version: readonly [number, number, number];
  /** Aurora MySQL (`8.0.mysql_aurora.3.05.2`). */
  readonly aurora: boolean;
}

/** The dialect of a server from its `VERSION()` (e.g. `10.11.6-MariaDB-0+deb12u1`, `8.0.36`, `8.0.mysql_aurora.3.05.2`) and `@@version_comment`. */
export function dialectOf(version: string, comment = ''): Dialect {
  const nums = (/^(\d+)\.(\d+)(?:\.(\d+))?/.exec(version) ?? []).slice(1, 4).map((n) => Number(n ?? 0));
  const [major = 0, minor = 0, patch = 0] = nums;
  const mariadb = /mariadb/i.test(version) || /mariadb/i.test(comment);
  // Aurora MySQL 3 reports `8.0.mysql_aurora.3.x`: every 3.x is compatible with MySQL 8.0.23 or later.
  if (/aurora/i.test(version)) return { flavor: 'mysql', version: [8, 0, 23], aurora: true };
  return { flavor: mariadb ? 'mariadb' : 'mysql', version: [major, minor, patch], aurora: false };
}

const atLeast = (d: Dialect, major: number, minor = 0, patch = 0) => {
  const [a, b, c] = d.version;
  return a !== major ? a > major : b !== minor ? b > minor : c >= patch;
};

/** The statement that reads the current binlog file and position (MySQL 8.4 removed `SHOW MASTER STATUS`). */
export function binlogStatusSql(d: Dialect): string {
  return d.flavor === 'mysql' && atLeast(d, 8, 4) ? 'SHOW BINARY LOG STATUS' : 'SHOW MASTER STATUS';
}

/**
 * The statement that reads what tells one server's binlog from another's, as `id`: `server_uuid` on MySQL
 * (kept in its data directory, so a restart or an RDS Multi-AZ failover keeps it), `server_id` on MariaDB (which
 * has no UUID; servers replicating from one another must differ in it).
 */
export function serverIdentitySql(d: Dialect): string {
  return d.flavor === 'mysql' ? 'SELECT @@GLOBAL.server_uuid AS id' : 'SELECT @@GLOBAL.server_id AS id';
}

/** The identity stored with a capture position: `server_uuid=<uuid>` or `server_id=<n>`; undefined for an empty value. */
export function serverIdentityOf(d: Dialect, value: unknown): string | undefined {
  const v = typeof value === 'string' ? value.trim() : typeof value === 'number' || typeof value === 'bigint' ? String(value) : '';
  return v === '' ? undefined : `${d.flavor === 'mysql' ? 'server_uuid' : 'server_id'}=${v.toLowerCase()}`;
}

/** The statement that says whether the server replicates from another (one row when it does). */
export function replicaStatusSql(d: Dialect): string {
  return (d.flavor === 'mysql' && atLeast(d, 8, 0, 22)) || (d.flavor === 'mariadb' && atLeast(d, 10, 5, 1)) ? 'SHOW REPLICA STATUS' : 'SHOW SLAVE STATUS';
}

/** The variable that makes a replica write what it replicates to its own binlog. */
export function replicaUpdatesVariable(d: Dialect): string {
  return d.flavor === 'mysql' && atLeast(d, 8, 0, 26) ? 'log_replica_updates' : 'log_slave_updates';
}

/** The variable that compresses binlog events (which the binlog reader cannot decode). */
export function binlogCompressionVariable(d: Dialect): string | undefined {
  if (d.flavor === 'mariadb') return 'log_bin_compress';
  return atLeast(d, 8, 0, 20) ? 'binlog_transaction_compression' : undefined;
}

/** The variable that keeps even privileged users from writing (cut-over's freeze): `super_read_only` on MySQL. */
export function readOnlyVariable(d: Dialect): 'super_read_only' | 'read_only' {
  return d.flavor === 'mysql' ? 'super_read_only' : 'read_only';
}

/** One SELECT of the settings `settingsIssues` checks, each under a fixed alias. */
export function settingsSql(d: Dialect): string {
  const compression = binlogCompressionVariable(d);
  // MariaDB before 10.6 and MySQL 5.7 keep binlogs by days only.
  const expire = (d.flavor === 'mariadb' && !atLeast(d, 10, 6)) ? '@@GLOBAL.expire_logs_days * 86400' : '@@GLOBAL.binlog_expire_logs_seconds';
  return [
    'SELECT @@GLOBAL.log_bin AS logBin',
    `${compression ? `@@GLOBAL.${compression}` : "'OFF'"} AS compression`,
    `@@GLOBAL.${replicaUpdatesVariable(d)} AS replicaUpdates`,
    `${expire} AS expireSeconds`,
  ].join(', ');
}

export interface SourceSettings {
  readonly compression: unknown;
  readonly replicaUpdates: unknown;
  readonly expireSeconds: unknown;
}

const on = (v: unknown) => v === 1 || v === '1' || v === true || String(v).toUpperCase() === 'ON';

/**
 * What keeps change capture from working on a server with these settings, each naming the variable and how
 * to set it: compressed binlog events, and a replica that does not write what it replicates to its binlog.
 */
export function settingsIssues(d: Dialect, s: SourceSettings, replica: boolean): string[] {
  const issues: string[] = [];
  const compression = binlogCompressionVariable(d);
  if (compression && on(s.compression))
    issues.push(`${compression} is ON: the binlog reader cannot decode compressed binlog events. SET GLOBAL ${compression} = OFF (and in the server configuration${d.aurora ? ' / DB cluster parameter group' : ''})`);
  if (replica && !on(s.replicaUpdates)) {
    const v = replicaUpdatesVariable(d);
    issues.push(`the source is a replica and ${v} is OFF: what it replicates never reaches its binlog, so capture would miss those changes. Set ${v} = ON in its configuration (it needs a restart), or capture from the primary`);
  }
  return issues;
}

/**
 * A warning when the server may purge binlogs before capture has read them: binlogs kept for less than twice
 * the copy's estimated time (capture reads from plan time on). `expireSeconds` 0 keeps them forever.
 */
export function retentionWarning(expireSeconds: number, rows: number, rowsPerSec: number, host: string): string | undefined {
  const estimate = rows / rowsPerSec;
  const h = (s: number) => `${(s / 3600).toFixed(1)} h`;
  const rds = /\.rds\.amazonaws\.com$/i.test(host)
    ? " On RDS and Aurora the retention is `CALL mysql.rds_set_configuration('binlog retention hours', N)` (see `CALL mysql.rds_show_configuration`), not this variable."
    : '';
  if (expireSeconds > 0 && expireSeconds < 2 * estimate)
    return `binlogs are kept ${h(expireSeconds)} on ${host}, and the copy of ${rows.toLocaleString('en-US')} rows takes about ${h(estimate)} at ${rowsPerSec.toLocaleString('en-US')} rows/s; capture reads the binlog from plan time on, so keep binlogs at least ${h(2 * estimate)} (binlog_expire_logs_seconds) or a purge loses changes.${rds}`;
  return rds ? `${host}: binlog retention is set outside the server variables.${rds}` : undefined;
}
