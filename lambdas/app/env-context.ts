/**
 * Builds the AppContext of a deployed Lambda from its environment, once per container (see
 * `core/runtime-env.ts` for the variables):
 * - the migration config: the SSM parameter RESHARD_CONFIG_PARAMETER if set, else the bundled file
 *   RESHARD_CONFIG (relative to the code root), else RESHARD_CONFIG_JSON (inline);
 * - database passwords: RESHARD_SECRETS maps each `passwordEnv` name to a Secrets Manager secret; every
 *   secret is read once, before any pool exists, and put into that variable (where `passwordOf` reads it);
 * - RESHARD_STATE_TABLE, the DynamoDB state table; RESHARD_QUEUE_URL, the change queue (capture sends to it;
 *   verification and finalize read its depth to wait for CDC).
 * Pools are created once and reused while warm. A failed cold start is not cached: the next call retries.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { ConfigError, LeaseHeldError } from '../core/errors.js';
import { formatIssues } from '../core/config.js';
import { RuntimeEnv, secretsMapSchema, type SecretsMap } from '../core/runtime-env.js';
import { parseConfigText } from './load-config.js';
import { buildContext, buildReverseContext } from './build-context.js';
import { dynamoClient, StateStore } from '../adapters/state-store.js';
import { SecretReader, secretsClient, type SecretLogin } from '../adapters/secrets.js';
import { setCredentialRefresher } from '../adapters/mysql/pool.js';
import { readParameter, ssmClient } from '../adapters/parameters.js';
import type { MigrationConfig } from '../core/config.js';
import type { AppContext } from './context.js';
import { ChangeQueue, sqsClient } from '../adapters/sqs.js';
import { waitForCdc } from './settle.js';
import { captureRun, sourceBinlogReader } from './capture.js';
import type { CutoverDeps } from './cutover.js';

let cached: Promise<AppContext> | undefined;

export function envContext(): Promise<AppContext> {
  cached ??= (async () => {
    const env = process.env;
    const config = await loadDeployedConfig(env);
    const secrets = parseSecretsMap(env[RuntimeEnv.secrets]);
    if (Object.keys(secrets).length) {
      const reader = new SecretReader(secretsClient());
      const load = () => loadSecrets(secrets, (id) => reader.login(id), env);
      await load();
      // A rotated password: a refused login reads the secrets again (the pools retry once with them).
      setCredentialRefresher(load);
    }
    const tableName = env[RuntimeEnv.stateTable];
    if (!tableName) throw new ConfigError(`set ${RuntimeEnv.stateTable} (DynamoDB state table name)`);
    const store = new StateStore(dynamoClient(), tableName);
    // Verification and finalize under live CDC wait for it to catch up (capture position + queue depth).
    const queue = config.cdc.enabled && env[RuntimeEnv.queueUrl] ? envChangeQueue(env) : undefined;
    const backlog = () => queue!.backlog();
    const ctx: AppContext = await buildContext({
      config,
      store,
      workerId: `lambda-${randomUUID().slice(0, 8)}`,
      ...(queue ? { settle: () => waitForCdc(ctx, backlog, config.verify.settleSeconds * 1000) } : {}),
    });
    return ctx;
  })();
  cached.catch(() => (cached = undefined));
  return cached;
}

let reverseCached: Promise<AppContext> | undefined;

/**
 * The reverse migration's context (`cutover.reverse`: the new layout captured back to the old one), built from
 * the deployed config once per container, sharing the state table.
 */
export function envReverseContext(): Promise<AppContext> {
  reverseCached ??= (async () => {
    const forward = await envContext();
    if (!forward.config.cutover.reverse) throw new ConfigError(`${forward.config.migrationId} has no reverse replication: set cutover.reverse and redeploy`);
    return buildReverseContext(forward);
  })();
  reverseCached.catch(() => (reverseCached = undefined));
  return reverseCached;
}

let queueCached: ChangeQueue | undefined;

/** The change queue RESHARD_QUEUE_URL names, built once per container (capture sends to it; the settle wait reads its depth). */
export function envChangeQueue(env: NodeJS.ProcessEnv = process.env): ChangeQueue {
  const url = env[RuntimeEnv.queueUrl];
  if (!url) throw new ConfigError(`set ${RuntimeEnv.queueUrl} (the change queue)`);
  if (queueCached?.queueUrl !== url) queueCached = new ChangeQueue(sqsClient(), url);
  return queueCached;
}

