/**
 * The Lambda bundles carry the patched dependencies (patches/, applied by patch-package on npm ci): a bundle
 * built from unpatched node_modules (say `npm ci --ignore-scripts`) would break at run time, so this fails
 * first. Bundled with esbuild as the stack's NodejsFunction bundling does (ESM, node22, module main fields).
 */
import { describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { CAPTURE_HANDLERS, CAPTURE_WORKER, HANDLERS } from '../../lib/reshard-stack.js';
import { CAPTURE_WORKER_FILE } from '../../lambdas/core/runtime-env.js';
import { parseConfig } from '../../lambdas/core/config.js';
import { ordersConfig } from '../../local/seed.js';
import { ROOT } from '../helpers/cdk.js';

async function bundle(handler: keyof typeof HANDLERS | typeof CAPTURE_WORKER): Promise<string> {
  const out = await build({
    entryPoints: [join(ROOT, handler === CAPTURE_WORKER ? handler : HANDLERS[handler])],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    mainFields: ['module', 'main'],
    write: false,
    logLevel: 'silent',
    // As the stack's bundling: CommonJS dependencies (mysql2) get a require().
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  return out.outputFiles[0]!.text;
}

describe('Lambda bundles', () => {
  it("capture's bundle has zongji's patch: before-image columns skipped by their size", async () => {
    const code = await bundle('capture');
    expect(code).toContain('function skipMysqlValue(');
  });

  it.each(['copy-batch', 'apply', 'verify-batch'] as const)("%s's bundle has mysql2's patch: SQL text sent as bytes", async (handler) => {
    const code = await bundle(handler);
    expect(code).toContain('Buffer.isBuffer(this.query)');
  });

  it.each(['plan', 'copy-batch', 'capture', 'apply', 'verify-batch', 'finalize'] as const)("%s's bundle ships the RDS and RDS Proxy CA bundles (tls.ca)", async (handler) => {
    const code = await bundle(handler);
    // The global root of the RDS bundle, and the Amazon roots RDS Proxy's certificates chain to.
    expect((code.match(/-----BEGIN CERTIFICATE-----/g) ?? []).length).toBeGreaterThan(100);
    expect(code).toContain('proxyBundle');
  });

  it.each(CAPTURE_HANDLERS)("%s's bundle starts the capture worker from its own directory, where the stack bundles it", async (handler) => {
    const code = await bundle(handler);
    expect(code).toContain(CAPTURE_WORKER_FILE);
  });

  it('the capture worker bundle runs as a worker thread and reports a failed read as a typed error', async () => {
    const code = await bundle(CAPTURE_WORKER);
    expect(code).toContain('function skipMysqlValue(');
    const dir = mkdtempSync(join(tmpdir(), 'reshard-worker-bundle-'));
    try {
      const file = join(dir, CAPTURE_WORKER_FILE);
      writeFileSync(file, code);
      const worker = new Worker(pathToFileURL(file));
      try {
        const reply = new Promise<unknown>((resolve, reject) => {
          // It says when it has loaded, then answers the read.
          worker.on('message', (m: { kind: string }) => (m.kind === 'ready' ? undefined : resolve(m)));
          worker.once('error', reject);
        });
        // serverId 0 is refused before any connection is made.
        const read = { connection: { host: '127.0.0.1', port: 1, user: 'x' }, serverId: 0, from: { file: 'b.000001', position: 4 }, sources: [{ database: 'd', table: 't', as: 't' }], maxEvents: 1 };
        const config = parseConfig(ordersConfig({ migrationId: 'bundle', port: 1, sourceDb: 'd', targetPrefix: 't' }));
        worker.postMessage({ kind: 'read', read, pack: { config, reverse: false, dedupPrefix: '', sendEvents: 1, maxBufferMs: 1 }, ahead: 1 });
        expect(await reply).toMatchObject({ kind: 'error', error: { name: 'ConfigError', issues: [expect.stringMatching(/^serverId/)] } });
      } finally {
        await worker.terminate();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
