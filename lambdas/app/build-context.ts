/** Creates pools and the router for a config (shared by the Lambda environment and the local runtime). */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import type { MigrationConfig } from '../core/config.js';
import { ConfigError } from '../core/errors.js';
import { builtInRouters, type RouteFn } from '../core/routing.js';
import { createPool, type Pool } from '../adapters/mysql/pool.js';
import { TargetWriter } from '../adapters/mysql/target.js';
import type { StateStore } from '../adapters/state-store.js';
import type { AppContext, CopyHooks } from './context.js';
import { sourceServers } from '../core/source-layout.js';
import { reverseConfig } from '../core/reverse.js';

export async function loadRouter(config: MigrationConfig): Promise<RouteFn> {
  const { algorithm, module } = config.routing;
  if (algorithm !== 'custom') return builtInRouters[algorithm];
  let mod: { route?: unknown; default?: unknown };
  try {
    mod = (await import(pathToFileURL(resolve(module!)).href)) as { route?: unknown; default?: unknown };
  } catch (err) {
    throw new ConfigError(`routing.module: cannot load ${module}: ${(err as Error).message}`);
  }
  const fn = mod.route ?? mod.default;
  if (typeof fn !== 'function') throw new ConfigError(`routing.module: ${module} must export a function route(shardKey, layout)`);
  return fn as RouteFn;
}

export async function buildContext(args: { config: MigrationConfig; store: StateStore; workerId: string; hooks?: CopyHooks; settle?: () => Promise<void>; reverse?: boolean }): Promise<AppContext> {
  const { config } = args;
  const sources = sourceServers(config.source).map((c) => createPool(c, undefined));
  const shared = createPool(config.target.connection);
  const targets: Pool[] = [];
  const byConn = new Map<string, Pool>();
  for (let i = 0; i < config.target.databases; i++) {
    const c = config.target.connections?.[i];
    if (!c) {
      targets.push(shared);
      continue;
    }
    const id = `${c.host}:${c.port}:${c.user}`;
    let p = byConn.get(id);
    if (!p) byConn.set(id, (p = createPool(c)));
    targets.push(p);
  }
  const replica = config.throttle.replica ? createPool({ ...config.throttle.replica, poolSize: 1 }) : undefined;
  return {
    config,
    source: sources[0]!,
    sources,
    targets,
    ...(replica ? { replica } : {}),
    writer: new TargetWriter(targets, config.copy.writeMethod),
    store: args.store,
    routeFn: await loadRouter(config),
    hooks: args.hooks ?? {},
    workerId: args.workerId,
    ...(args.settle ? { settle: args.settle } : {}),
    ...(args.reverse ? { reverse: true } : {}),
  };
}

/** The reverse migration's context beside `forward` (`cutover.reverse`): pools of its own, the same store and worker id. */
export function buildReverseContext(forward: Pick<AppContext, 'config' | 'store' | 'workerId'>): Promise<AppContext> {
  return buildContext({ config: reverseConfig(forward.config), store: forward.store, workerId: forward.workerId, reverse: true });
}

/** Closes every pool of a context. */
export async function closeContext(ctx: AppContext): Promise<void> {
  await Promise.all([...new Set([...ctx.sources, ...ctx.targets, ...(ctx.replica ? [ctx.replica] : [])])].map((p) => p.end().catch(() => undefined)));
}
