/**
 * The local state table is usable as soon as `ensureStateTable` returns: a new table is CREATING for a while
 * (dynalite's `createTableMs`), and reads and writes of a CREATING table fail with ResourceNotFoundException.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import dynalite from 'dynalite';
import { DescribeTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { ensureStateTable, LOCAL_AWS } from '../../local/emulators.js';

describe('ensureStateTable', () => {
  let server: Server;
  let client: DynamoDBClient;

  beforeAll(async () => {
    // A slow table creation, as dynalite's default (and AWS's) is: the race is then certain, not occasional.
    server = dynalite({ createTableMs: 300 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    client = new DynamoDBClient({ ...LOCAL_AWS, endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, maxAttempts: 1 });
  });
  afterAll(async () => {
    client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('returns once a new table is ACTIVE: the first write right after it succeeds', async () => {
    await ensureStateTable(client, 'state');
    expect((await client.send(new DescribeTableCommand({ TableName: 'state' }))).Table?.TableStatus).toBe('ACTIVE');
    await client.send(new PutItemCommand({ TableName: 'state', Item: { pk: { S: 'MIG#m' }, sk: { S: 'META' } } }));
  });

  it('returns at once for a table that exists', async () => {
    const t = Date.now();
    await ensureStateTable(client, 'state');
    expect(Date.now() - t).toBeLessThan(250);
  });
});
