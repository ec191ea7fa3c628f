/**
 * The migration config: one zod schema is the single source of truth for validation,
 * TypeScript types and the JSON Schema printed by `reshard schema`.
 */
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { reverseIssues } from './reverse-id.js';
import { connectionSchema } from './config-connection.js';
import { cdcSchema, copySchema, cutoverSchema, throttleSchema, verifySchema } from './config-stages.js';

export { connectionSchema };

/** MySQL identifiers we accept: plain names only, so escaping can never be defeated. */
const IDENT = /^[A-Za-z_][A-Za-z0-9_$]{0,63}$/;
const identifier = z
  .string()
  .regex(IDENT, 'must be a plain MySQL identifier (letters, digits, _ or $, at most 64, not starting with a digit)');

/**
 * A name pattern such as `order_db_{db}` or `order_info_{table}`; the result must be an identifier. The
 * placeholder may be left out only where the count is 1 (`placeholderIssue`): then the pattern is the name.
 */
const pattern = (placeholder: string) =>
  z.string().refine((p) => IDENT.test(p.replaceAll(`{${placeholder}}`, '0')), 'must expand to a plain MySQL identifier');

/** A pattern naming `count` databases or tables must tell them apart with its placeholder. */
function placeholderIssue(p: string | undefined, placeholder: 'db' | 'table', count: number): string | undefined {
  return p !== undefined && count > 1 && !p.includes(`{${placeholder}}`) ? `must contain {${placeholder}} (it names ${count} ${placeholder === 'db' ? 'databases' : 'tables'})` : undefined;
}

/**
 * Where a logical table's rows are now: one database on one server (`database`), or a sharded layout of
 * `databases` databases named by `databasePattern` over one or more servers (`connections`), each database
 * holding the table's physical tables (`tables[].sourceTable` × `sourceTablesPerDb`). The connection fields
 * at the top are the server when `connections` is absent.
 */
export const sourceSchema = connectionSchema
  .extend({
    /** The one source database (a source that is not sharded). */
    database: identifier.optional(),
    /** Source databases of a sharded layout (with `databasePattern`). */
    databases: z.number().int().min(1).max(1024).optional(),
    /** Source database name pattern, e.g. `order_db_{db}`. */
    databasePattern: pattern('db').optional(),
    /** One connection per source server, overriding the fields above. */
    connections: z.array(connectionSchema).min(1).max(64).optional(),
    /**
     * The server (index into `connections`) of each source database. Default: all on one server when there
     * is one, database i on server i when there are as many servers as databases, else in equal consecutive blocks.
     */
    placement: z.array(z.number().int().min(0)).optional(),
    /**
     * The rule that placed rows in the source layout (on the tables' shard keys), if one did: plan then
     * checks that sampled rows sit where it places them (a layout other than the one configured is refused).
     */
    routing: z.object({ algorithm: z.enum(['spread', 'last3-mod']) }).strict().optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    if ((s.database === undefined) === (s.databasePattern === undefined))
      ctx.addIssue({ code: 'custom', path: ['database'], message: 'give either database (one source database) or databasePattern with databases (a sharded source)' });
    if (s.databasePattern !== undefined && s.databases === undefined) ctx.addIssue({ code: 'custom', path: ['databases'], message: 'databasePattern needs databases' });
    if (s.databases !== undefined && s.databasePattern === undefined) ctx.addIssue({ code: 'custom', path: ['databasePattern'], message: 'databases needs databasePattern' });
    const dbName = placeholderIssue(s.databasePattern, 'db', s.databases ?? 1);
    if (dbName) ctx.addIssue({ code: 'custom', path: ['databasePattern'], message: dbName });
    const servers = s.connections?.length ?? 1;
    const dbs = s.databasePattern !== undefined ? (s.databases ?? 1) : 1;
    if (s.placement) {
      if (s.placement.length !== dbs) ctx.addIssue({ code: 'custom', path: ['placement'], message: `has ${s.placement.length} entries but there are ${dbs} source databases` });
      s.placement.forEach((p, i) => {
        if (p >= servers) ctx.addIssue({ code: 'custom', path: ['placement', i], message: `server ${p} does not exist (connections has ${servers})` });
      });
    } else if (servers > dbs)
      ctx.addIssue({ code: 'custom', path: ['connections'], message: `${servers} servers for ${dbs} databases: give placement` });
  });

const isoDate = z.iso.datetime({ offset: true, local: true }).or(z.iso.date());

