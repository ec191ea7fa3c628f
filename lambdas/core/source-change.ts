/**
 * A source endpoint that reaches another server than the one whose binlog position capture holds: what
 * capture and `reshard status` say about it, and what the operator can do. Pure.
 */
import type { BinlogPosition } from './position.js';
import type { SourceChange } from './model.js';
import { serverNames } from './source-layout.js';
import type { SourceConfig } from './config.js';

/** How `reshard capture-source accept` says where capture goes on from on the server reached now. */
export type AcceptAt =
  /** At the stored position: this server's binlog carries the old one's files (the same storage). */
  | { readonly keep: true }
  /** At this server's current position: the changes in between are not captured (verify with repair after). */
  | { readonly now: true }
  /** At a position of this server's binlog that the operator found. */
  | { readonly position: BinlogPosition }
  /** MariaDB: after this GTID position (`true`: the one stored with capture's position), found in this server's binlog. */
  | { readonly gtid: string | true };

const at = (p: BinlogPosition) => `${p.file}:${p.position}`;

/** The command that goes on (`--reverse` for reverse replication's capture of a target server). */
export function sourceChangeTodo(server: number, reverse = false): string {
  const cmd = `reshard capture-source accept --server ${server}${reverse ? ' --reverse' : ''}`;
  return (
    `on MariaDB, \`${cmd} --gtid\` finds where the changes after the held position continue in the binlog of the server reached now; ` +
    `or find it yourself and run \`${cmd} --at FILE:POS\`; ` +
    `\`${cmd} --keep\` if that server's binlog holds the old server's files (the same storage); ` +
    `or \`${cmd} --now\` and then \`reshard verify --repair\` (the changes in between are not captured)`
  );
}

/** Why capture of server `server` of `source` (the source servers, or with `reverse` the target servers) reads nothing, and what to do. */
export function sourceChangedText(source: SourceConfig, server: number, change: SourceChange, reverse = false): string {
  const name = serverNames(source)[server] ?? `#${server}`;
  const last =
    (change.gtid !== undefined ? ` Its GTID position is ${change.gtid}.` : '') +
    (change.lastEventAt !== undefined ? ` The last change capture sent before it was written at ${new Date(change.lastEventAt).toISOString()} (source time).` : '');
  return (
    `capture of ${reverse ? 'target' : 'source'} server #${server} (${name}) is stopped at ${at(change.at)}: that position is in the binlog of ${change.was}, ` +
    `but ${name} now reaches ${change.now} (a failover, or the endpoint moved), whose binlog at that position is another server's history.${last} ` +
    `To go on: ${sourceChangeTodo(server, reverse)}` +
    (change.notFollowed !== undefined ? ` (cdc.onSourceChange gtid could not go on: ${change.notFollowed})` : '')
  );
}

/** `--at FILE:POS` as a position; undefined when it is not one. */
export function parsePositionArg(text: string): BinlogPosition | undefined {
  const m = /^(.+):(\d+)$/.exec(text.trim());
  if (!m) return undefined;
  const position = Number(m[2]);
  return Number.isSafeInteger(position) && position >= 4 ? { file: m[1]!, position } : undefined;
}
