/**
 * The custom CloudWatch metrics: one list for the handlers that emit them (Powertools Metrics, EMF) and
 * for the dashboard and alarms that read them (`lib/monitoring.ts`). Plain constants: no SDK here.
 *
 * Every metric is published in namespace `Reshard` with the dimensions `service` (Powertools always adds
 * it; ours is `reshard`) and `migrationId`; an alarm must name both to find the series.
 */

export const METRICS_NAMESPACE = 'Reshard';
/** The Powertools `service` dimension (POWERTOOLS_SERVICE_NAME on every function). */
export const METRICS_SERVICE = 'reshard';
/** The per-migration dimension. */
export const MIGRATION_DIMENSION = 'migrationId';

/** CloudWatch units used here (the strings Powertools' `MetricUnit` and CloudWatch share). */
export const MetricUnits = { Count: 'Count', Seconds: 'Seconds', Milliseconds: 'Milliseconds' } as const;
export type MetricUnitName = (typeof MetricUnits)[keyof typeof MetricUnits];

export interface MetricDefinition {
  readonly name: string;
  readonly unit: MetricUnitName;
  /** The handler that emits it. */
  readonly emittedBy: string;
  readonly description: string;
}

const def = (name: string, unit: MetricUnitName, emittedBy: string, description: string): MetricDefinition => ({ name, unit, emittedBy, description });

export const Metric = {
  rowsCopied: def('RowsCopied', 'Count', 'copy-batch', 'rows committed by a copy-batch call (reported when the call returns)'),
  segmentsFailed: def('SegmentsFailed', 'Count', 'copy-batch, verify-batch', 'failed segment attempts, each recorded FAILED in its checkpoint (the state machine retries them)'),
  eventsCaptured: def('EventsCaptured', 'Count', 'capture', 'binlog row events sent to the change queue by a capture run'),
  captureRuns: def('CaptureRuns', 'Count', 'capture', 'capture runs that ended successfully (1 per run: the heartbeat the no-capture alarm watches)'),
  capturePaused: def('CapturePaused', 'Count', 'capture', 'capture runs that found capture stopped before a DDL (1 per run until reshard ddl apply or skip)'),
  captureLagSeconds: def('CaptureLagSeconds', 'Seconds', 'capture', 'seconds the capture checkpoint is behind the binlog at the end of a run (0 when caught up)'),
  eventsApplied: def('EventsApplied', 'Count', 'apply', 'change events applied to the targets (before merging per key)'),
  applyRecordFailures: def('ApplyRecordFailures', 'Count', 'apply', 'change messages an apply invocation reported failed (batchItemFailures: the failing message and the later ones of its group)'),
  rowsVerified: def('RowsVerified', 'Count', 'verify', 'source rows compared with their targets'),
  dirtyRows: def('DirtyRows', 'Count', 'verify', 'rows found missing, different or extra by verification'),
  rowsRepaired: def('RowsRepaired', 'Count', 'verify', 'rows rewritten or removed by verification repair'),
  tablesComplete: def('TablesComplete', 'Count', 'finalize', 'tables reported complete by finalize'),
  cutoverFreezeMs: def('CutoverFreezeMs', 'Milliseconds', 'cutover', 'how long a cut-over has kept writes frozen: every 5 s while frozen, and at the thaw whether the switch succeeded or failed'),
} as const satisfies Record<string, MetricDefinition>;

/** The extra dimension of a capture's metrics for source server n > 0 of a sharded source (server 0 has none). */
export const SOURCE_SERVER_DIMENSION = 'sourceServer';
