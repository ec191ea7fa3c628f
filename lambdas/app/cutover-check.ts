/**
 * The cut-over's check of what changed: the record keys the binlog carries for migrated tables between two
 * sets of source positions, and a row-by-row comparison of those keys' rows (in every target table, since a
 * change may have moved a row) with the source.
 */
import { recordKeyId, recordKeyOf } from '../core/config.js';
import { keysPredicate } from '../core/sql.js';
import { comparePositions } from '../core/position.js';
import { ReshardError } from '../core/errors.js';
import { routerFor, tableConfig, type AppContext } from './context.js';
import { idOf } from '../core/table-id.js';
import { inParallel } from '../core/parallel.js';
import { capturedTables, sideReaderServerId, sourceBinlogReader } from './capture.js';
import { decodeColumns } from './ddl.js';
import type { ServerPosition } from './settle.js';
import { tableCheck } from './verify/table-check.js';
import { compareRows, type Compared } from './verify/compare.js';

/** A changed record: its key values, and the target tables its row images route to (undefined: any). */
export interface ChangedKey {
  readonly values: unknown[];
  targets: Set<string> | undefined;
}

/** Changed records per logical table, by `recordKeyId`. */
export type KeysByTable = Map<string, Map<string, ChangedKey>>;

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
    // Capture stays connected meanwhile, as the replica cdc.serverId.
    const read = sourceBinlogReader(ctx.config, start.server, sideReaderServerId(ctx.config));
    const columns = await decodeColumns(ctx, sources);
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
        columns,
        onBatch: (events) => {
          for (const e of events) {
            if (comparePositions(e.position, end.position) >= 0) continue;
            const table = tableConfig(ctx, e.table);
            const router = routerFor(ctx, table);
            const keys = out.get(e.table) ?? new Map<string, ChangedKey>();
            out.set(e.table, keys);
            // Where the images route: the row was there before, or is there now, so those are the target tables
            // to compare (none known when an image does not route: compare the key everywhere).
            let targets: string[] | undefined;
            try {
              targets = [e.before, e.after].flatMap((image) => (image ? [idOf(router.route(image))] : []));
            } catch {
              targets = undefined;
            }
            // Each image's key: an update may change it.
            for (const image of [e.before, e.after]) {
              if (!image) continue;
              const values = recordKeyOf(table).map((k) => image[k]);
              const id = recordKeyId(values);
              const key = keys.get(id) ?? { values, targets: new Set<string>() };
              keys.set(id, key);
              if (!targets) key.targets = undefined;
              else for (const t of targets) key.targets?.add(t);
            }
          }
          return Promise.resolve();
        },
      });
      if (r.ddl) {
        // Capture has dealt with it already (it lies before the freeze's positions). One that changes no
        // column (an index, a comment), or a ghost table's (an online schema change's, not a migrated
        // table's), leaves the rows' images as they were: read on past it.
        if (!r.ddl.ddl.changesColumns || r.ddl.ghost) {
          position = r.ddl.next;
          continue;
        }
        throw new ReshardError(
          `a DDL that changes columns of a migrated table lies in the binlog the check reads (at ${r.ddl.next.file}:${r.ddl.next.position}: ${r.ddl.ddl.statement}); the changed rows cannot be read across it: verify again after it (reshard verify), then cut over`,
        );
      }
      if (r.events === 0 && comparePositions(r.position, position) <= 0) break;
      position = r.position;
    }
  }
  return out;
}

/**
 * Compares the rows of `keys` in the source and in the target tables their images route to (every target
 * table for a key without them), grouped so that each comparison reads one set of tables; the rows checked
 * and what differs, per table.
 */
export async function checkKeys(ctx: AppContext, keys: KeysByTable): Promise<{ rows: number; text: string[] }> {
  let rows = 0;
  const text: string[] = [];
  for (const [name, byId] of keys) {
    const table = tableConfig(ctx, name);
    const plan = await ctx.store.getPlan(ctx.config.migrationId, name);
    if (!plan) throw new ReshardError(`${name} has no plan: run the migration first`);
    const check = await tableCheck(ctx, table, plan);
    const byTargets = new Map<string, unknown[][]>();
    for (const k of byId.values()) {
      const group = k.targets ? [...k.targets].sort().join(',') : '*';
      (byTargets.get(group) ?? byTargets.set(group, []).get(group)!).push(k.values);
    }
    const counts = { missing: 0, different: 0, extra: 0 };
    await inParallel([...byTargets], check.concurrency, async ([group, all]) => {
      const ids = new Set(group.split(','));
      const tables = group === '*' ? check.tables : check.tables.filter((t) => ids.has(idOf(t)));
      for (let i = 0; i < all.length; i += KEYS_PER_COMPARE) {
        const chunk = all.slice(i, i + KEYS_PER_COMPARE);
        const found: Compared = await compareRows({ check, tables, range: { where: keysPredicate(check.recordKey, chunk.length), params: chunk.flat() } });
        rows += chunk.length;
        counts.missing += found.missing.length;
        counts.different += found.different.length;
        counts.extra += found.extra.length;
      }
    });
    if (counts.missing + counts.different + counts.extra) text.push(`${name}: ${counts.missing} missing, ${counts.different} different, ${counts.extra} extra`);
  }
  return { rows, text };
}

/** How many keys in all. */
export function keyCount(keys: KeysByTable): number {
  return [...keys.values()].reduce((a, m) => a + m.size, 0);
}
