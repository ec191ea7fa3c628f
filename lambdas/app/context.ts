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
import { serverNames, sourceUnits } from '../core/source-layout.js';

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
  /** The first source server's pool (the binlog's, while change capture reads one server). */
  readonly source: Pool;
  /** One pool per source server (`sourceServers`), in order. */
  readonly sources: readonly Pool[];
  /** One pool per target database index (entries may share a pool). */
  readonly targets: readonly Pool[];
  /** The replica whose lag throttles the copy (`throttle.replica`). */
  readonly replica?: Pool;
  readonly writer: TargetWriter;
  readonly store: StateStore;
  readonly routeFn: RouteFn;
  readonly hooks: CopyHooks;
  /** Identifies this process in lease owners. */
  readonly workerId: string;
  /** With CDC: waits until changes made up to now are applied (verification rechecks after it). */
  readonly settle?: () => Promise<void>;
  /** This is the reverse migration (`core/reverse.ts`): the new layout captured back to the old one. */
  readonly reverse?: boolean;
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

const readers = new WeakMap<object, Map<string, SourceReader[]>>();

/** The readers of a logical table's physical source tables, in `sourceUnits` order, built once per context. */
export function sourcesFor(ctx: Pick<AppContext, 'config' | 'sources'>, table: string): readonly SourceReader[] {
  let m = readers.get(ctx);
  if (!m) readers.set(ctx, (m = new Map<string, SourceReader[]>()));
  let r = m.get(table);
  if (!r) {
    const names = serverNames(ctx.config.source);
    r = sourceUnits(ctx.config.source, tableConfig(ctx, table)).map(
      (u) => new SourceReader({ server: names[u.server]!, pool: ctx.sources[u.server]!, database: u.database, tableName: u.tableName }),
    );
    m.set(table, r);
  }
  return r;
}

/** The reader of one physical source table of a logical table (`unit`: its index in `sourceUnits`; 0 for an unsharded source). */
export function sourceFor(ctx: Pick<AppContext, 'config' | 'sources'>, table: string, unit = 0): SourceReader {
  const all = sourcesFor(ctx, table);
  const r = all[unit];
  if (!r) throw new SchemaError(`${table} has ${all.length} physical source table(s): there is no #${unit}`);
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

/** A table's plan read from the store now (and cached for `planFor`): its columns as the last DDL left them. */
export async function freshPlan(ctx: Pick<AppContext, 'config' | 'store'>, table: string): Promise<TablePlan> {
  plans.get(ctx)?.delete(table);
  return planFor(ctx, table);
}

/** Drops the plans cached for `ctx`: the next `planFor` reads them again (after a DDL changed their columns). */
export function forgetPlans(ctx: object): void {
  plans.delete(ctx);
}

export function checkMigrationId(ctx: Pick<AppContext, 'config'>, migrationId: string): void {
  if (migrationId !== ctx.config.migrationId)
    throw new ConfigError(`event is for migration ${migrationId} but this deployment is configured for ${ctx.config.migrationId}`);
}
