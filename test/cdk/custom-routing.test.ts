/**
 * A custom routing rule deployed to AWS: `cdk synth` bundles the module named by the migration config next to
 * every handler, and the handlers load that copy (RESHARD_ROUTING_MODULE) — the config's own path names a
 * file on the machine that deployed it. Bundling runs for real here (esbuild, ~15 s).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadEnvironment, stackPropsFor } from '../../lib/environment.js';
import { ReshardStack } from '../../lib/reshard-stack.js';
import { withBundledRouter } from '../../lambdas/app/env-context.js';
import { loadRouter } from '../../lambdas/app/build-context.js';
import { ConfigError } from '../../lambdas/core/errors.js';
import { BUNDLED_ROUTER_FILE, RuntimeEnv } from '../../lambdas/core/runtime-env.js';
import type { RouteFn } from '../../lambdas/core/routing.js';
import { handlerFunctions, ROOT } from '../helpers/cdk.js';

/** Temporary directories (project roots, the cloud assembly with its bundles): removed after the suite. */
const made: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A project root holding config/test.json, its migration config with custom routing, and the module. */
function projectWith(module: string | undefined): string {
  const root = tempDir('reshard-custom-routing-');
  mkdirSync(join(root, 'config', 'migrations'), { recursive: true });
  const settings = JSON.parse(readFileSync(join(ROOT, 'config', 'dev.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(root, 'config', 'test.json'), JSON.stringify({ ...settings, migrationConfig: { file: 'config/migrations/orders.test.yaml' } }));
  const migration = readFileSync(join(ROOT, 'config', 'migrations', 'orders.dev.yaml'), 'utf8').replace('  algorithm: spread', '  algorithm: custom\n  module: routers/last4.mjs');
  writeFileSync(join(root, 'config', 'migrations', 'orders.test.yaml'), migration);
  if (module) {
    mkdirSync(join(root, 'routers'));
    copyFileSync(module, join(root, 'routers', 'last4.mjs'));
  }
  return root;
}

const layout = { databases: 8, tablesPerDb: 8 };
const keys = ['202606010000001234', '77', '9999', '100000000000000000000123'];

describe('custom routing on AWS', () => {
  it('bundles the module with every handler; the handlers route with the bundled copy exactly as the original', async () => {
    const root = projectWith(join(ROOT, 'examples', 'last3-router.mjs'));
    const env = await loadEnvironment('test', root);
    expect(env.routingModule).toBe(join(root, 'routers', 'last4.mjs'));

    const app = new App({ outdir: tempDir('reshard-cdk-custom-') });
    const stack = new ReshardStack(app, env.stackName, stackPropsFor(env));
    const template = Template.fromStack(stack);
    const fns = handlerFunctions(template);
    expect(fns.size).toBe(7);
    for (const [, f] of fns) expect((f.props.Environment as { Variables: Record<string, unknown> }).Variables[RuntimeEnv.routingModule]).toBe(BUNDLED_ROUTER_FILE);

    // Every handler's code directory holds the bundled router beside its index.mjs.
    const outdir = app.synth().directory;
    const codeDirs = readdirSync(outdir)
      .filter((d) => d.startsWith('asset.'))
      .map((d) => join(outdir, d))
      .filter((d) => existsSync(join(d, 'index.mjs')));
    expect(codeDirs).toHaveLength(7);
    for (const d of codeDirs) expect(existsSync(join(d, BUNDLED_ROUTER_FILE))).toBe(true);

    // As a handler loads it: the config's module replaced by the bundled file under the code root.
    const taskRoot = codeDirs[0]!;
    const config = withBundledRouter(env.migration, { [RuntimeEnv.routingModule]: BUNDLED_ROUTER_FILE, LAMBDA_TASK_ROOT: taskRoot });
    expect(config.routing.module).toBe(join(taskRoot, BUNDLED_ROUTER_FILE));
    const bundled = await loadRouter(config);
    const original = ((await import(pathToFileURL(join(ROOT, 'examples', 'last3-router.mjs')).href)) as { route: RouteFn }).route;
    for (const k of keys) expect(bundled(k, layout)).toEqual(original(k, layout));
  });

  it('refuses, at synth, a routing module that is not there, naming the file and field', async () => {
    const root = projectWith(undefined);
    await expect(loadEnvironment('test', root)).rejects.toThrow(/routing\.module: routers\/last4\.mjs not found/);
  });

  it('a handler whose config asks for custom routing but carries no module says so', async () => {
    const root = projectWith(join(ROOT, 'examples', 'last3-router.mjs'));
    const env = await loadEnvironment('test', root);
    expect(() => withBundledRouter(env.migration, {})).toThrow(ConfigError);
    expect(() => withBundledRouter(env.migration, {})).toThrow(/RESHARD_ROUTING_MODULE/);
    // Built-in routing needs nothing.
    const spread = { ...env.migration, routing: { algorithm: 'spread' as const } };
    expect(withBundledRouter(spread, {})).toBe(spread);
  });
});
