/**
 * Per-environment deployment settings: `config/<env>.json`, validated by zod when the CDK app synthesizes
 * (`cdk synth -c env=<env>`), errors naming the field at fault. Together with the migration config it names,
 * they become the ReshardStack's props (`stackPropsFor`), so `bin/app.ts` and the tests build the same stack.
 *
 * Never passwords: the migration config's connections name a `passwordEnv`, and `secrets` maps each such
 * name to a Secrets Manager secret that the database-reaching Lambdas read at cold start.
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { formatIssues, type ConnectionConfig, type MigrationConfig } from '../lambdas/core/config.js';
import { captureServers, sourceServers, sourceUnits } from '../lambdas/core/source-layout.js';
import { reverseConfig } from '../lambdas/core/reverse.js';
import { ConfigError } from '../lambdas/core/errors.js';
import { envVarName } from '../lambdas/core/runtime-env.js';
import { parseConfigText } from '../lambdas/app/load-config.js';
import { HANDLERS, type HandlerName, type ReshardStackProps } from './reshard-stack.js';
import { ENDPOINT_MODES } from './endpoints.js';
import { LOG_RETENTION_DAYS } from './log-groups.js';

const handlerName = z.enum(Object.keys(HANDLERS) as [HandlerName, ...HandlerName[]]);
const positiveInt = (max: number) => z.number().int().min(1).max(max);

export const environmentSchema = z
  .object({
    /** The AWS account the stack deploys to. */
    account: z.string().regex(/^\d{12}$/, 'must be a 12-digit AWS account id'),
    region: z.string().regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'must be an AWS region such as eu-west-1'),
    /** The migration config: a file bundled with the Lambdas, and optionally an SSM parameter read at cold start instead. */
    migrationConfig: z
      .object({
        /** JSON or YAML, relative to the project root; validated at synth time. */
        file: z.string().min(1),
        /** Lambdas read this parameter (String or SecureString) instead; it must carry the same migrationId. */
        ssmParameter: z
          .string()
          .regex(/^\/[A-Za-z0-9_.\-/]{1,1010}$/, 'must be a parameter name starting with / (letters, digits, _ . - /)')
          .optional(),
        /** The customer-managed KMS key of a SecureString `ssmParameter`: the functions may decrypt with it through SSM only. */
        ssmKmsKey: z
          .string()
          .regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/, 'must be the ARN of a KMS key (arn:aws:kms:<region>:<account>:key/<key id>; not an alias)')
          .optional(),
      })
      .strict()
      .refine((m) => !m.ssmKmsKey || m.ssmParameter, { path: ['ssmKmsKey'], message: 'needs ssmParameter: the key decrypts that parameter' }),
    /** The VPC of the databases: the functions that reach them run in its private subnets. Omit to use Lambda's own network (dev). */
    network: z
      .object({
        vpcId: z.string().regex(/^vpc-([0-9a-f]{8}|[0-9a-f]{17})$/, 'must be a VPC id (vpc- and 8 or 17 hex digits)'),
        privateSubnetIds: z.array(z.string().regex(/^subnet-([0-9a-f]{8}|[0-9a-f]{17})$/, 'must be a subnet id (subnet- and 8 or 17 hex digits)')).min(1),
        securityGroupId: z.string().regex(/^sg-([0-9a-f]{8}|[0-9a-f]{17})$/, 'must be a security group id (sg- and 8 or 17 hex digits)'),
        /**
         * The functions' route to DynamoDB, SQS, Secrets Manager and SSM: `create` the VPC endpoints in this
         * stack, use `existing` ones (or a NAT), or `none` (synth warns: the subnets need a NAT route). @default 'create'
         */
        endpoints: z.enum(ENDPOINT_MODES).default('create'),
        /** Route tables of the private subnets, for the DynamoDB gateway endpoint. Required with endpoints `create`, else refused. */
        routeTableIds: z.array(z.string().regex(/^rtb-([0-9a-f]{8}|[0-9a-f]{17})$/, 'must be a route table id (rtb- and 8 or 17 hex digits)')).min(1).optional(),
      })
      .strict()
      .superRefine((n, ctx) => {
        if (n.endpoints === 'create' && n.routeTableIds === undefined)
          ctx.addIssue({
            code: 'custom',
            path: ['routeTableIds'],
            message: "required when network.endpoints is 'create' (the default): the route tables of privateSubnetIds, where the DynamoDB gateway endpoint adds its route; or set network.endpoints to 'existing' or 'none'",
          });
        if (n.endpoints !== 'create' && n.routeTableIds !== undefined)
          ctx.addIssue({ code: 'custom', path: ['routeTableIds'], message: `only used when network.endpoints is 'create' (it is '${n.endpoints}'): remove it` });
      })
      .optional(),
    /** `passwordEnv` name of a connection → the complete ARN of the Secrets Manager secret holding that password. */
    secrets: z
      .record(
        envVarName,
        z
          .string()
          .regex(
            /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/,
            'must be the complete ARN of a Secrets Manager secret (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>)',
          ),
      )
      .default({}),
    /**
     * Customer-managed KMS keys that encrypt those secrets: the database-reaching functions may decrypt with
     * them through Secrets Manager only (secrets under the AWS-managed key need nothing here).
     */
    secretsKmsKeys: z
      .array(z.string().regex(/^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/, 'must be the ARN of a KMS key (arn:aws:kms:<region>:<account>:key/<key id>; not an alias)'))
      .default([]),
    concurrency: z
      .object({
        /** Segments copied at once (the CopySegments Map's MaxConcurrency). @default the migration config's copy.concurrency */
        mapMaxConcurrency: positiveInt(10_000).optional(),
        /** Apply invocations at once (event source maximum concurrency, at least 2). @default the migration config's cdc.applyConcurrency (at least 2) */
        applyMaxConcurrency: z.number().int().min(2).max(1000).optional(),
        /** Reserved concurrency per function. */
        reserved: z.partialRecord(handlerName, z.number().int().min(0).max(10_000)).default({}),
      })
      .strict()
      .prefault({}),
    batchSizes: z
      .object({
        /** Change messages per apply invocation (a FIFO event source allows at most 10). */
        apply: z.number().int().min(1).max(10).default(10),
        /** Overrides the migration config's copy.pageSize (rows per keyset page and checkpoint) for this environment. */
        copyPage: positiveInt(100_000).optional(),
      })
      .strict()
      .prefault({}),
    alarms: z
      .object({
        /** Subscribed to a new alarm topic. */
        email: z.email().optional(),
        /** Notify this existing SNS topic instead of creating one. */
        topicArn: z
          .string()
          .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/, 'must be an SNS topic ARN')
          .optional(),
        lambdaErrors: z.number().int().min(0).default(0),
        lambdaThrottles: z.number().int().min(0).default(0),
        dlqMessages: z.number().int().min(0).default(0),
        cdcLagSeconds: z.number().positive().default(300),
        cdcLagMinutes: positiveInt(1440).default(10),
        dirtyRows: z.number().int().min(0).default(0),
        /** One copy-stalled evaluation period (the alarm needs two in a row); must exceed a copy-batch call's time budget. */
        copyStalledMinutes: positiveInt(720).default(30),
        /** One verify-stalled evaluation period (the alarm needs two in a row); must exceed a verify-batch call. */
        verifyStalledMinutes: positiveInt(720).default(30),
        /** Minutes without a successful capture run before the heartbeat alarm fires (with cdc.enabled). */
        captureHeartbeatMinutes: positiveInt(1440).default(10),
        /** Change messages apply may report failed in 5 minutes without an alarm. */
        applyRecordFailures: z.number().int().min(0).default(0),
        /** Throttled state table reads + writes in 5 minutes without an alarm. */
        stateTableThrottles: z.number().int().min(0).default(0),
      })
      .strict()
      .refine((a) => a.email !== undefined || a.topicArn !== undefined, { message: 'name an e-mail or a topicArn: alarms must reach someone' }),
    /**
     * `max_connections` of the source servers and of the target servers: synth refuses a deployment whose
     * functions could open more than 90% of it at once (`connectionBudget`). Unchecked when absent.
     */
    maxConnections: z.object({ source: positiveInt(1_000_000).optional(), target: positiveInt(1_000_000).optional() }).strict().default({}),
    /** X-Ray tracing of the functions and the state machine. */
    tracing: z.boolean().default(false),
    /** Every database connection of the migration config must set `tls` (on in the staging and prod files). */
    requireTls: z.boolean().default(false),
    /** Failed segment child executions the CopySegments Map tolerates, in percent (0: any failed child fails the Map). */
    toleratedFailurePercentage: z.number().min(0).max(100).default(0),
    /** Retain the state table, the change queue and DLQ, and the log groups on stack deletion; deletion protection on the table. @default true in prod, else false */
    protectState: z.boolean().optional(),
    /** Days the functions' and the state machine's logs are kept: a retention CloudWatch Logs accepts. */
    logRetentionDays: z
      .number()
      .refine((d) => LOG_RETENTION_DAYS.includes(d), { message: `must be a CloudWatch Logs retention in days: ${LOG_RETENTION_DAYS.join(', ')}` })
      .default(30),
  })
  .strict();

