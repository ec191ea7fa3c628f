/**
 * The 1-billion-row scenario of docs/scaling.md, as numbers the history test computes with. Change them
 * together with the document. Measured rates are the README's (`npm run bench`, a 2-core machine);
 * batch sizes and budgets are the config defaults, read from the config schema itself.
 */
import { copySchema } from '../../lambdas/core/config-stages.js';

const copyDefaults = copySchema.parse({});

export const Scenario = {
  /** Rows in the source table when the migration is planned. */
  totalRows: 1_000_000_000,
  /** Source row changes per second while the migration runs (one binlog row event each). */
  sourceWritesPerSec: 50_000,
  /** Share of those changes that insert a row (the `bench:cdc` mix: 40k inserts, 100k updates, 20k deletes). */
  insertShare: 40 / 160,
  deleteShare: 20 / 160,
  /** `copy.segments` recommended in docs/scaling.md. */
  segments: 64,
  /** `copy.concurrency` (Map MaxConcurrency) recommended in docs/scaling.md. */
  mapConcurrency: 8,
  /** `copy.maxRowsPerSec` recommended in docs/scaling.md (the source's read budget for the copy). */
  copyThrottleRowsPerSec: 200_000,
  /** README, Performance: one copy worker, 38–40k rows/s; the low end. */
  measuredCopyRowsPerSec: 38_000,
  /** Not measured yet: verification is assumed to check rows no faster than the copy writes them. */
  assumedVerifyRowsPerSec: 38_000,
  /** `reshard verify --batch-rows` default: rows per checksum batch (and per VERIFY# state item). */
  verifyBatchRows: 20_000,
  /** From plan to the end of verification; rows inserted meanwhile land in the last (open-ended) segment. */
  migrationWindowSeconds: 24 * 3600,
  /** Retry budget assumed for every Lambda call: each one fails twice before it succeeds. */
  retriesPerCall: 2,
  /** Persistent failures of one segment, each fixed and redriven. */
  redrivesPerSegment: 3,
  pageSize: copyDefaults.pageSize,
  timeBudgetSeconds: copyDefaults.timeBudgetSeconds,
} as const;

/** Rows one copy worker moves per second: the measured rate, or less under the configured throttle. */
export const copyRowsPerSecPerSegment = Math.min(Scenario.measuredCopyRowsPerSec, Scenario.copyThrottleRowsPerSec / Scenario.mapConcurrency);

/**
 * Rows one call handles: the call takes pages until its time budget has passed (whole pages; the
 * first page after the budget is not taken), so at least budget × rate rounded down to whole pages.
 */
export function rowsPerCall(rowsPerSec: number, budgetSeconds: number = Scenario.timeBudgetSeconds, pageSize: number = Scenario.pageSize): number {
  return Math.max(pageSize, Math.floor((budgetSeconds * rowsPerSec) / pageSize) * pageSize);
}

/** The largest segment: a quantile share of the table, plus every row inserted during the window (open-ended last segment). */
export const largestSegmentRows = Math.ceil(Scenario.totalRows / Scenario.segments) + Scenario.sourceWritesPerSec * Scenario.insertShare * Scenario.migrationWindowSeconds;

/** Calls of a loop over `rows`: every full call, plus the one that reads the last (short or empty) page and returns done. */
export function callsFor(rows: number, perCall: number): number {
  return Math.floor(rows / perCall) + 1;
}
