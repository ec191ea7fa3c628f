/** Every AWS SDK client gets connect and request timeouts; a server that never answers fails the call in time. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { AWS_CLIENT_TIMEOUTS, awsClientOptions, SQS_MAX_WAIT_SECONDS } from '../../lambdas/adapters/aws-client.js';
import { ChangeQueue, sqsClient } from '../../lambdas/adapters/sqs.js';
import { secretsClient } from '../../lambdas/adapters/secrets.js';
import { ssmClient } from '../../lambdas/adapters/parameters.js';
import { dynamoClient } from '../../lambdas/adapters/state-store.js';

/** The options the client's Node HTTP handler resolved (what it applies to every request). */
async function handlerOptions(client: { config: { requestHandler: unknown } }): Promise<Record<string, unknown>> {
  return (client.config.requestHandler as { configProvider: Promise<Record<string, unknown>> }).configProvider;
}

describe('awsClientOptions', () => {
  it('gives connect and request timeouts that throw', () => {
    expect(awsClientOptions()).toEqual({
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000, throwOnRequestTimeout: true, socketTimeout: 30_000 },
    });
    expect(awsClientOptions({ connectionTimeoutMs: 100, requestTimeoutMs: 200 }).requestHandler).toMatchObject({ connectionTimeout: 100, requestTimeout: 200 });
  });

  it('lets an SQS long poll finish before the request times out', () => {
    expect(AWS_CLIENT_TIMEOUTS.requestTimeoutMs).toBeGreaterThan(SQS_MAX_WAIT_SECONDS * 1000);
  });

  it.each([
    ['SQS', () => sqsClient({ region: 'eu-west-1' })],
    ['Secrets Manager', () => secretsClient({ region: 'eu-west-1' })],
    ['SSM', () => ssmClient({ region: 'eu-west-1' })],
    ['DynamoDB', () => dynamoClient({ region: 'eu-west-1' })],
  ])('the %s client is built with them', async (_name, build) => {
    const client = build();
    expect(await handlerOptions(client)).toMatchObject({ connectionTimeout: 5_000, requestTimeout: 30_000, throwOnRequestTimeout: true });
    client.destroy();
  });
});

describe('a call to a server that never answers', () => {
  let server: Server;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    server = createServer((s) => sockets.push(s)); // accepts, reads nothing, never replies
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('fails with a TimeoutError after the request timeout', async () => {
    const { port } = server.address() as AddressInfo;
    const client = sqsClient({
      ...awsClientOptions({ connectionTimeoutMs: 500, requestTimeoutMs: 300 }),
      endpoint: `http://127.0.0.1:${port}`,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    const started = Date.now();
    await expect(new ChangeQueue(client, `http://127.0.0.1:${port}/000000000000/changes.fifo`).depth()).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(Date.now() - started).toBeLessThan(5_000);
    client.destroy();
  });
});