export type EnvironmentConfig = z.output<typeof environmentSchema>;

export interface Environment {
  readonly name: string;
  /** `Reshard-<name>`: two environments can live in one account. */
  readonly stackName: string;
  readonly settings: EnvironmentConfig;
  /** The migration config, validated, with this environment's overrides applied. */
  readonly migration: MigrationConfig;
  /** With custom routing: the routing module's absolute path (`routing.module`, relative to the project root), bundled with the Lambdas. */
  readonly routingModule?: string;
}

function stackNameOf(envName: string): string {
  return `Reshard-${envName}`;
}

export function checkEnvName(envName: string): string {
  if (!/^[a-z][a-z0-9-]{0,20}$/.test(envName)) throw new ConfigError(`-c env=${envName}: use a short lowercase name (letters, digits, -)`);
  return envName;
}

/** Validates an environment's settings (already parsed JSON). Throws ConfigError naming each field at fault. */
export function parseEnvironment(raw: unknown, origin: string): EnvironmentConfig {
  const r = environmentSchema.safeParse(raw);
  if (!r.success) throw new ConfigError(`${origin} is invalid`, formatIssues(r.error));
  return r.data;
}

/** Of Step Functions' 256 KiB execution state, what the plan's Map items may take (the rest: input, table reports). */
const MAP_ITEMS_MAX_BYTES = 200 * 1024;