export const tableSchema = z
  .object({
    /** Logical table name: the source table's name, unless `sourceTable` names the physical tables. */
    name: identifier,
    /**
     * The physical source tables' name pattern in every source database, e.g. `order_info_{table}` (with
     * `sourceTablesPerDb`). Default: the table is called `name` in every source database.
     */
    sourceTable: pattern('table').optional(),
    /** Physical source tables per source database (`sourceTable` expanded with 0 … n−1). */
    sourceTablesPerDb: z.number().int().min(1).max(1024).default(1),
    /**
     * The unique key scrolled in keyset order: one column, or several (a composite key, scrolled in their
     * order). An index must start with its columns in that order, and a unique index must lie within them.
     * Parsed as the list of its columns.
     */
    scrollKey: z
      .union([identifier, z.array(identifier).min(1).max(16)])
      .default('id')
      .transform((k): string[] => (typeof k === 'string' ? [k] : k)),
    /** Column(s) that identify a record in the target (its primary key). Default: the scroll key. */
    recordKey: z.array(identifier).min(1).optional(),
    /** Shard key columns in priority order: the first non-NULL one routes the row. */
    shardKeys: z.array(identifier).min(1),
    /** Optional monotonically increasing version (e.g. `update_time` or a counter): newer wins on conflicts. */
    versionColumn: identifier.optional(),
    /** Optional time column for statistics per day and the time window. */
    timeColumn: identifier.optional(),
    /** Copy only rows with `from <= timeColumn < to`. Requires `timeColumn`. */
    window: z
      .object({ from: isoDate.optional(), to: isoDate.optional() })
      .strict()
      .optional(),
    /** Target table name pattern, e.g. `order_info_{table}`. */
    targetTable: pattern('table'),
    /** Tables per target database. */
    tablesPerDb: z.number().int().min(1).max(1024),
  })
  .strict()
  .superRefine((t, ctx) => {
    // (A refinement runs on the object even where a field failed: scrollKey may be unparsed then.)
    const twice = Array.isArray(t.scrollKey) ? t.scrollKey.find((c, i) => t.scrollKey.indexOf(c) !== i) : undefined;
    if (twice) ctx.addIssue({ code: 'custom', path: ['scrollKey'], message: `column ${twice} is in the scroll key twice` });
    if (t.window && !t.timeColumn) ctx.addIssue({ code: 'custom', path: ['window'], message: 'a window needs timeColumn' });
    if (t.sourceTablesPerDb > 1 && !t.sourceTable)
      ctx.addIssue({ code: 'custom', path: ['sourceTablesPerDb'], message: 'more than one physical source table per database needs a sourceTable pattern with {table}' });
    for (const [field, p, n] of [['sourceTable', t.sourceTable, t.sourceTablesPerDb], ['targetTable', t.targetTable, t.tablesPerDb]] as const) {
      const issue = placeholderIssue(p, 'table', n);
      if (issue) ctx.addIssue({ code: 'custom', path: [field], message: issue });
    }
    if (t.window?.from && t.window.to && !(new Date(t.window.from) < new Date(t.window.to)))
      ctx.addIssue({ code: 'custom', path: ['window'], message: 'window.from must be before window.to' });
  });

const routingSchema = z
  .object({
    /**
     * `spread` (default): numeric shard key mod (databases × tablesPerDb), uses every table.
     * `last3-mod`: the original platform's rule: last 3 digits mod database count, and the same for the table.
     * `custom`: a module exporting `route(shardKey, layout)`, see `lambdas/core/routing.ts`.
     */
    algorithm: z.enum(['spread', 'last3-mod', 'custom']).default('spread'),
    module: z.string().optional(),
  })
  .strict()
  .refine((r) => r.algorithm !== 'custom' || !!r.module, { path: ['module'], message: 'custom routing needs a module' })
  .prefault({});

