/** `database.table`: how a physical table is named in messages, maps and verification results. */
export function idOf(t: { readonly database: string; readonly tableName: string }): string {
  return `${t.database}.${t.tableName}`;
}