/**
 * The plan's Map items for every segment of every table, as they travel in the execution state (the plan
 * handler's `segments`: `{migrationId, table, segment}` each). Their JSON size, in bytes.
 */
export function mapItemsBytes(config: Pick<MigrationConfig, 'migrationId' | 'tables' | 'copy' | 'source'>, segments = config.copy.segments): number {
  let bytes = 2; // [ ]
  let items = 0;
  for (const t of config.tables) {
    // A sharded source: segments per physical table, each item naming its table.
    const units = sourceUnits(config.source, t);
    for (const u of units)
      for (let s = 0; s < segments; s++, items++)
        bytes += Buffer.byteLength(JSON.stringify({ migrationId: config.migrationId, table: t.name, segment: u.index * segments + s, ...(units.length > 1 ? { source: u.id } : {}) }));
  }
  return bytes + Math.max(0, items - 1); // the commas
}

/** The most segments per table whose Map items fit. */
function maxSegmentsFor(config: Pick<MigrationConfig, 'migrationId' | 'tables' | 'copy' | 'source'>): number {
  let lo = 1;
  let hi = config.copy.segments;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (mapItemsBytes(config, mid) <= MAP_ITEMS_MAX_BYTES) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Checks the settings against the migration config they deploy and applies the environment's overrides.
 * Throws ConfigError naming the fields at fault (`origin` is the environment file).
 */
export function bindMigration(settings: EnvironmentConfig, config: MigrationConfig, origin: string): MigrationConfig {
  const issues: string[] = [];
  const connections: [string, ConnectionConfig][] = [
    ...(config.source.connections ? config.source.connections.map((c, i): [string, ConnectionConfig] => [`source.connections.${i}`, c]) : [['source', config.source] as [string, ConnectionConfig]]),
    ['target.connection', config.target.connection],
    ...(config.target.connections ?? []).map((c, i): [string, ConnectionConfig] => [`target.connections.${i}`, c]),
    ...(config.throttle.replica ? [['throttle.replica', config.throttle.replica] as [string, ConnectionConfig]] : []),
  ];
  const used = new Set<string>();
  for (const [path, c] of connections) {
    if (settings.requireTls && !c.tls)
      issues.push(`${settings.migrationConfig.file}: ${path}.tls: ${origin} requires TLS on every database connection (requireTls): set tls, e.g. {ca: rds} for RDS and Aurora`);
    if (c.password !== undefined) issues.push(`${settings.migrationConfig.file}: ${path}.password: a deployed config takes passwords from Secrets Manager: set ${path}.passwordEnv and map it in ${origin} secrets`);
    if (c.passwordEnv !== undefined) {
      used.add(c.passwordEnv);
      if (!(c.passwordEnv in settings.secrets)) issues.push(`secrets.${c.passwordEnv}: missing: ${settings.migrationConfig.file} ${path}.passwordEnv names it`);
    }
  }
  for (const name of Object.keys(settings.secrets))
    if (!used.has(name)) issues.push(`secrets.${name}: no connection of ${settings.migrationConfig.file} has passwordEnv ${name}`);
  if (settings.secretsKmsKeys.length && !Object.keys(settings.secrets).length) issues.push('secretsKmsKeys: there are no secrets for these keys to decrypt');

  const copy = { ...config.copy, ...(settings.batchSizes.copyPage !== undefined ? { pageSize: settings.batchSizes.copyPage } : {}) };
  // A copy-batch call reports RowsCopied when it returns, up to copy.timeBudgetSeconds (+ up to a minute of retry backoff) after it started.
  if (settings.alarms.copyStalledMinutes * 60 < copy.timeBudgetSeconds + 120)
    issues.push(
      `alarms.copyStalledMinutes: ${settings.alarms.copyStalledMinutes} is too short for copy.timeBudgetSeconds ${copy.timeBudgetSeconds} of ${settings.migrationConfig.file}: use at least ${Math.ceil((copy.timeBudgetSeconds + 120) / 60)}`,
    );
  // A verify-batch call reports RowsVerified when it returns: at most its batch in progress (60 s + two CDC
  // settle waits) after verify.timeBudgetSeconds, and never after its 15-minute Lambda timeout.
  const verifyCallSeconds = Math.min(config.verify.timeBudgetSeconds + 60 + 2 * config.verify.settleSeconds, 900);
  if (config.verify.enabled && settings.alarms.verifyStalledMinutes * 60 < verifyCallSeconds + 120)
    issues.push(
      `alarms.verifyStalledMinutes: ${settings.alarms.verifyStalledMinutes} is too short for a verify-batch call of ${settings.migrationConfig.file} (up to ${verifyCallSeconds} s): use at least ${Math.ceil((verifyCallSeconds + 120) / 60)}`,
    );
  // A capture run publishes its heartbeat when it ends: up to cdc.captureBudgetSeconds (+ its commit) after it starts, one a minute.
  if (config.cdc.enabled && settings.alarms.captureHeartbeatMinutes * 60 < config.cdc.captureBudgetSeconds + 120)
    issues.push(
      `alarms.captureHeartbeatMinutes: ${settings.alarms.captureHeartbeatMinutes} is too short for cdc.captureBudgetSeconds ${config.cdc.captureBudgetSeconds} of ${settings.migrationConfig.file}: use at least ${Math.ceil((config.cdc.captureBudgetSeconds + 120) / 60)}`,
    );
  const items = mapItemsBytes(config);
  if (items > MAP_ITEMS_MAX_BYTES)
    issues.push(
      `${settings.migrationConfig.file}: copy.segments: ${config.copy.segments} segments × ${config.tables.reduce((a, t) => a + sourceUnits(config.source, t).length, 0)} physical source table(s) make Map items of ≈ ${Math.ceil(items / 1024)} KiB in the execution state, over the ${MAP_ITEMS_MAX_BYTES / 1024} KiB kept for them of Step Functions' 256 KiB: use at most ${maxSegmentsFor(config)} segments`,
    );
  const mapConcurrency = settings.concurrency.mapMaxConcurrency ?? copy.concurrency;
  const applyConcurrency = settings.concurrency.applyMaxConcurrency ?? Math.max(2, config.cdc.applyConcurrency);
  const reserved = settings.concurrency.reserved;
  if (reserved['copy-batch'] !== undefined && reserved['copy-batch'] < mapConcurrency)
    issues.push(`concurrency.reserved.copy-batch: ${reserved['copy-batch']} is below the Map's concurrency ${mapConcurrency}: copy-batch calls would be throttled`);
  const captures = config.cdc.enabled ? captureServers(config).length + (config.cutover.reverse ? captureServers(reverseConfig(config)).length : 0) : 0;
  if (reserved.capture !== undefined && reserved.capture < captures)
    issues.push(`concurrency.reserved.capture: ${reserved.capture} is below the ${captures} captures scheduled every minute (one per source server${config.cutover.reverse ? ' and per target server, for reverse replication' : ''}): they would be throttled`);
  if (reserved.apply !== undefined && reserved.apply < applyConcurrency)
    issues.push(`concurrency.reserved.apply: ${reserved.apply} is below the apply maximum concurrency ${applyConcurrency}: the event source would be throttled`);
  for (const side of ['source', 'target'] as const) {
    const max = settings.maxConnections[side];
    if (max === undefined) continue;
    const budget = connectionBudget(config, side, mapConcurrency, applyConcurrency);
    if (budget.total > 0.9 * max)
      issues.push(
        `maxConnections.${side}: the functions can open up to ${budget.total} connections to one ${side} server (${budget.terms}), over 90% of its max_connections ${max}: ` +
          `lower the Map's or apply's concurrency or the ${side} poolSize, or connect through RDS Proxy`,
      );
  }
  if (issues.length) throw new ConfigError(`${origin} does not fit ${settings.migrationConfig.file}`, issues);
  return { ...config, copy };
}

/**
 * The most database connections the functions can hold on one source (or target) server at once: each warm
 * container keeps a pool of `poolSize` per server it talks to. Copy and verification run as many containers
 * as the Map's concurrency (one stage at a time), apply as many as its event source's, capture one per
 * source server (its pool, the binlog connection and zongji's own), plan or finalize one.
 */
export function connectionBudget(config: MigrationConfig, side: 'source' | 'target', mapConcurrency: number, applyConcurrency: number): { total: number; terms: string } {
  const pools = side === 'source' ? sourceServers(config.source) : [config.target.connection, ...(config.target.connections ?? [])];
  const pool = Math.max(...pools.map((c) => c.poolSize));
  const terms: [string, number][] = [
    [`copy or verify ${mapConcurrency} × ${pool}`, mapConcurrency * pool],
    [`apply ${applyConcurrency} × ${pool}`, config.cdc.enabled ? applyConcurrency * pool : 0],
    [`plan or finalize ${pool}`, pool],
    ...(side === 'source' && config.cdc.enabled ? [[`capture ${pool} + 2`, pool + 2] as [string, number]] : []),
  ];
  const used = terms.filter(([, n]) => n > 0);
  return { total: used.reduce((a, [, n]) => a + n, 0), terms: used.map(([t]) => t).join(' + ') };
}

/** Reads and validates `config/<envName>.json` and the migration config it names (paths relative to `root`). */
export async function loadEnvironment(envName: string, root: string): Promise<Environment> {
  const name = checkEnvName(envName);
  const origin = `config/${name}.json`;
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(join(root, origin), 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read ${origin}: ${(err as Error).message}`);
  }
  const settings = parseEnvironment(raw, origin);
  /** A path from the configs: absolute, or relative to the project root. */
  const underRoot = (path: string) => (isAbsolute(path) ? path : join(root, path));
  const file = underRoot(settings.migrationConfig.file);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${origin}: migrationConfig.file: cannot read ${settings.migrationConfig.file}: ${(err as Error).message}`);
  }
  const migration = bindMigration(settings, parseConfigText(text, settings.migrationConfig.file), origin);
  let routingModule: string | undefined;
  if (migration.routing.algorithm === 'custom') {
    routingModule = underRoot(migration.routing.module!);
    if (!existsSync(routingModule)) throw new ConfigError(`${origin} does not fit ${settings.migrationConfig.file}`, [`${settings.migrationConfig.file}: routing.module: ${migration.routing.module} not found (paths are relative to the project root)`]);
  }
  return { name, stackName: stackNameOf(name), settings, migration, ...(routingModule ? { routingModule } : {}) };
}

