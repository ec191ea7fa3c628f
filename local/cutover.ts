/**
 * The local cut-over's operator: a postponed cut-over (or one waiting for the writes-stopped confirmation)
 * waits while a flag file in the state directory exists, as gh-ost's postpone flag file does;
 * `reshard cutover --go` (or deleting the file) lets it go on.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ReshardError } from '../lambdas/core/errors.js';
import { CutoverFailedError, type OperatorWait } from '../lambdas/app/cutover.js';
import { sleep } from '../lambdas/core/time.js';
import { processAlive } from './leases.js';
import type { CutoverState } from '../lambdas/core/model.js';
import type { StateStore } from '../lambdas/adapters/state-store.js';

/** The flag file of a migration's state directory. */
export function waitFlag(stateDir: string): string {
  return join(stateDir, 'cutover.waiting');
}

/** Writes the flag, says how to go on, and resolves once the flag is gone. */
export async function operatorWait(flag: string, wait: OperatorWait, configPath: string, log: (line: string) => void = console.log, pollMs = 200, verb: 'cutover' | 'rollback' = 'cutover'): Promise<void> {
  mkdirSync(join(flag, '..'), { recursive: true });
  writeFileSync(flag, JSON.stringify({ pid: process.pid, wait, since: new Date().toISOString() }) + '\n');
  log(
    wait === 'go'
      ? `ready to switch: nothing is frozen, CDC keeps following the binlog. To switch: reshard ${verb} --go -c ${configPath} (or delete ${flag})`
      : `waiting for the application to stop writing to the ${verb === 'rollback' ? 'new layout' : 'source tables'}. Once it has: reshard ${verb} --go -c ${configPath} (or delete ${flag})`,
  );
  while (existsSync(flag)) await sleep(pollMs);
  log(wait === 'go' ? 'go received: switching' : 'writes stopped: switching');
}

/** `reshard cutover --go`: removes the flag a waiting local cut-over watches. */
export function goLocal(stateDir: string): string {
  const flag = waitFlag(stateDir);
  if (!existsSync(flag)) throw new ReshardError(`no local cut-over waits in ${stateDir} (start one with reshard cutover; a deployed one: --go --stack <name>)`);
  const { pid, wait } = JSON.parse(readFileSync(flag, 'utf8')) as { pid: number; wait: OperatorWait };
  rmSync(flag, { force: true });
  if (!processAlive(pid)) throw new ReshardError(`the cut-over that waited in ${stateDir} (pid ${pid}) is gone; its flag was removed: start a new one with reshard cutover`);
  return wait === 'go' ? `go sent to the cut-over ready to switch (pid ${pid})` : `told the cut-over (pid ${pid}) that writes stopped`;
}

/**
 * The error a failed local Cutover execution reports: the task's own (a refusal with its reasons), found in
 * the execution error's causes; for an execution that ended in its Fail state (CutoverFailed, reached only
 * after UnfreezeAfterFailure), the switch's error; else the execution error itself.
 */
export function cutoverError(err: unknown): unknown {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof ReshardError) return e;
    if (e.constructor.name === 'FailStateError') {
      const m = /^(cut-over|rollback) failed(?: after the freeze)?, and the (source|new layout) was thawed: /.exec(e.message);
      const why = m ? e.message.slice(m[0].length) : e.message;
      return new CutoverFailedError(`${m?.[1] ?? 'cut-over'} failed, and the ${m?.[2] ?? 'source'} was thawed: ${e.name === 'Error' ? '' : `${e.name}: `}${why}`, { cause: err });
    }
  }
  return err;
}

/** What a running cut-over (or rollback) is doing, by status; `frozen` is the side it freezes. */
function stepText(status: CutoverState['status'], frozen: 'the source' | 'the new layout'): string | undefined {
  switch (status) {
    case 'READY':
      return 'precheck passed; ready to switch';
    case 'AWAITING_WRITES_STOPPED':
      return 'precheck passed; waiting for the application to stop writing';
    case 'FROZEN':
      return `freezing writes to ${frozen === 'the source' ? 'the source tables' : 'the new layout'} (once in-flight transactions end)`;
    case 'CATCHING_UP':
      return 'frozen; capture and apply catching up to the positions of the freeze';
    case 'CHECKING':
      return 'caught up; checking every table while frozen';
    case 'DONE':
      return 'switched and thawed';
    case 'FAILED':
      return `failed; ${frozen} was thawed`;
    default:
      return undefined;
  }
}

/** Prints each step of a running cut-over as its `CUTOVER` item changes (polled every `pollMs`); `stop` ends it. */
export function followCutover(store: Pick<StateStore, 'getCutover'>, migrationId: string, log: (line: string) => void = console.log, pollMs = 250, verb: 'cutover' | 'rollback' = 'cutover'): { stop(): Promise<void> } {
  let last = '';
  let stopped = false;
  const started = Date.now();
  const poll = async () => {
    const state = await store.getCutover(migrationId).catch(() => undefined);
    if (state && state.updatedAt !== undefined && state.updatedAt >= started && state.status !== last) {
      last = state.status;
      const text = stepText(state.status, verb === 'rollback' ? 'the new layout' : 'the source');
      if (text) log(`${verb === 'rollback' ? 'rollback' : 'cut-over'}: ${text}`);
    }
  };
  const loop = (async () => {
    while (!stopped) {
      await poll();
      await sleep(pollMs);
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      // The last step (a quick switch may end between two polls).
      await poll();
    },
  };
}
