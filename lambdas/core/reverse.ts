/**
 * Reverse replication (`cutover.reverse`): after the switch, the new layout is the source and the old one the
 * target. `reverseConfig` derives that migration from the forward one, so capture, the FIFO queue, apply, the
 * cut-over's freeze, catch-up and check run unchanged, pointed back. Pure.
 */
import { configSchema, type ConnectionConfig, type MigrationConfig, type SourceConfig } from './config.js';
import { reverseMigrationId } from './reverse-id.js';
import { ConfigError } from './errors.js';
import { placementOf, serverKey, sourceServers } from './source-layout.js';

/** Message groups of reverse changes start with this; apply gives them to the reverse migration. */
export const REVERSE_GROUP_PREFIX = 'r:';

/** A change message group that carries reverse changes. */
export const isReverseGroup = (groupId: string | undefined): boolean => groupId?.startsWith(REVERSE_GROUP_PREFIX) ?? false;

/** Replica id of reverse capture on the target servers: `cdc.serverId + 2` (+ 1 is the cut-over check's reader). */
export function reverseServerId(config: Pick<MigrationConfig, 'cdc'>): number {
  const id = config.cdc.serverId + 2;
  return id <= 0xffffffff ? id : config.cdc.serverId - 2;
}

/**
 * The target layout as a (sharded) source: its distinct servers, and the server of each target database.
 * Target databases on one server share one binlog, so one capture reads them all.
 */
function targetAsSource(config: MigrationConfig): Pick<SourceConfig, 'connections' | 'placement'> & { first: ConnectionConfig } {
  const t = config.target;
  const servers: ConnectionConfig[] = [];
  const index = new Map<string, number>();
  const placement = Array.from({ length: t.databases }, (_, db) => {
    const c = t.connections?.[db] ?? t.connection;
    const key = serverKey(c);
    let i = index.get(key);
    if (i === undefined) {
      index.set(key, (i = servers.length));
      servers.push(c);
    }
    return i;
  });
  return { connections: servers, placement, first: servers[0]! };
}

/**
 * The reverse migration of `config`: source = the target layout (`targetTable` × `tablesPerDb` in every target
 * database, on the target servers), target = the old layout (the source tables, placed as they were), routed by
 * the rule that placed the old rows (`source.routing`; any rule for a single old table). Same tables, keys,
 * versions and bindings; no time window (every change travels back); the replica id `reverseServerId`.
 */
export function reverseConfig(config: MigrationConfig): MigrationConfig {
  const src = config.source;
  const oldDatabases = src.databasePattern !== undefined ? (src.databases ?? 1) : 1;
  const sharded = oldDatabases > 1 || config.tables.some((t) => t.sourceTablesPerDb > 1);
  if (sharded && !src.routing) throw new ConfigError('cutover.reverse with a sharded source needs source.routing: the rule that placed its rows');
  const servers = sourceServers(src);
  const placement = placementOf(src);
  const { first, connections, placement: targetPlacement } = targetAsSource(config);
  const raw = {
    migrationId: reverseMigrationId(config.migrationId),
    source: {
      ...first,
      databasePattern: config.target.databasePattern,
      databases: config.target.databases,
      ...(connections!.length > 1 ? { connections, placement: targetPlacement } : {}),
      ...(config.routing.algorithm !== 'custom' ? { routing: { algorithm: config.routing.algorithm } } : {}),
    },
    target: {
      connection: servers[placement[0]!]!,
      ...(oldDatabases > 1 ? { connections: placement.map((s) => servers[s]!) } : {}),
      databases: oldDatabases,
      databasePattern: src.databasePattern ?? src.database!,
    },
    tables: config.tables.map(({ window: _w, sourceTable, sourceTablesPerDb, targetTable, tablesPerDb, name, ...rest }) => ({
      ...rest,
      name,
      sourceTable: targetTable,
      sourceTablesPerDb: tablesPerDb,
      targetTable: sourceTable ?? name,
      tablesPerDb: sourceTablesPerDb,
    })),
    // Bound tables must route alike in the old layout too; where they do not, their changes travel apart.
    bindings: config.bindings.filter((group) => new Set(group.map((n) => config.tables.find((t) => t.name === n)?.sourceTablesPerDb)).size === 1),
    routing: { algorithm: src.routing?.algorithm ?? 'spread' },
    copy: config.copy,
    throttle: { ...config.throttle, replica: undefined },
    cdc: { ...config.cdc, serverId: reverseServerId(config) },
    // Rollback's check compares the keys changed since the switch; nothing is copied or verified in segments.
    verify: config.verify,
    cutover: { ...config.cutover, reverse: false },
  };
  const parsed = configSchema.safeParse(JSON.parse(JSON.stringify(raw)));
  if (!parsed.success) throw new ConfigError(`the reverse replication of ${config.migrationId} cannot be derived`, parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  return parsed.data;
}