async function loadDeployedConfig(env: NodeJS.ProcessEnv): Promise<MigrationConfig> {
  const parameter = env[RuntimeEnv.configParameter];
  const file = env[RuntimeEnv.configFile];
  const inline = env[RuntimeEnv.configJson];
  let config: MigrationConfig;
  if (parameter) config = parseConfigText(await readParameter(ssmClient(), parameter), `SSM parameter ${parameter}`);
  else if (file) {
    const path = isAbsolute(file) ? file : join(env.LAMBDA_TASK_ROOT ?? process.cwd(), file);
    config = parseConfigText(await readFile(path, 'utf8'), path);
  } else if (inline) config = parseConfigText(inline, RuntimeEnv.configJson);
  else throw new ConfigError(`set ${RuntimeEnv.configParameter}, ${RuntimeEnv.configFile} (config file path) or ${RuntimeEnv.configJson}`);
  checkDeployedMigration(config, env[RuntimeEnv.migrationId]);
  return withBundledRouter(config, env);
}

/** A custom routing rule deployed with the code (RESHARD_ROUTING_MODULE) is the one the config's `custom` routing loads. */
export function withBundledRouter(config: MigrationConfig, env: NodeJS.ProcessEnv): MigrationConfig {
  const bundled = env[RuntimeEnv.routingModule];
  if (config.routing.algorithm !== 'custom') return config;
  if (!bundled) throw new ConfigError(`routing.algorithm is custom but this deployment carries no routing module (${RuntimeEnv.routingModule}): redeploy with the config that names it`);
  const module = isAbsolute(bundled) ? bundled : join(env.LAMBDA_TASK_ROOT ?? process.cwd(), bundled);
  return { ...config, routing: { ...config.routing, module } };
}

/** The deployment's alarms and dashboard are keyed by the migrationId it was synthesized with. */
export function checkDeployedMigration(config: Pick<MigrationConfig, 'migrationId'>, expected: string | undefined): void {
  if (expected && config.migrationId !== expected)
    throw new ConfigError(`the migration config is for ${config.migrationId} but this deployment serves ${expected} (${RuntimeEnv.migrationId}): redeploy with the new config`);
}

/** Parses `RESHARD_SECRETS` (absent = no secrets). */
export function parseSecretsMap(text: string | undefined): SecretsMap {
  if (!text) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${RuntimeEnv.secrets} is not JSON: ${(err as Error).message}`);
  }
  const r = secretsMapSchema.safeParse(raw);
  if (!r.success) throw new ConfigError(`${RuntimeEnv.secrets} is invalid`, formatIssues(r.error));
  return r.data;
}

/**
 * Reads every secret (in parallel) and sets the variable each one is named by to its password, and
 * `<name>_USERNAME` to the user a secret names (`userOf`; removed when it names none).
 */
export async function loadSecrets(secrets: SecretsMap, read: (secretId: string) => Promise<string | SecretLogin>, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const entries = Object.entries(secrets);
  const values = await Promise.all(entries.map(([, secretId]) => read(secretId)));
  entries.forEach(([name], i) => {
    const v = values[i]!;
    const login = typeof v === 'string' ? { password: v } : v;
    env[name] = login.password;
    if (login.username) env[`${name}_USERNAME`] = login.username;
    else delete env[`${name}_USERNAME`];
  });
}

/**
 * What a deployed cut-over needs besides its context: the change queue's backlog, the DLQ's depth
 * (RESHARD_DLQ_URL), and capture runs of its own during the catch-up (the scheduled ones start once a minute):
 * of the reverse migration for a `rollback`.
 */
export function envCutoverDeps(env: NodeJS.ProcessEnv = process.env, rollback = false): CutoverDeps {
  const queue = envChangeQueue(env);
  const dlqUrl = env[RuntimeEnv.dlqUrl];
  if (!dlqUrl) throw new ConfigError(`set ${RuntimeEnv.dlqUrl} (the change queue's DLQ)`);
  return {
    backlog: () => queue.backlog(),
    dead: async () => (await queue.depth(dlqUrl)).visible,
    driveCapture: async (server, budgetMs) => {
      const ctx = await (rollback ? envReverseContext() : envContext());
      try {
        await captureRun(ctx, { queue, read: sourceBinlogReader(ctx.config, server) }, { owner: `${ctx.workerId}:cutover`, budgetMs, server });
      } catch (err) {
        // A scheduled run is reading this server: it goes on past the freeze's position by itself.
        if (!(err instanceof LeaseHeldError)) throw err;
      }
    },
  };
}