export const configSchema = z
  .object({
    /** Identifies the migration; checkpoints are keyed by it. */
    migrationId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/),
    source: sourceSchema,
    target: z
      .object({
        connection: connectionSchema.prefault({}),
        /** One connection per database, overriding `connection` (length must equal `databases`). */
        connections: z.array(connectionSchema).optional(),
        databases: z.number().int().min(1).max(1024),
        databasePattern: pattern('db'),
      })
      .strict()
      .superRefine((t, ctx) => {
        const dbName = placeholderIssue(t.databasePattern, 'db', t.databases);
        if (dbName) ctx.addIssue({ code: 'custom', path: ['databasePattern'], message: dbName });
        if (t.connections && t.connections.length !== t.databases)
          ctx.addIssue({
            code: 'custom',
            path: ['connections'],
            message: `has ${t.connections.length} entries but databases is ${t.databases}`,
          });
      }),
    tables: z.array(tableSchema).min(1),
    /**
     * Binding groups: tables whose rows belong together (an order and its items) route alike — same shard
     * keys, same tables per database — so they land at the same database and table index. With CDC their
     * changes travel in one FIFO group per target index, and apply writes a group's tables in the order listed
     * (inserts and updates; deletes in reverse order).
     */
    bindings: z.array(z.array(identifier).min(2)).default([]),
    routing: routingSchema,
    copy: copySchema,
    throttle: throttleSchema,
    cdc: cdcSchema,
    verify: verifySchema,
    cutover: cutoverSchema,
  })
  .strict()
  .superRefine((c, ctx) => {
    // Patterns were checked with index 0; the longest expansion (highest index) must fit MySQL's 64 characters too.
    const tooLong = (p: string, ph: 'db' | 'table', n: number) => expand(p, ph, n - 1).length > 64;
    if (tooLong(c.target.databasePattern, 'db', c.target.databases))
      ctx.addIssue({ code: 'custom', path: ['target', 'databasePattern'], message: `expands to more than 64 characters for db ${c.target.databases - 1}` });
    c.tables.forEach((t, i) => {
      if (tooLong(t.targetTable, 'table', t.tablesPerDb))
        ctx.addIssue({ code: 'custom', path: ['tables', i, 'targetTable'], message: `expands to more than 64 characters for table ${t.tablesPerDb - 1}` });
    });
    if (c.source.databasePattern && tooLong(c.source.databasePattern, 'db', c.source.databases ?? 1))
      ctx.addIssue({ code: 'custom', path: ['source', 'databasePattern'], message: `expands to more than 64 characters for db ${(c.source.databases ?? 1) - 1}` });
    const bound = new Map<string, number>();
    c.bindings.forEach((group, g) => {
      const first = c.tables.find((t) => t.name === group[0]);
      group.forEach((name, i) => {
        const t = c.tables.find((x) => x.name === name);
        if (!t) return ctx.addIssue({ code: 'custom', path: ['bindings', g, i], message: `${name} is not a table of this migration` });
        if (bound.has(name)) return ctx.addIssue({ code: 'custom', path: ['bindings', g, i], message: `${name} is already in binding group ${bound.get(name)}` });
        bound.set(name, g);
        if (!first || t === first) return;
        // Route apart: another shard key order or another layout sends one order's rows to other indexes.
        if (t.shardKeys.join(',') !== first.shardKeys.join(','))
          ctx.addIssue({ code: 'custom', path: ['bindings', g, i], message: `${name} would route apart from ${first.name}: shardKeys [${t.shardKeys.join(', ')}] differ from [${first.shardKeys.join(', ')}]` });
        if (t.tablesPerDb !== first.tablesPerDb)
          ctx.addIssue({ code: 'custom', path: ['bindings', g, i], message: `${name} would route apart from ${first.name}: tablesPerDb ${t.tablesPerDb} differs from ${first.tablesPerDb}` });
      });
    });
    if (c.cutover.reverse) {
      const why = reverseIssues(c);
      why.forEach(([path, message]) => ctx.addIssue({ code: 'custom', path, message }));
    }
    const seen = new Set<string>();
    c.tables.forEach((t, i) => {
      if (seen.has(t.name)) ctx.addIssue({ code: 'custom', path: ['tables', i, 'name'], message: `duplicate table ${t.name}` });
      seen.add(t.name);
    });
  });

export type MigrationConfig = z.output<typeof configSchema>;
export type TableConfig = z.output<typeof tableSchema>;
export type ConnectionConfig = z.output<typeof connectionSchema>;
export type SourceConfig = z.output<typeof sourceSchema>;

/** How many physical source tables a logical table has. */
export function sourceTableCount(source: Pick<SourceConfig, 'databasePattern' | 'databases'>, table: Pick<TableConfig, 'sourceTablesPerDb'>): number {
  return (source.databasePattern !== undefined ? (source.databases ?? 1) : 1) * table.sourceTablesPerDb;
}

/** Formats zod issues as `path.to.field: message` lines. */
export function formatIssues(error: z.ZodError): string[] {
  return error.issues.map((i) => {
    // A record key that fails its schema: say why (zod's own message is only "Invalid key in record").
    const message = i.code === 'invalid_key' && i.issues.length ? i.issues.map((k) => k.message).join('; ') : i.message;
    return `${i.path.length ? i.path.join('.') : '(root)'}: ${message}`;
  });
}

/** Validates an already-parsed config object. Throws ConfigError naming every field at fault. */
export function parseConfig(raw: unknown, origin = 'config'): MigrationConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success) throw new ConfigError(`invalid ${origin}`, formatIssues(result.error));
  return result.data;
}

/** The JSON Schema of the config file (input shape: defaults may be omitted). */
export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' });
}

/** Expands a name pattern (`order_db_{db}`). */
export function expand(patternText: string, placeholder: 'db' | 'table', index: number): string {
  return patternText.replaceAll(`{${placeholder}}`, String(index));
}

export function recordKeyOf(table: TableConfig): string[] {
  return table.recordKey ?? [...table.scrollKey];
}

/** The columns that name and place a row: its record key and its shard keys, each once. */
export function keyColumnsOf(table: TableConfig): string[] {
  return [...new Set([...recordKeyOf(table), ...table.shardKeys])];
}

/** A map key for record key values, equal whether the values came as numbers or as text. */
export function recordKeyId(values: readonly unknown[]): string {
  return JSON.stringify(values.map(String));
}

/** Each bound table's binding group (its first table's name) and its rank in it; unbound tables are absent. */
export function bindingsOf(config: Pick<MigrationConfig, 'bindings'>): Map<string, { readonly group: string; readonly rank: number }> {
  const out = new Map<string, { group: string; rank: number }>();
  for (const group of config.bindings) group.forEach((name, rank) => out.set(name, { group: group[0]!, rank }));
  return out;
}
