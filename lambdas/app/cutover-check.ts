/**
 * The cut-over's check of what changed: the record keys the binlog carries for migrated tables between two
 * sets of source positions, and a row-by-row comparison of those keys' rows (in every target table, since a
 * change may have moved a row) with the source.
 */
import { recordKeyId, recordKeyOf } from '../core/config.js';
import { keysPredicate } from '../core/sql.js';
import { comparePositions } from '../core/position.js';
import { ReshardError } from '../core/errors.js';
import { tableConfig, type AppContext } from './context.js';
import { capturedTables, sourceBinlogReader } from './capture.js';
import { decodeColumns } from './ddl.js';
import type { ServerPosition } from './settle.js';
import { tableCheck } from './verify/table-check.js';
import { compareRows, type Compared } from './verify/compare.js';

/** Record keys (as value tuples) per logical table. */
export type KeysByTable = Map<string, Map<string, unknown[]>>;

/** Keys compared per query. */
const KEYS_PER_COMPARE = 500;

/**
 * The record keys of every row the binlog changed in a migrated table from `from` up to `to` (each source
 * server's), read within `deadline` (epoch ms). Fails when a DDL of a migrated table lies between them.
 */
export async function changedKeys(ctx: AppContext, from: readonly ServerPosition[], to: readonly ServerPosition[], deadline: number): Promise<KeysByTable> {
  const out: KeysByTable = new Map();
  for (const start of from) {
    const end = to.find((p) => p.server === start.server)!;
    if (comparePositions(start.position, end.position) >= 0) continue;
    const sources = capturedTables(ctx.config, start.server);
    const read = sourceBinlogReader(ctx.config, start.server);
    let position = start.position;
    while (comparePositions(position, end.position) < 0) {
      if (Date.now() >= deadline) throw new ReshardError(`reading the changes up to ${end.position.file}:${end.position.position} took past the deadline`);
      const r = await read({
        from: position,
        sources,
        maxEvents: 100_000,
        idleMs: 200,
        deadlineMs: deadline,
        until: end.position,
        columns: await decodeColumns(ctx, sources),
        onBatch: (events) => {
          for (const e of events) {
            if (comparePositions(e.position, end.position) >= 0) continue;
            const row = e.after ?? e.before;
            if (!row) continue;
            const values = recordKeyOf(tableConfig(ctx, e.table)).map((k) => row[k]);
            const keys = out.get(e.table) ?? new Map<string, unknown[]>();
            keys.set(recordKeyId(values), values);
            out.set(e.table, keys);
            // A row whose key changed: its old key is gone from the source and must be gone from the targets.
            if (e.before && e.after) {
              const old = recordKeyOf(tableConfig(ctx, e.table)).map((k) => e.before![k]);
              keys.set(recordKeyId(old), old);
            }
          }
          return Promise.resolve();
        },
      });
      if (r.ddl) throw new ReshardError(`a DDL of a migrated table ran during the cut-over, at ${r.ddl.next.file}:${r.ddl.next.position}: ${r.ddl.ddl.statement}`);
      if (r.events === 0 && comparePositions(r.position, position) <= 0) break;
      position = r.position;
    }
  }
  return out;
}

/** Compares the rows of `keys` in the source and in every target table; the rows checked and what differs. */
export async function checkKeys(ctx: AppContext, keys: KeysByTable): Promise<{ rows: number; differing: KeysByTable; text: string[] }> {
  let rows = 0;
  const differing: KeysByTable = new Map();
  const text: string[] = [];
  for (const [name, byId] of keys) {
    const table = tableConfig(ctx, name);
    const plan = await ctx.store.getPlan(ctx.config.migrationId, name);
    if (!plan) throw new ReshardError(`${name} has no plan: run the migration first`);
    const check = await tableCheck(ctx, table, plan);
    const all = [...byId.values()];
    const bad = new Map<string, unknown[]>();
    let counts = { missing: 0, different: 0, extra: 0 };
    for (let i = 0; i < all.length; i += KEYS_PER_COMPARE) {
      const chunk = all.slice(i, i + KEYS_PER_COMPARE);
      const found: Compared = await compareRows({ check, tables: check.tables, range: { where: keysPredicate(check.recordKey, chunk.length), params: chunk.flat() } });
      rows += chunk.length;
      counts = { missing: counts.missing + found.missing.length, different: counts.different + found.different.length, extra: counts.extra + found.extra.length };
      for (const d of [...found.missing, ...found.different, ...found.extra]) bad.set(recordKeyId(d.key), [...d.key]);
    }
    if (bad.size) {
      differing.set(name, bad);
      text.push(`${name}: ${counts.missing} missing, ${counts.different} different, ${counts.extra} extra`);
    }
  }
  return { rows, differing, text };
}

/** How many keys in all. */
export function keyCount(keys: KeysByTable): number {
  return [...keys.values()].reduce((a, m) => a + m.size, 0);
}