/** The ReshardStack props of an environment. */
export function stackPropsFor(env: Environment): ReshardStackProps {
  const s = env.settings;
  const m = env.migration;
  const protect = s.protectState ?? env.name === 'prod';
  return {
    stackName: env.stackName,
    env: { account: s.account, region: s.region },
    description: `reshard ${m.migrationId} (${env.name})`,
    migrationConfigJson: JSON.stringify(m),
    ...(env.routingModule ? { routingModule: env.routingModule } : {}),
    maxConcurrency: s.concurrency.mapMaxConcurrency ?? m.copy.concurrency,
    retainState: protect,
    // Stable per environment: after a destroy that retained it, `cdk import` adopts it again (docs/operations.md).
    stateTableName: `reshard-${env.name}-state`,
    logRetention: s.logRetentionDays,
    deletionProtection: protect,
    ...(s.network ? { network: s.network } : {}),
    secrets: s.secrets,
    ...(s.secretsKmsKeys.length ? { secretsKmsKeys: s.secretsKmsKeys } : {}),
    ...(s.migrationConfig.ssmParameter ? { configParameterName: s.migrationConfig.ssmParameter } : {}),
    ...(s.migrationConfig.ssmKmsKey ? { configParameterKmsKey: s.migrationConfig.ssmKmsKey } : {}),
    tracing: s.tracing,
    reservedConcurrency: s.concurrency.reserved,
    cdc: {
      maxReceiveCount: m.cdc.maxReceiveCount,
      batchSize: s.batchSizes.apply,
      maxConcurrency: s.concurrency.applyMaxConcurrency ?? Math.max(2, m.cdc.applyConcurrency),
      // A scheduled capture per source server holding migrated tables.
      sourceServers: captureServers(m),
      // With reverse replication: a scheduled capture per target server too (idle until the switch).
      ...(m.cutover.reverse ? { reverseServers: captureServers(reverseConfig(m)) } : {}),
    },
    toleratedFailurePercentage: s.toleratedFailurePercentage,
    monitoring: {
      ...(s.alarms.email ? { alarmEmail: s.alarms.email } : {}),
      ...(s.alarms.topicArn ? { alarmTopicArn: s.alarms.topicArn } : {}),
      thresholds: {
        lambdaErrors: s.alarms.lambdaErrors,
        lambdaThrottles: s.alarms.lambdaThrottles,
        dlqMessages: s.alarms.dlqMessages,
        cdcLagSeconds: s.alarms.cdcLagSeconds,
        cdcLagMinutes: s.alarms.cdcLagMinutes,
        dirtyRows: s.alarms.dirtyRows,
        copyStalledMinutes: s.alarms.copyStalledMinutes,
        verifyStalledMinutes: s.alarms.verifyStalledMinutes,
        captureHeartbeatMinutes: s.alarms.captureHeartbeatMinutes,
        applyRecordFailures: s.alarms.applyRecordFailures,
        stateTableThrottles: s.alarms.stateTableThrottles,
      },
    },
  };
}
