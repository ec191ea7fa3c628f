/**
 * Before a local run: leases left by a local process that is gone (killed mid-copy, say) are released at once,
 * with a line saying so; a lease another process still holds is waited out, with a countdown, since the next
 * run could not take it before it expires anyway.
 */
import { captureServers, serverNames } from '../lambdas/core/source-layout.js';
import { hostname } from 'node:os';
import { parseLocalOwner, type LocalOwner } from '../lambdas/core/lease-owner.js';
import type { MigrationConfig } from '../lambdas/core/config.js';
import type { StateStore } from '../lambdas/adapters/state-store.js';
import { sleep } from '../lambdas/core/time.js';

/** Whether a process of this host is alive (signal 0: EPERM means it exists under another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** What to do about a lease held by `owner`: take it over (its process is gone), wait it out, or leave it to this process. */
export function leaseVerdict(owner: string | undefined, here: LocalOwner, alive: (pid: number) => boolean = processAlive): 'take-over' | 'wait' | 'own-process' {
  const o = parseLocalOwner(owner);
  if (o && o.host === here.host && o.pid === here.pid) return 'own-process';
  if (o && o.host === here.host && !alive(o.pid)) return 'take-over';
  return 'wait';
}

/**
 * Releases the unexpired leases of dead local processes (segments of every table, and capture), then waits
 * until every other unexpired lease has expired, printing a countdown through `log` every `tickMs`.
 */
export async function reclaimLeases(store: StateStore, config: MigrationConfig, log: (line: string) => void, opts: { now?: () => number; tickMs?: number } = {}): Promise<void> {
  const now = opts.now ?? Date.now;
  const here: LocalOwner = { host: hostname(), pid: process.pid };
  const id = config.migrationId;
  let waitUntil = 0;
  const consider = async (what: string, owner: string | undefined, expiry: number | undefined, release: () => Promise<void>) => {
    if (!owner || expiry === undefined || expiry < now()) return;
    const verdict = leaseVerdict(owner, here);
    if (verdict === 'take-over') {
      await release();
      log(`${what}: its lease was held by ${owner}, a process of this host that is gone; taken over now`);
    } else if (verdict === 'wait') {
      waitUntil = Math.max(waitUntil, expiry);
      log(`${what}: leased by ${owner} until ${new Date(expiry).toISOString()}`);
    }
  };
  for (const table of config.tables)
    for (const cp of await store.segments(id, table.name))
      await consider(`segment ${cp.table}#${cp.segment}`, cp.leaseOwner, cp.leaseExpiry, () => store.release(id, cp, cp.leaseOwner!));
  const names = serverNames(config.source);
  for (const server of captureServers(config)) {
    const capture = await store.getCapture(id, server);
    const what = server === 0 ? 'capture' : `capture of ${names[server]!}`;
    if (capture) await consider(what, capture.leaseOwner, capture.leaseExpiry, () => store.releaseCapture(id, capture, capture.leaseOwner!, undefined, server));
  }
  while (now() < waitUntil) {
    log(`waiting ${Math.ceil((waitUntil - now()) / 1000)} s for leases held by other processes to expire`);
    await sleep(Math.min(opts.tickMs ?? 5000, waitUntil - now()));
  }
}
