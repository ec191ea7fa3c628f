/**
 * TLS to the databases, on a MariaDB of its own that accepts only TLS connections (require_secure_transport,
 * as RDS parameter groups often set): without `tls` the error says to set it, an untrusted certificate says to
 * set `tls.caFile`, and with the CA the copy and the binlog capture run over TLS end to end.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RowDataPacket } from 'mysql2/promise';
import { LocalRuntime } from '../../local/runtime.js';
import { checkAll } from '../../local/checksum.js';
import { seedOrders } from '../../local/seed.js';
import { createPool, ping, poolOptions, tlsOptions } from '../../lambdas/adapters/mysql/pool.js';
import { currentPosition } from '../../lambdas/adapters/binlog/server.js';
import { connectionSchema, parseConfig, type ConnectionConfig } from '../../lambdas/core/config.js';
import { ConfigError } from '../../lambdas/core/errors.js';
import { ownMariaDb, testConfig, uniquePrefix } from '../helpers/db.js';
import { readAllChanges } from '../helpers/binlog.js';

/** A CA and a server certificate for 127.0.0.1 signed by it, in `dir`. */
function makeCertificates(dir: string): void {
  const openssl = (...args: string[]) => {
    const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args[0]}: ${r.stderr}`);
  };
  writeFileSync(join(dir, 'san.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=reshard test CA', '-keyout', 'ca-key.pem', '-out', 'ca.pem');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', 'server-key.pem', '-out', 'server.csr');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-days', '2', '-extfile', 'san.cnf', '-out', 'server.pem');
}

const { port, dir, pool: admin } = ownMariaDb('tls', 1000, {
  prepare: makeCertificates,
  args: (d) => [`--ssl-ca=${join(d, 'ca.pem')}`, `--ssl-cert=${join(d, 'server.pem')}`, `--ssl-key=${join(d, 'server-key.pem')}`],
});
const ca = join(dir, 'ca.pem');

const conn = (extra: Partial<ConnectionConfig> = {}): ConnectionConfig => connectionSchema.parse({ host: '127.0.0.1', port, user: 'root', password: '', poolSize: 2, connectTimeoutMs: 5000, ...extra });

// Only TLS from now on (the server was started open so that its start-up check could connect).
beforeAll(async () => {
  await admin().query('SET GLOBAL require_secure_transport = ON');
});

describe('TLS', () => {
  it('without tls, a TLS-only server is refused with an error that says to set tls', async () => {
    const pool = createPool(conn());
    try {
      const err = await ping(pool, `source 127.0.0.1:${port}`).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/accepts only TLS connections (also refuses a connection without tls|: set tls on this connection)/);
    } finally {
      await pool.end();
    }
  });

  /** Connecting with `tls` fails as a ConfigError that says the certificate is not trusted and names tls.caFile. */
  const expectUntrusted = async (tls: ConnectionConfig['tls']) => {
    const pool = createPool(conn({ tls }));
    try {
      const err = await ping(pool, 'source').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/certificate is not trusted: set tls\.caFile/);
    } finally {
      await pool.end();
    }
  };

  it("a certificate that Node's CAs do not trust is refused with an error that names tls.caFile", async () => {
    await expectUntrusted(true);
  });

  it('the RDS bundle shipped with reshard is a wrong CA for this server: refused, naming the setting', async () => {
    const rds = poolOptions(connectionSchema.parse({ host: 'db.example', tls: { ca: 'rds' } })).ssl as { ca: string[]; minVersion: string };
    expect(rds.ca.length).toBeGreaterThan(50); // the global and regional roots
    expect(rds.ca.every((c) => c.startsWith('-----BEGIN CERTIFICATE-----'))).toBe(true);
    expect(rds.minVersion).toBe('TLSv1.2');
    await expectUntrusted({ ca: 'rds', rejectUnauthorized: true, minVersion: 'TLSv1.2' });
  });

  it('minVersion TLSv1.3 connects with TLS 1.3 only; a CA shipped and a CA file together are refused', async () => {
    const pool = createPool(conn({ tls: { caFile: ca, rejectUnauthorized: true, minVersion: 'TLSv1.3' } }));
    try {
      const [[version]] = await pool.query<RowDataPacket[]>("SHOW SESSION STATUS LIKE 'Ssl_version'");
      expect(version!.Value).toBe('TLSv1.3');
    } finally {
      await pool.end();
    }
    expect(() => connectionSchema.parse({ tls: { ca: 'rds', caFile: ca } })).toThrow(/give either ca .* or caFile, not both/);
  });

  it('a caFile that cannot be read is a ConfigError naming the file', () => {
    expect(() => poolOptions(conn({ tls: { caFile: join(dir, 'missing.pem'), rejectUnauthorized: true, minVersion: 'TLSv1.2' } }))).toThrow(/tls\.caFile .*missing\.pem of 127\.0\.0\.1:\d+ cannot be read/);
  });

  it('with the CA, sessions are encrypted, and the copy runs over TLS end to end', async () => {
    const tls = { caFile: ca, rejectUnauthorized: true, minVersion: 'TLSv1.2' as const };
    const pool = createPool(conn({ tls }));
    const prefix = uniquePrefix('tls');
    try {
      const [[cipher]] = await pool.query<RowDataPacket[]>("SHOW SESSION STATUS LIKE 'Ssl_cipher'");
      expect(String(cipher!.Value)).not.toBe('');

      const base = testConfig(prefix, { databases: 2, tablesPerDb: 2, pageSize: 200, segments: 2, concurrency: 2, items: false });
      const config = parseConfig({
        ...base,
        source: { ...base.source, port, tls },
        target: { ...base.target, connection: { ...base.target.connection, port, tls } },
        verify: { ...base.verify, enabled: true },
      });
      await pool.query(`CREATE DATABASE \`${config.source.database!}\``);
      await seedOrders(pool, config.source.database!, { orders: 1000, itemsPerOrder: 0, seed: 41 });
      const rt = await LocalRuntime.start({ config });
      try {
        await rt.execute().result;
      } finally {
        await rt.close();
      }
      const [check] = await checkAll(config, pool, [pool]);
      expect(check).toMatchObject({ sourceRows: 1000, match: true });
    } finally {
      await pool.end();
    }
  });

  it('captures the binlog over TLS', async () => {
    const c = conn({ tls: { caFile: ca, rejectUnauthorized: true, minVersion: 'TLSv1.2' } });
    const pool = createPool(c);
    try {
      await pool.query('CREATE DATABASE IF NOT EXISTS tls_cdc');
      await pool.query('CREATE TABLE IF NOT EXISTS tls_cdc.t (id INT PRIMARY KEY, v VARCHAR(10))');
      const from = await currentPosition(pool);
      await pool.query("INSERT INTO tls_cdc.t VALUES (1, 'over tls')");
      const events = await readAllChanges({ connection: { host: c.host, port: c.port, user: c.user, password: '', tls: tlsOptions(c) }, from, database: 'tls_cdc', tables: ['t'] });
      expect(events.map((e) => [e.op, e.after])).toEqual([['insert', { id: 1, v: 'over tls' }]]);
    } finally {
      await pool.end();
    }
  });
});
