/** Which source binlog readers load a capture worker ahead of their first read (`cdc.worker`). */
import { beforeEach, describe, expect, it, vi } from 'vitest';

const { prewarm } = vi.hoisted(() => ({ prewarm: vi.fn(() => Promise.resolve()) }));
vi.mock('../../lambdas/app/capture-pipeline.js', async (load) => ({ ...(await load<typeof import('../../lambdas/app/capture-pipeline.js')>()), prewarmCaptureWorker: prewarm }));

import { sideReaderServerId, sourceBinlogReader } from '../../lambdas/app/capture.js';
import { parseConfig } from '../../lambdas/core/config.js';

const config = (worker: boolean) =>
  parseConfig({
    migrationId: 'm1',
    source: { database: 'src' },
    target: { databases: 2, databasePattern: 'order_db_{db}' },
    tables: [{ name: 'order_info', scrollKey: 'id', shardKeys: ['order_no'], targetTable: 'order_info_{table}', tablesPerDb: 2 }],
    cdc: { enabled: true, serverId: 77, worker },
  });

describe('sourceBinlogReader and the capture worker', () => {
  beforeEach(() => prewarm.mockClear());

  it.each([
    ['capture’s reader, cdc.worker on', true, undefined, 1],
    ['capture’s reader, cdc.worker off', false, undefined, 0],
    ['a reader beside capture (the cut-over’s check), cdc.worker on', true, 'side', 0],
    ['a reader beside capture, cdc.worker off', false, 'side', 0],
  ] as const)('%s: loads a worker %i time(s)', (_name, worker, side, loads) => {
    const c = config(worker);
    if (side) sourceBinlogReader(c, 0, sideReaderServerId(c));
    else sourceBinlogReader(c);
    expect(prewarm).toHaveBeenCalledTimes(loads);
  });
});
