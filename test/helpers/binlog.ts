/** Reads every change of some tables from a binlog position until the server has nothing more (a test's capture). */
import { readChanges } from '../../lambdas/adapters/binlog/reader.js';
import type { BinlogConnection } from '../../lambdas/adapters/binlog/stream.js';
import type { ChangeEvent } from '../../lambdas/core/events/model.js';
import type { BinlogPosition } from '../../lambdas/core/position.js';

export async function readAllChanges(args: { connection: BinlogConnection; from: BinlogPosition; database: string; tables: string[] }): Promise<ChangeEvent[]> {
  const events: ChangeEvent[] = [];
  await readChanges({
    ...args,
    serverId: 90_000 + Math.floor(Math.random() * 1_000_000),
    idleMs: 2000,
    deadlineMs: Date.now() + 15_000,
    onBatch: (batch) => {
      events.push(...batch);
      return Promise.resolve();
    },
  });
  return events;
}
