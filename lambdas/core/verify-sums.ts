/**
 * Checksum arithmetic of verification, pure. A side is what one table (or the source rows routed to one
 * table) holds over a key range: its row count, and the BIT_XOR and SUM of its rows' CRC32s.
 */
import type { TargetName } from './routing.js';

export interface Sums {
  rows: number;
  /** BIT_XOR of the CRCs, as an unsigned 32-bit integer. */
  xor: number;
  sum: number;
}

/** A target table's sums, with `off`: how many of its rows the server could not prove belong there. */
export interface TargetSums extends Sums {
  off: number;
}

/** A target table's index in the layout: `db * tablesPerDb + table`. */
export const slotOf = (t: TargetName, tablesPerDb: number): number => t.db * tablesPerDb + t.table;

export const noSums = (): Sums => ({ rows: 0, xor: 0, sum: 0 });

/** Adds one row's CRC to the sums of the target table at `slot`. */
export function addRow(sums: Map<number, Sums>, slot: number, crc: number): void {
  let side = sums.get(slot);
  if (!side) sums.set(slot, (side = noSums()));
  side.rows++;
  side.xor = (side.xor ^ crc) >>> 0;
  side.sum += crc;
}

/** The sums a `sumsSql` row reads (`n`, `x`, `s`, `off`); no row or NULLs count as zero. */
export function sumsOfRow(r: Readonly<Record<string, unknown>> | undefined): TargetSums {
  return { rows: Number(r?.n ?? 0), xor: Number(r?.x ?? 0) >>> 0, sum: Number(r?.s ?? 0), off: Number(r?.off ?? 0) };
}

/** The sums over several tables together (their rows, XOR, SUM and rows not proven). */
export function totalOf(sides: readonly TargetSums[]): TargetSums {
  const all = { rows: 0, xor: 0, sum: 0, off: 0 };
  for (const d of sides) {
    all.rows += d.rows;
    all.xor = (all.xor ^ d.xor) >>> 0;
    all.sum += d.sum;
    all.off += d.off;
  }
  return all;
}

export const sameSums = (a: Sums, b: Sums): boolean => a.rows === b.rows && a.xor === b.xor && a.sum === b.sum;

/** Whether the targets together hold exactly the source's rows: equal totals and every row proven in place. */
export const provenEqual = (source: Sums, targets: TargetSums): boolean => targets.off === 0 && sameSums(targets, source);

/**
 * Source rows read as arrays (`keyedCrcSql`: `columns`, then the CRC), routed with `route` and summed per
 * target slot. `route` sees one reused object holding the row's `columns`: no object or string per row.
 */
export function sumsByTarget(
  rows: readonly (readonly unknown[])[],
  columns: readonly string[],
  route: (row: Record<string, unknown>) => TargetName,
  tablesPerDb: number,
): Map<number, Sums> {
  const out = new Map<number, Sums>();
  const probe: Record<string, unknown> = {};
  for (const r of rows) {
    for (let i = 0; i < columns.length; i++) probe[columns[i]!] = r[i];
    addRow(out, slotOf(route(probe), tablesPerDb), Number(r[columns.length]));
  }
  return out;
}

/** The target tables (`sides` in the same order) whose count or checksums differ from the source rows routed there. */
export function differingTables(targets: readonly TargetName[], tablesPerDb: number, source: ReadonlyMap<number, Sums>, sides: readonly Sums[]): TargetName[] {
  const none = noSums();
  return targets.filter((t, i) => !sameSums(source.get(slotOf(t, tablesPerDb)) ?? none, sides[i]!));
}

/** Rows over all sides. */
export const rowsOf = (sides: Iterable<Sums>): number => {
  let n = 0;
  for (const s of sides) n += s.rows;
  return n;
};
