/**
 * Builds the AppContext of a deployed Lambda from its environment, once per container:
 * RESHARD_CONFIG (path of the bundled JSON/YAML config) or RESHARD_CONFIG_JSON (inline),
 * RESHARD_STATE_TABLE (DynamoDB table name). Pools are created once and reused while warm.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../core/errors.js';
import { parseConfigText } from './load-config.js';
import { buildContext } from './build-context.js';
import { dynamoClient, StateStore } from '../adapters/state-store.js';
import type { AppContext } from './context.js';
import { ChangeQueue, sqsClient } from '../adapters/sqs.js';
import { waitForCdc } from './settle.js';

let cached: Promise<AppContext> | undefined;

export function envContext(): Promise<AppContext> {
  cached ??= (async () => {
    const inline = process.env.RESHARD_CONFIG_JSON;
    const path = process.env.RESHARD_CONFIG;
    if (!inline && !path) throw new ConfigError('set RESHARD_CONFIG (config file path) or RESHARD_CONFIG_JSON');
    const config = inline ? parseConfigText(inline, 'RESHARD_CONFIG_JSON') : parseConfigText(await readFile(path!, 'utf8'), path!);
    const tableName = process.env.RESHARD_STATE_TABLE;
    if (!tableName) throw new ConfigError('set RESHARD_STATE_TABLE (DynamoDB state table name)');
    const store = new StateStore(dynamoClient(), tableName);
    // Verification under live CDC rechecks a differing batch once CDC has caught up (needs the queue).
    const queueUrl = process.env.RESHARD_QUEUE_URL;
    let settle: (() => Promise<void>) | undefined;
    if (config.cdc.enabled && queueUrl) {
      const queue = new ChangeQueue(sqsClient(), queueUrl);
      const backlog = async () => {
        const d = await queue.depth();
        return d.visible + d.inFlight;
      };
      settle = () => waitForCdc({ config, source: ctx.source, store }, backlog, config.verify.settleSeconds * 1000);
    }
    const ctx = await buildContext({ config, store, workerId: `lambda-${randomUUID().slice(0, 8)}`, ...(settle ? { settle } : {}) });
    return ctx;
  })();
  cached.catch(() => (cached = undefined));
  return cached;
}
