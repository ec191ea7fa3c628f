/**
 * The source layout of a logical table: its physical tables, each on a server, in a database, under a name,
 * and the slot the source rule gives it. Pure.
 */
import { expand, type ConnectionConfig, type MigrationConfig, type SourceConfig, type TableConfig } from './config.js';
import type { Layout } from './routing.js';
import { ConfigError } from './errors.js';

/** One physical source table of a logical table. */
export interface SourceUnit {
  /** Index among the logical table's physical tables: `db * sourceTablesPerDb + table`, the source rule's slot. */
  readonly index: number;
  /** Index of its server in `sourceServers`. */
  readonly server: number;
  readonly database: string;
  readonly tableName: string;
  /** `database.tableName`. */
  readonly id: string;
}

/** The source servers' connections: `source.connections`, or the connection given by the fields of `source`. */
export function sourceServers(source: SourceConfig): ConnectionConfig[] {
  if (source.connections) return source.connections;
  const { database: _d, databases: _n, databasePattern: _p, connections: _c, placement: _pl, routing: _r, ...connection } = source;
  return [connection];
}

/** Source server `server`'s connection; a ConfigError naming the servers there are when it does not exist. */
export function sourceServer(source: SourceConfig, server: number): ConnectionConfig {
  const all = sourceServers(source);
  const c = Number.isInteger(server) ? all[server] : undefined;
  if (!c) throw new ConfigError(`source server #${server} does not exist (the source has ${all.length})`);
  return c;
}

/** The server of each source database (see `source.placement`). */
export function placementOf(source: SourceConfig): number[] {
  const dbs = sourceDatabases(source);
  if (source.placement) return source.placement;
  const servers = source.connections?.length ?? 1;
  if (servers === dbs) return Array.from({ length: dbs }, (_, i) => i);
  return Array.from({ length: dbs }, (_, i) => Math.floor((i * servers) / dbs));
}

function sourceDatabases(source: Pick<SourceConfig, 'databasePattern' | 'databases'>): number {
  return source.databasePattern !== undefined ? (source.databases ?? 1) : 1;
}

/** The source layout's counts for the source rule. */
export function sourceLayoutOf(source: SourceConfig, table: Pick<TableConfig, 'sourceTablesPerDb'>): Layout {
  return { databases: sourceDatabases(source), tablesPerDb: table.sourceTablesPerDb };
}

/** Every physical source table of a logical table, in slot order. */
export function sourceUnits(source: SourceConfig, table: Pick<TableConfig, 'name' | 'sourceTable' | 'sourceTablesPerDb'>): SourceUnit[] {
  const placement = placementOf(source);
  const units: SourceUnit[] = [];
  for (let db = 0; db < placement.length; db++) {
    const database = source.databasePattern !== undefined ? expand(source.databasePattern, 'db', db) : source.database!;
    for (let t = 0; t < table.sourceTablesPerDb; t++) {
      const tableName = table.sourceTable ? expand(table.sourceTable, 'table', t) : table.name;
      units.push({ index: units.length, server: placement[db]!, database, tableName, id: `${database}.${tableName}` });
    }
  }
  return units;
}

/** A server's identity for overlap checks: `host:port`, with `localhost` as 127.0.0.1. */
export function serverKey(c: Pick<ConnectionConfig, 'host' | 'port'>): string {
  return `${c.host === 'localhost' ? '127.0.0.1' : c.host.toLowerCase()}:${c.port}`;
}

/** `host:port` of each source server, for messages. */
export const serverNames = (source: SourceConfig): string[] => sourceServers(source).map((c) => `${c.host}:${c.port}`);

/**
 * Physical source tables that are also target tables of the migration (same server, database and table
 * name): each as `table: server database.table`. A migration must never write into its own source.
 */
export function overlappingTables(config: Pick<MigrationConfig, 'source' | 'target' | 'tables'>): string[] {
  const servers = sourceServers(config.source).map(serverKey);
  const found: string[] = [];
  for (const table of config.tables) {
    const targets = new Set<string>();
    for (let db = 0; db < config.target.databases; db++) {
      const server = serverKey(config.target.connections?.[db] ?? config.target.connection);
      const database = expand(config.target.databasePattern, 'db', db);
      for (let t = 0; t < table.tablesPerDb; t++) targets.add(`${server} ${database}.${expand(table.targetTable, 'table', t)}`);
    }
    for (const u of sourceUnits(config.source, table)) {
      const id = `${servers[u.server]!} ${u.id}`;
      if (targets.has(id)) found.push(`${table.name}: ${id}`);
    }
  }
  return found;
}

/** The source servers holding at least one physical table of the migration: one capture each. */
export function captureServers(config: Pick<MigrationConfig, 'source' | 'tables'>): number[] {
  const used = new Set<number>();
  for (const t of config.tables) for (const u of sourceUnits(config.source, t)) used.add(u.server);
  return [...used].sort((a, b) => a - b);
}
