/** `database.table`: how a physical table is named in messages, maps and verification results. */
export function tableId(database: string, table: string): string {
  return `${database}.${table}`;
}

/** `tableId` of a table named as the router names targets (`TargetName`, `SourceTable`, a tombstone's target). */
export function idOf(t: { readonly database: string; readonly tableName: string }): string {
  return tableId(t.database, t.tableName);
}
