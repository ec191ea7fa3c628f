/**
 * The Lambda bundles carry the patched dependencies (patches/, applied by patch-package on npm ci): a bundle
 * built from unpatched node_modules (say `npm ci --ignore-scripts`) would break at run time, so this fails
 * first. Bundled with esbuild as the stack's NodejsFunction bundling does (ESM, node22, module main fields).
 */
import { describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { join } from 'node:path';
import { HANDLERS } from '../../lib/reshard-stack.js';
import { ROOT } from '../helpers/cdk.js';

async function bundle(handler: keyof typeof HANDLERS): Promise<string> {
  const out = await build({
    entryPoints: [join(ROOT, HANDLERS[handler])],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    mainFields: ['module', 'main'],
    write: false,
    logLevel: 'silent',
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
});
