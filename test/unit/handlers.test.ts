/** What the handlers share: the time budget of a call, and settings read only through RuntimeEnv. */
import { describe, expect, it } from 'vitest';
import { timeBudgetMs } from '../../lambdas/handlers/common.js';
import { envChangeQueue } from '../../lambdas/app/env-context.js';
import { ConfigError } from '../../lambdas/core/errors.js';
import { RuntimeEnv } from '../../lambdas/core/runtime-env.js';

const invocation = (remainingMs: number) => ({ awsRequestId: 'r', getRemainingTimeInMillis: () => remainingMs });

describe('timeBudgetMs', () => {
  it.each([
    // configured s, remaining ms (none: direct call), safety ms, budget ms
    [600, undefined, 30_000, 600_000],
    [600, 900_000, 30_000, 600_000],
    [600, 300_000, 30_000, 270_000],
    [600, 30_500, 30_000, 1000],
    [600, 10_000, 30_000, 1000],
    [0, undefined, 30_000, 1000],
  ])('configured %d s, %s ms left, %d ms kept back → %d ms', (configured, remaining, safety, budget) => {
    expect(timeBudgetMs(configured, remaining === undefined ? undefined : invocation(remaining), safety)).toBe(budget);
  });
});

describe('envChangeQueue', () => {
  it('names the variable when the queue URL is not set', () => {
    expect(() => envChangeQueue({})).toThrow(ConfigError);
    expect(() => envChangeQueue({})).toThrow(RuntimeEnv.queueUrl);
  });

  it('builds the queue once per URL', () => {
    const a = envChangeQueue({ [RuntimeEnv.queueUrl]: 'https://sqs.example/1/a.fifo' });
    expect(envChangeQueue({ [RuntimeEnv.queueUrl]: 'https://sqs.example/1/a.fifo' })).toBe(a);
    expect(a.queueUrl).toBe('https://sqs.example/1/a.fifo');
    expect(envChangeQueue({ [RuntimeEnv.queueUrl]: 'https://sqs.example/1/b.fifo' }).queueUrl).toBe('https://sqs.example/1/b.fifo');
  });
});
