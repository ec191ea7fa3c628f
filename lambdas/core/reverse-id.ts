/**
 * The reverse migration's id, and what reverse replication (`cutover.reverse`) needs of a config. Pure; the
 * reverse migration itself is derived in `reverse.ts`.
 */

/** What `reverseIssues` reads of a config (structurally: `config.ts` calls it while validating). */
interface ReverseFacts {
  readonly migrationId: string;
  readonly source: { readonly databasePattern?: string | undefined; readonly databases?: number | undefined; readonly routing?: unknown };
  readonly tables: readonly { readonly sourceTablesPerDb: number }[];
  readonly cdc: { readonly enabled: boolean };
}

/** The migration id of a migration's reverse replication (its checkpoints, capture and rollback are kept under it). */
export const reverseMigrationId = (migrationId: string): string => `${migrationId}${REVERSE_SUFFIX}`;
export const REVERSE_SUFFIX = '.reverse';

/** Why `cutover.reverse` cannot run with this config, each as [path, message]; none when it can. */
export function reverseIssues(c: ReverseFacts): [PropertyKey[], string][] {
  const out: [PropertyKey[], string][] = [];
  if (!c.cdc.enabled) out.push([['cutover', 'reverse'], 'reverse replication runs on change capture: set cdc.enabled']);
  if (reverseMigrationId(c.migrationId).length > 64)
    out.push([['migrationId'], `with cutover.reverse at most ${64 - REVERSE_SUFFIX.length} characters (the reverse migration is ${REVERSE_SUFFIX} after it)`]);
  const sharded = c.source.databasePattern !== undefined && (c.source.databases ?? 1) > 1 || c.tables.some((t) => t.sourceTablesPerDb > 1);
  if (sharded && !c.source.routing)
    out.push([['source', 'routing'], 'cutover.reverse with a sharded source needs the rule that placed its rows (source.routing), to route changes back']);
  return out;
}
