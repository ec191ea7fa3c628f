/** Binlog helpers for tests: every change of some tables from a position (a test's capture), and capture's commits. */
import { readChanges } from '../../lambdas/adapters/binlog/reader.js';
import type { BinlogConnection } from '../../lambdas/adapters/binlog/stream.js';
import type { ChangeEvent } from '../../lambdas/core/events/model.js';
import type { BinlogPosition } from '../../lambdas/core/position.js';
import type { StateStore } from '../../lambdas/adapters/state-store.js';

/** Reads every change of some tables from a binlog position until the server has nothing more. */
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

/** Records when each capture checkpoint is committed (ms) until `restore` puts the store's own method back. */
export function recordCommits(store: StateStore): { readonly commits: number[]; restore: () => void } {
  const commits: number[] = [];
  const commit = store.commitCapture.bind(store);
  store.commitCapture = async (...a: Parameters<typeof commit>) => {
    commits.push(Date.now());
    return commit(...a);
  };
  return { commits, restore: () => void (store.commitCapture = commit) };
}
