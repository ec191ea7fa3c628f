/**
 * What the use cases need, built once per Lambda container (pools stay warm between invocations) or
 * once per local runtime. Handlers receive it; tests inject faults through `hooks`.
 */
import type { MigrationConfig, TableConfig } from '../core/config.js';
import { ConfigError, SchemaError } from '../core/errors.js';
import { TableRouter, type RouteFn } from '../core/routing.js';
import type { StateStore } from '../adapters/state-store.js';
import type { TablePlan } from '../core/model.js';
import type { Pool } from '../adapters/mysql/pool.js';
import { SourceReader } from '../adapters/mysql/source.js';
import type { TargetWriter } from '../adapters/mysql/target.js';

/** Points where tests inject faults (a crash is an exception thrown from one of these). */
export interface CopyHooks {
  beforePage?(table: string, segment: number, cursor: string | null): void | Promise<void>;
  /**
   * After a page was read, before any of it is written: races with CDC are staged here. `rows` hold the
   * columns the copy read as values: all of them, or, with row literals, the scroll, shard and record keys.
   */
  afterRead?(table: string, segment: number, rows: readonly Record<string, unknown>[]): void | Promise<void>;
  /** After each target table of a page is written (`written` of `total`): a crash here leaves a page half written. */
  afterTableWrite?(table: string, segment: number, written: number, total: number): void | Promise<void>;
  beforeCommit?(table: string, segment: number): void | Promise<void>;
  afterCommit?(table: string, segment: number, pagesDone: number): void | Promise<void>;
}

export interface AppContext {
  readonly config: MigrationConfig;
  readonly source: Pool;
  /** One pool per target database index (entries may share a pool). */
  readonly targets: readonly Pool[];
  readonly writer: TargetWriter;
  readonly store: StateStore;
  readonly routeFn: RouteFn;
  readonly hooks: CopyHooks;
  /** Identifies this process in lease owners. */
  readonly workerId: string;
  /** With CDC: waits until changes made up to now are applied (verification rechecks after it). */
  readonly settle?: () => Promise<void>;
}

export function tableConfig(ctx: Pick<AppContext, 'config'>, name: string): TableConfig {
  const t = ctx.config.tables.find((x) => x.name === name);
  if (!t) throw new ConfigError(`table ${name} is not in the migration config (tables: ${ctx.config.tables.map((x) => x.name).join(', ')})`);
  return t;
}

const routers = new WeakMap<object, Map<TableConfig, TableRouter>>();

/** The router of a table, built once per context (routing runs per row and per event). */
export function routerFor(ctx: Pick<AppContext, 'config' | 'routeFn'>, table: TableConfig): TableRouter {
  let m = routers.get(ctx);
  if (!m) routers.set(ctx, (m = new Map<TableConfig, TableRouter>()));
  let r = m.get(table);
  if (!r) m.set(table, (r = new TableRouter(ctx.config, table, ctx.routeFn)));
  return r;
}

const readers = new WeakMap<object, Map<string, SourceReader>>();

/** The reader of a table's source: the physical table `source.database`.`table` on the source server, built once per context. */
export function sourceFor(ctx: Pick<AppContext, 'config' | 'source'>, table: string): SourceReader {
  let m = readers.get(ctx);
  if (!m) readers.set(ctx, (m = new Map<string, SourceReader>()));
  let r = m.get(table);
  if (!r) {
    const { host, port, database } = ctx.config.source;
    m.set(table, (r = new SourceReader({ server: `${host}:${port}`, pool: ctx.source, database, tableName: table })));
  }
  return r;
}

const plans = new WeakMap<object, Map<string, TablePlan>>();

/** A table's stored plan (columns, key kind), read once per context: a plan never changes once made. */
export async function planFor(ctx: Pick<AppContext, 'config' | 'store'>, table: string): Promise<TablePlan> {
  let m = plans.get(ctx);
  if (!m) plans.set(ctx, (m = new Map<string, TablePlan>()));
  let plan = m.get(table);
  if (!plan) {
    plan = await ctx.store.getPlan(ctx.config.migrationId, table);
    if (!plan) throw new SchemaError(`no plan stored for ${table} in migration ${ctx.config.migrationId}: run plan first`);
    m.set(table, plan);
  }
  return plan;
}

export function checkMigrationId(ctx: Pick<AppContext, 'config'>, migrationId: string): void {
  if (migrationId !== ctx.config.migrationId)
    throw new ConfigError(`event is for migration ${migrationId} but this deployment is configured for ${ctx.config.migrationId}`);
}
