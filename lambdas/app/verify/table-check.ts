/** What every batch of one table's verification shares, built once per segment call. */
import { recordKeyOf, type TableConfig } from '../../core/config.js';
import type { ColumnKinds } from '../../core/rowdiff.js';
import { builtInRouters, type TableRouter, type TargetName } from '../../core/routing.js';
import type { KeyKind } from '../../core/segments.js';
import { builtInPlacementSql, rowCrcExpr } from '../../core/sql.js';
import { rangeWhere, type RangeWhere } from '../../core/verify-sql.js';
import { SourceChecks, TargetChecks } from '../../adapters/checksums.js';
import { bindKey } from '../../adapters/mysql/source.js';
import type { TablePlan } from '../../core/model.js';
import { routerFor, sourcesFor, type AppContext } from '../context.js';

export interface TableCheck {
  readonly table: TableConfig;
  readonly keyKind: KeyKind;
  /** The planned columns, in order: what is read, compared and checksummed. */
  readonly columns: readonly string[];
  readonly kinds: ColumnKinds;
  readonly readKinds: Readonly<Record<string, string>>;
  readonly recordKey: readonly string[];
  /** The row CRC expression over `columns` (`rowCrcExpr`), the same on both sides. */
  readonly crc: string;
  readonly router: TableRouter;
  /** Every target table, in the router's order. */
  readonly tables: readonly TargetName[];
  /** With a built-in rule (and no other route function): the placement check in SQL (`builtInPlacementSql`). */
  readonly placement: { readonly notProvenIn: (slot: number) => string } | undefined;
  /** Target tables read at once (`copy.writeConcurrency`). */
  readonly concurrency: number;
  readonly source: SourceChecks;
  readonly targets: TargetChecks;
}

export async function tableCheck(ctx: AppContext, table: TableConfig, plan: TablePlan): Promise<TableCheck> {
  // Every physical source table at once: a batch is a key range of the logical table.
  const source = new SourceChecks(sourcesFor(ctx, table.name).map((r) => r.table));
  const { kinds, readKinds } = await source.columnKinds();
  const router = routerFor(ctx, table);
  const { algorithm } = ctx.config.routing;
  const placement =
    algorithm !== 'custom' && ctx.routeFn === builtInRouters[algorithm]
      ? builtInPlacementSql(table.shardKeys, algorithm, { databases: ctx.config.target.databases, tablesPerDb: table.tablesPerDb })
      : undefined;
  return {
    table,
    keyKind: plan.keyKind,
    columns: plan.columns,
    kinds,
    readKinds,
    recordKey: recordKeyOf(table),
    crc: rowCrcExpr(plan.columns, readKinds),
    router,
    tables: router.allTargets(),
    placement,
    concurrency: ctx.config.copy.writeConcurrency,
    source,
    targets: new TargetChecks(ctx.writer),
  };
}

/** The key range `(lo, hi]` of the table (within its time window), keys bound by their kind. */
export const rangeOf = (check: TableCheck, lo: string | null, hi: string | null): RangeWhere =>
  rangeWhere(check.table, bindKey(lo, check.keyKind), bindKey(hi, check.keyKind));
