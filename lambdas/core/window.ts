/**
 * The time window in Node: whether a row's time column value lies in `from <= value < to`, as the copy's
 * SQL predicate (`windowPredicates`) decides it. Pure.
 */
import { mysqlTime, type Window } from './sql.js';

/** MySQL time text with a DATE widened to midnight and the fraction's trailing zeros dropped, so text order is time order. */
function normal(text: string): string {
  const t = /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text} 00:00:00` : text;
  return t.includes('.') ? t.replace(/0+$/, '').replace(/\.$/, '') : t;
}

/**
 * Whether `value` (a DATETIME / TIMESTAMP / DATE as the binlog decoder and the reads give it: MySQL text, in
 * UTC for TIMESTAMP) lies in the window; NULL lies outside any window with a bound, as in SQL.
 */
export function inWindow(value: unknown, window: Window | undefined): boolean {
  if (!window || (!window.from && !window.to)) return true;
  if (value === null || value === undefined) return false;
  const text = value instanceof Date ? value.toISOString().replace('T', ' ').replace('Z', '') : typeof value === 'string' ? value : JSON.stringify(value);
  const v = normal(text);
  if (window.from && v < normal(mysqlTime(window.from))) return false;
  if (window.to && v >= normal(mysqlTime(window.to))) return false;
  return true;
}
