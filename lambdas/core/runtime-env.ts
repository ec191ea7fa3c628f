/**
 * The environment variables a deployed Lambda reads (set by `lib/reshard-stack.ts`, read by
 * `lambdas/app/env-context.ts`): one list, so the stack and the runtime cannot drift apart.
 */
import { z } from 'zod';

export const RuntimeEnv = {
  /** Which handler this function runs (the local runtime binds Task states by it). */
  handler: 'RESHARD_HANDLER',
  /** DynamoDB state table name. */
  stateTable: 'RESHARD_STATE_TABLE',
  /** Path of the migration config bundled with the code (relative to the function's code root). */
  configFile: 'RESHARD_CONFIG',
  /** The migration config inline (JSON); local tools and tests. */
  configJson: 'RESHARD_CONFIG_JSON',
  /** SSM parameter holding the migration config: read at cold start instead of the bundled file. */
  configParameter: 'RESHARD_CONFIG_PARAMETER',
  /** The migration this deployment serves (its alarms and dashboard are keyed by it). */
  migrationId: 'RESHARD_MIGRATION_ID',
  /** JSON object: environment variable named by a connection's `passwordEnv` → Secrets Manager secret ARN. */
  secrets: 'RESHARD_SECRETS',
  /** The change queue URL: capture sends to it; verification and finalize read its depth to wait for CDC. */
  queueUrl: 'RESHARD_QUEUE_URL',
  /** The change queue's DLQ URL: the cut-over's precheck reads its depth. */
  dlqUrl: 'RESHARD_DLQ_URL',
  /**
   * A custom routing module bundled with the code (relative to the code root): replaces the config's
   * `routing.module`, which names the file on the machine that deployed it.
   */
  routingModule: 'RESHARD_ROUTING_MODULE',
} as const;

/** The bundled custom routing module's file name inside each function's code. */
export const BUNDLED_ROUTER_FILE = 'reshard-router.mjs';

/** The bundled config's file name inside each function's code. */
export const BUNDLED_CONFIG_FILE = 'reshard-config.json';

/** An environment variable name as `passwordEnv` allows it. */
export const envVarName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name (A-Z, 0-9, _)');

/** The `RESHARD_SECRETS` map. */
export const secretsMapSchema = z.record(envVarName, z.string().min(1));
export type SecretsMap = z.output<typeof secretsMapSchema>;

/** The capture worker thread's bundle (`lambdas/app/capture-worker.ts`), beside the entry of each function that captures. */
export const CAPTURE_WORKER_FILE = 'capture-worker.mjs';
