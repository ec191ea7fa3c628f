/**
 * Cut-over rules: what must hold before writes to the source are frozen, and the routing an application
 * uses once the new layout takes over. Pure: the app gathers the facts.
 */
import type { MigrationConfig } from './config.js';
import type { BinlogPosition } from './position.js';

/** What precheck looks at. */
export interface CutoverFacts {
  readonly tables: readonly {
    readonly table: string;
    /** Every segment's copy is DONE. */
    readonly copyDone: boolean;
    readonly failedSegments: number;
    /** Segments whose last verification is not CLEAN or REPAIRED (never verified included). */
    readonly unverifiedSegments: number;
    readonly dirtyRows: number;
  }[];
  /** Capture of each source server (with CDC); `paused`: why it is stopped (before a DDL, or for a changed source server). */
  readonly servers: readonly { readonly name: string; readonly lagSeconds: number; readonly caughtUp: boolean; readonly paused?: string | undefined }[];
  /**
   * Set when capture is within the lag bound but capture and apply together did not reach the sources'
   * positions of the precheck within `maxLagSeconds`: what was still behind.
   */
  readonly endToEndBehind?: string | undefined;
  /** Change messages in the DLQ. */
  readonly dead: number;
  readonly cdcEnabled: boolean;
  readonly verifyEnabled: boolean;
}

/** The conditions a cut-over needs that do not hold now, each saying what is wrong; empty when it may go ahead. */
export function unmetConditions(f: CutoverFacts, maxLagSeconds: number): string[] {
  const out: string[] = [];
  if (!f.cdcEnabled) out.push('cdc.enabled is false: changes made during the copy never reach the targets, so the new layout cannot take over without losing them');
  for (const t of f.tables) {
    if (!t.copyDone) out.push(`${t.table}: the copy is not DONE`);
    if (t.failedSegments) out.push(`${t.table}: ${t.failedSegments} segment(s) FAILED`);
    if (f.verifyEnabled && t.unverifiedSegments) out.push(`${t.table}: ${t.unverifiedSegments} segment(s) not verified CLEAN or REPAIRED (run reshard verify --repair)`);
    if (t.dirtyRows) out.push(`${t.table}: ${t.dirtyRows} row(s) found different and not repaired by the last verification`);
  }
  for (const s of f.servers) {
    if (s.paused) out.push(`source ${s.name}: ${s.paused}`);
    else if (s.lagSeconds === Infinity) out.push(`source ${s.name}: CDC has not caught up with the source yet`);
    else if (s.lagSeconds > maxLagSeconds) out.push(`source ${s.name}: CDC is ${s.lagSeconds.toFixed(1)} s behind, over cutover.maxLagSeconds ${maxLagSeconds}`);
  }
  if (f.endToEndBehind) out.push(`CDC is more than ${maxLagSeconds} s behind end to end (over cutover.maxLagSeconds): ${f.endToEndBehind}`);
  if (f.dead) out.push(`${f.dead} change message(s) in the DLQ: changes that never reached the targets (see docs/operations.md, poison change messages)`);
  return out;
}

/** The routing an application uses from the cut-over on: the new layout, its rule, and where each database is (no passwords). */
export interface RoutingFile {
  readonly migrationId: string;
  readonly switchedAt: string;
  /** Each source server's binlog position when writes were frozen: the new layout has every change before it. */
  readonly frozenAt: readonly { readonly server: string; readonly position: BinlogPosition }[];
  readonly routing: MigrationConfig['routing'];
  readonly databases: readonly { readonly index: number; readonly database: string; readonly host: string; readonly port: number }[];
  readonly tables: readonly { readonly table: string; readonly shardKeys: readonly string[]; readonly targetTable: string; readonly tablesPerDb: number }[];
}

export function routingFile(config: MigrationConfig, frozenAt: RoutingFile['frozenAt'], now: number): RoutingFile {
  const t = config.target;
  return {
    migrationId: config.migrationId,
    switchedAt: new Date(now).toISOString(),
    frozenAt,
    routing: config.routing,
    databases: Array.from({ length: t.databases }, (_, i) => {
      const c = t.connections?.[i] ?? t.connection;
      return { index: i, database: t.databasePattern.replace('{db}', String(i)), host: c.host, port: c.port };
    }),
    tables: config.tables.map((x) => ({ table: x.name, shardKeys: x.shardKeys, targetTable: x.targetTable, tablesPerDb: x.tablesPerDb })),
  };
}
