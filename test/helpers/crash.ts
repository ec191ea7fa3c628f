/**
 * Simulated `kill -9` of a local "process" (one LocalRuntime): at the chosen point the execution is
 * aborted and every later step of that process (hook, DynamoDB request) hangs forever, so nothing it
 * would have done afterwards (error recording, lease release, the next page) ever happens.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CopyHooks } from '../../lambdas/app/context.js';

export type KillPoint = 'midPageWrite' | 'beforeCommit' | 'commitNotSent' | 'commitLost' | 'afterCommit';
export const KILL_POINTS: readonly KillPoint[] = ['midPageWrite', 'beforeCommit', 'commitNotSent', 'commitLost', 'afterCommit'];

const hang = () => new Promise<never>(() => undefined);

export class DoomedProcess {
  dead = false;
  private seen = 0;
  abort: () => void = () => undefined;

  constructor(
    readonly point: KillPoint,
    /** Die at the n-th occurrence of the point. */
    readonly n: number,
    private readonly observe: CopyHooks = {},
  ) {}

  private hit(point: KillPoint): boolean {
    if (this.dead) return true;
    if (point !== this.point) return false;
    if (++this.seen < this.n) return false;
    this.dead = true;
    this.abort();
    return true;
  }

  readonly hooks: CopyHooks = {
    beforePage: async (t, s, c) => {
      if (this.dead) return hang();
      await this.observe.beforePage?.(t, s, c);
    },
    afterTableWrite: async (t, s, written, total) => {
      if (this.dead || (written < total && this.hit('midPageWrite'))) return hang();
    },
    beforeCommit: async () => {
      if (this.hit('beforeCommit')) return hang();
    },
    afterCommit: async () => {
      if (this.hit('afterCommit')) return hang();
    },
  };

  /** Installs the DynamoDB side: dead processes send nothing; a commit can die before or after reaching DynamoDB. */
  readonly onDocumentClient = (doc: DynamoDBDocumentClient) => {
    doc.middlewareStack.add(
      (next) => async (args) => {
        if (this.dead) return hang();
        const input = args.input as { UpdateExpression?: string };
        const isCommit = input.UpdateExpression?.includes('pagesDone = pagesDone + :one') ?? false;
        if (isCommit && this.hit('commitNotSent')) return hang();
        const out = await next(args);
        if (isCommit && this.hit('commitLost')) return hang();
        return out;
      },
      { step: 'initialize', name: 'simulatedKill' },
    );
  };
}

/**
 * What the operating system does to a killed process's database sessions: every connection of these pools is
 * closed from the client side, so the servers roll back its open transactions and release their locks.
 */
export function severConnections(pools: Iterable<object>): void {
  for (const p of new Set(pools)) {
    const core = (p as { pool?: { _allConnections?: { toArray(): { destroy(): void }[] } } }).pool;
    for (const c of core?._allConnections?.toArray() ?? []) c.destroy();
  }
}
