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
 * Follows the event groups a binlog reader takes, from a seed position: a group counts as read once it ends
 * (its commit, or for a standalone group such as DDL its statement) or a next group begins.
 */
export class GtidTracker {
  private readonly done: Map<number, Gtid>;
  private open: (Gtid & { readonly standalone: boolean }) | undefined;
  /** A copy of `done` while it has not changed since. */
  private copy: GtidPosition | undefined;

  constructor(seed: GtidPosition) {
    this.done = new Map(seed);
  }

  /** The groups read so far (not the open one), as a position that later groups leave unchanged. */
  get snapshot(): GtidPosition {
    return (this.copy ??= new Map(this.done));
  }

  /** A group begins. */
  begin(g: Gtid, standalone: boolean): void {
    this.end();
    this.open = { ...g, standalone };
  }

  /** A commit (`Xid`, `COMMIT`/`ROLLBACK`) ends the open group. */
  end(): void {
    if (this.open) {
      this.done.set(this.open.domain, { domain: this.open.domain, server: this.open.server, seq: this.open.seq });
      this.copy = undefined;
    }
    this.open = undefined;
  }

  /** The position once the statement now being read ends (a standalone group's DDL: the position after it). */
  afterStatement(): GtidPosition {
    if (!this.open?.standalone) return this.snapshot;
    return new Map(this.done).set(this.open.domain, { domain: this.open.domain, server: this.open.server, seq: this.open.seq });
  }

  /** A statement ended: it ends a standalone group. */
  statement(): void {
    if (this.open?.standalone) this.end();
  }

}
