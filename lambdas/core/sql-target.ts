/**
 * SQL text of the target side's DDL and loads, pure (see `sql.ts` for the copy's and apply's statements).
 * Identifiers are escaped with `q`/`qt`; no statement here takes values.
 */
import { copyUpsertTail, q, qt, type CopyUpsertArgs } from './sql.js';

/** Rewrites a source `CREATE TABLE` for a target table: new name, IF NOT EXISTS, no AUTO_INCREMENT counter. */
export function targetDdl(createSql: string, database: string, table: string): string {
  return createSql
    .replace(/^CREATE TABLE `(?:[^`]|``)+`/, `CREATE TABLE IF NOT EXISTS ${qt(database, table)}`)
    .replace(/\s+AUTO_INCREMENT=\d+/, '');
}

export function createDatabaseSql(database: string): string {
  return `CREATE DATABASE IF NOT EXISTS ${q(database)} CHARACTER SET utf8mb4`;
}

/** LOAD DATA LOCAL of a `loadDataFile` (tab-separated values, `\N` for NULL) into `database.table`. */
export function loadValuesSql(database: string, table: string, columns: readonly string[]): string {
  return `LOAD DATA LOCAL INFILE 'reshard-page.tsv' INTO TABLE ${qt(database, table)} CHARACTER SET utf8mb4 FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' (${columns.map(q).join(', ')})`;
}

/** The session's temporary copy of a target table (`stage`, in the same database): dropped, then created empty. */
export function stageTableSql(database: string, table: string, stage: string): { drop: string; create: string } {
  const s = qt(database, stage);
  return { drop: `DROP TEMPORARY TABLE IF EXISTS ${s}`, create: `CREATE TEMPORARY TABLE ${s} LIKE ${qt(database, table)}` };
}

/** The copy's guarded upsert of every row of `stage` into the target table (`copyUpsertTail`, qualified). */
export function upsertFromStageSql(args: CopyUpsertArgs, stage: string): string {
  const cols = args.columns.map(q).join(', ');
  return `INSERT INTO ${qt(args.database, args.table)} (${cols}) SELECT ${cols} FROM ${qt(args.database, stage)}${copyUpsertTail(args, { qualified: true })}`;
}
