/** dbError: how a mysql2 error becomes one of ours (what Step Functions retries, and what it names). */
import { describe, expect, it } from 'vitest';
import { dbError } from '../../lambdas/adapters/mysql/pool.js';
import { AccessDeniedError, ConfigError, ReshardError, SchemaError, TransientError } from '../../lambdas/core/errors.js';

const mysqlError = (code: string | undefined, message: string) => Object.assign(new Error(message), code ? { code } : {});

describe('dbError', () => {
  it.each([
    ['ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:3399', TransientError],
    ['PROTOCOL_CONNECTION_LOST', 'Connection lost: The server closed the connection.', TransientError],
    ['ER_LOCK_DEADLOCK', 'Deadlock found when trying to get lock', TransientError],
    ['ER_LOCK_WAIT_TIMEOUT', 'Lock wait timeout exceeded', TransientError],
    ['ER_SERVER_SHUTDOWN', 'Server shutdown in progress', TransientError],
    [undefined, "Can't add new command when connection is in closed state", TransientError],
    ['ER_ACCESS_DENIED_ERROR', "Access denied for user 'x'@'localhost'", ConfigError],
    ['ER_NO_SUCH_TABLE', "Table 'a.b' doesn't exist", SchemaError],
    ['ER_PARSE_ERROR', 'You have an error in your SQL syntax', ReshardError],
    [undefined, 'something else', ReshardError],
  ] as const)('%s (%s) becomes %s, naming where', (code, message, type) => {
    const e = dbError(mysqlError(code, message), 'reading db.t');
    expect(e).toBeInstanceOf(type);
    if (type === ReshardError) expect(e).not.toBeInstanceOf(TransientError);
    expect(e.message.startsWith(`reading db.t: ${code ? `${code} ` : ''}${message}`)).toBe(true);
  });

  it('passes our own errors through', () => {
    const ours = new AccessDeniedError('refused');
    expect(dbError(ours, 'anywhere')).toBe(ours);
  });
});
