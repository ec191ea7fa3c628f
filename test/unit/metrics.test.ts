/**
 * Custom metrics (Powertools Metrics, EMF on stdout): published in Lambda only, with the names and the
 * dimensions the alarms read, never printed by local runs and tests, and never failing a handler.
 */
import { captureStdout } from '../helpers/emf.js';
import { describe, expect, it, vi } from 'vitest';
import { metrics, metricsEnabled, publishMetrics } from '../../lambdas/handlers/common.js';
import { makeCopyBatchHandler } from '../../lambdas/handlers/copy-batch.js';
import { Metric, METRICS_NAMESPACE, METRICS_SERVICE, MIGRATION_DIMENSION } from '../../lambdas/core/metric-names.js';
import type { AppContext } from '../../lambdas/app/context.js';

interface Emf {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  [key: string]: unknown;
}

const out = captureStdout();
const emfLines = (): Emf[] => out.emf<Emf>();

/** A context in which a copy-batch attempt fails at once (its table is not configured). */
const fakeContext = (): AppContext =>
  ({
    config: { migrationId: 'orders-2026', tables: [], copy: { timeBudgetSeconds: 600 } },
  }) as unknown as AppContext;
const copyEvent = { migrationId: 'orders-2026', table: 'order_info', segment: 2 };

describe('metricsEnabled', () => {
  it.each([
    [{}, false],
    [{ AWS_LAMBDA_FUNCTION_NAME: 'Reshard-prod-copy' }, true],
    [{ AWS_LAMBDA_FUNCTION_NAME: 'Reshard-prod-copy', POWERTOOLS_METRICS_DISABLED: 'true' }, false],
    [{ AWS_LAMBDA_FUNCTION_NAME: 'Reshard-prod-copy', POWERTOOLS_METRICS_DISABLED: 'false' }, true],
  ])('%j → %s', (env, expected) => {
    expect(metricsEnabled(env as NodeJS.ProcessEnv)).toBe(expected);
  });
});

describe('publishMetrics', () => {
  it('prints nothing outside Lambda (local runs and tests call the handlers in-process)', () => {
    vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', undefined);
    publishMetrics('orders-2026', [[Metric.rowsCopied, 5000]]);
    expect(out.lines).toEqual([]);
  });

  it('in Lambda, prints one EMF record in namespace Reshard with the service and migrationId dimensions', () => {
    vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', 'Reshard-prod-capture');
    publishMetrics('orders-2026', [
      [Metric.eventsCaptured, 1200],
      [Metric.captureLagSeconds, 2.5],
    ]);
    const [emf, ...more] = emfLines();
    expect(more).toEqual([]);
    const directive = emf!._aws.CloudWatchMetrics[0]!;
    expect(directive.Namespace).toBe(METRICS_NAMESPACE);
    expect(directive.Dimensions).toEqual([['service', MIGRATION_DIMENSION]]);
    expect(directive.Metrics).toEqual(
      expect.arrayContaining([
        { Name: 'EventsCaptured', Unit: 'Count' },
        { Name: 'CaptureLagSeconds', Unit: 'Seconds' },
      ]),
    );
    expect(emf).toMatchObject({ service: METRICS_SERVICE, migrationId: 'orders-2026', EventsCaptured: 1200, CaptureLagSeconds: 2.5 });
  });

  it('publishes zero values (an alarm tells "ran, copied nothing" from "did not run")', () => {
    vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', 'Reshard-prod-copy');
    publishMetrics('orders-2026', [[Metric.rowsCopied, 0]]);
    expect(emfLines()[0]).toMatchObject({ RowsCopied: 0 });
  });

  it('never throws, and the next invocation publishes cleanly', () => {
    vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', 'Reshard-prod-copy');
    const add = vi.spyOn(metrics, 'addMetric').mockImplementationOnce(() => {
      throw new Error('EMF broke');
    });
    expect(() => publishMetrics('orders-2026', [[Metric.rowsCopied, 10]])).not.toThrow();
    expect(emfLines()).toEqual([]);
    add.mockRestore();
    publishMetrics('orders-2026', [[Metric.rowsCopied, 7]]);
    expect(emfLines()).toEqual([expect.objectContaining({ RowsCopied: 7, migrationId: 'orders-2026' })]);
  });
});

describe('handlers publish their metrics', () => {
  it('copy-batch counts a failed attempt (in Lambda) and still throws it', async () => {
    vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', 'Reshard-prod-copy-batch');
    await expect(makeCopyBatchHandler(async () => fakeContext())(copyEvent)).rejects.toThrow(/table order_info is not in the migration config/);
    expect(emfLines()).toEqual([expect.objectContaining({ SegmentsFailed: 1, migrationId: 'orders-2026' })]);
  });

  it('copy-batch prints nothing locally', async () => {
    vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', undefined);
    await expect(makeCopyBatchHandler(async () => fakeContext())(copyEvent)).rejects.toThrow();
    expect(out.lines).toEqual([]);
  });

  it('a metrics failure does not replace the handler\'s own error', async () => {
    vi.stubEnv('AWS_LAMBDA_FUNCTION_NAME', 'Reshard-prod-copy-batch');
    vi.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => {
      throw new Error('stdout closed');
    });
    await expect(makeCopyBatchHandler(async () => fakeContext())(copyEvent)).rejects.toThrow(/not in the migration config/);
  });
});
