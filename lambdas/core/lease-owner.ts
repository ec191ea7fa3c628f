/**
 * Lease owners of the local runtime name their host and process (`local@<host>:<pid>:<id>`, then whatever
 * the caller appends after another `:`), so a later run on the same host can tell a lease of a process that
 * is gone from one that is still at work.
 */
export interface LocalOwner {
  readonly host: string;
  readonly pid: number;
}

/** The owner id of a local worker: `local@<host>:<pid>:<id>`. */
export function localOwnerId(owner: LocalOwner, id: string): string {
  return `local@${owner.host}:${owner.pid}:${id}`;
}

/** The host and process of a local owner id (with or without a suffix), or undefined for any other owner. */
export function parseLocalOwner(owner: string | undefined): LocalOwner | undefined {
  const m = /^local@([^:]+):(\d+):/.exec(owner ?? '');
  if (!m) return undefined;
  const pid = Number(m[2]);
  return Number.isSafeInteger(pid) && pid > 0 ? { host: m[1]!, pid } : undefined;
}
