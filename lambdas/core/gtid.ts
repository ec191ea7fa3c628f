/**
 * MariaDB GTID positions (`domain-server-seq`, one per replication domain, comma-separated): what capture has
 * read, kept beside its binlog position so that the same point can be found in another server's binlog
 * after a failover. Pure.
 */

/** One event group's GTID. */
export interface Gtid {
  readonly domain: number;
  readonly server: number;
  readonly seq: bigint;
}

/** A GTID position: per domain, the last event group read. */
export type GtidPosition = ReadonlyMap<number, Gtid>;

const GTID = /^(\d+)-(\d+)-(\d+)$/;

/** `0-1-1234,1-2-7` as a position; undefined when it is not one ('' is the empty position). */
export function parseGtidPosition(text: string): GtidPosition | undefined {
  const out = new Map<number, Gtid>();
  const trimmed = text.trim();
  if (trimmed === '') return out;
  for (const part of trimmed.split(',')) {
    const m = GTID.exec(part.trim());
    if (!m) return undefined;
    const domain = Number(m[1]);
    const server = Number(m[2]);
    if (!Number.isSafeInteger(domain) || domain > 0xffffffff || !Number.isSafeInteger(server) || server > 0xffffffff || out.has(domain)) return undefined;
    out.set(domain, { domain, server, seq: BigInt(m[3]!) });
  }
  return out;
}

/** The position as MariaDB writes it: by domain. */
export function formatGtidPosition(p: GtidPosition): string {
  return [...p.values()]
    .sort((a, b) => a.domain - b.domain)
    .map((g) => `${g.domain}-${g.server}-${g.seq}`)
    .join(',');
}

/** The event group `g` is in `p` (read already): its domain's last group has its sequence number or a later one. */
export function covers(p: GtidPosition, g: Pick<Gtid, 'domain' | 'seq'>): boolean {
  const last = p.get(g.domain);
  return last !== undefined && last.seq >= g.seq;
}

/** Every group of `p` is in `q`. */
export function coversAll(q: GtidPosition, p: GtidPosition): boolean {
  return [...p.values()].every((g) => covers(q, g));
}

/** The GTID of a `Gtid` event as `SHOW BINLOG EVENTS` writes its Info (`BEGIN GTID 0-1-6`, `GTID 0-1-2`, `XA START … GTID 0-1-8`). */
export function gtidOfEventInfo(info: string): Gtid | undefined {
  const m = /\bGTID (\d+)-(\d+)-(\d+)\b/.exec(info);
  return m ? { domain: Number(m[1]), server: Number(m[2]), seq: BigInt(m[3]!) } : undefined;
}

/**
 * The position of a `Gtid_list` event's Info (`[0-1-5,1-2-3]`, `[]`): what the binlog file holds before it.
 * The list has an entry per domain and server (`0-1-9,0-2-12` after a failover): per domain, the highest
 * sequence number counts.
 */
export function gtidListOfEventInfo(info: string): GtidPosition | undefined {
  const m = /^\[(.*)\]$/.exec(info.trim());
  if (!m) return undefined;
  const out = new Map<number, Gtid>();
  for (const part of m[1]!.split(',').filter((p) => p.trim() !== '')) {
    const one = parseGtidPosition(part);
    const g = one?.values().next().value;
    if (!g) return undefined;
    const seen = out.get(g.domain);
    if (!seen || seen.seq < g.seq) out.set(g.domain, g);
  }
  return out;
}

/**
 * The event group a binlog stream is in, from its `Gtid` events and the boundaries after them: says which group
 * a boundary ends — a commit (`Xid`, `COMMIT`/`ROLLBACK`) its group, any statement a standalone group (DDL) —
 * and which group a next `Gtid` event ends without a boundary seen.
 */
export class GroupTracker {
  private open: (Gtid & { readonly standalone: boolean }) | undefined;

  /** A group begins; returns the group it ends, if one was still open. */
  begin(g: Gtid, standalone: boolean): Gtid | undefined {
    const before = this.open;
    this.open = { ...g, standalone };
    return before && { domain: before.domain, server: before.server, seq: before.seq };
  }

  /** A boundary: `group` (a commit) or `statement`; returns the group it ends, if it ends one. */
  boundary(ends: 'group' | 'statement'): Gtid | undefined {
    const open = this.open;
    if (!open || (ends === 'statement' && !open.standalone)) return undefined;
    this.open = undefined;
    return { domain: open.domain, server: open.server, seq: open.seq };
  }

  /** The open group when it is standalone (a DDL statement being read ends it). */
  get standalone(): Gtid | undefined {
    const open = this.open;
    return open?.standalone ? { domain: open.domain, server: open.server, seq: open.seq } : undefined;
  }
}

/** The GTID position of a binlog reader: its seed and every event group ended since. */
export class GtidTracker {
  private readonly done: Map<number, Gtid>;
  private changes = 0;

  constructor(seed: GtidPosition) {
    this.done = new Map(seed);
  }

  /** How many groups ended so far: the position is the same while this is. */
  get version(): number {
    return this.changes;
  }

  /** A group ended. */
  ended(g: Gtid): void {
    this.done.set(g.domain, g);
    this.changes++;
  }

  /** The position now, as a copy later groups leave unchanged. */
  snapshot(): GtidPosition {
    return new Map(this.done);
  }

  /** The position once `g` ends too. */
  with(g: Gtid): GtidPosition {
    return new Map(this.done).set(g.domain, g);
  }
}
