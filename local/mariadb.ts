/**
 * A private MariaDB for the demo, the tests and the bench: its own datadir and port, binlog in ROW format
 * with FULL images (what CDC needs), never the machine's shared server. Installs `mariadb-server` with
 * apt-get when no server binary exists (root only).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { resolve, join } from 'node:path';
import mysql from 'mysql2/promise';
import { sleep } from '../lambdas/core/time.js';

export interface MariaDbOptions {
  readonly dir: string;
  readonly port: number;
  /** Leave the server running when this process exits (demo --keep). @default false */
  readonly detached?: boolean;
  /** Extra server options. */
  readonly args?: readonly string[];
  readonly log?: (line: string) => void;
}

export interface MariaDb {
  readonly port: number;
  readonly url: string;
  readonly reused: boolean;
  /** Stops the server: a clean shutdown, or `kill` for a throw-away datadir (instant). */
  stop(mode?: 'shutdown' | 'kill'): Promise<void>;
}

const CANDIDATES = ['mariadbd', 'mysqld'].flatMap((b) => [`/usr/sbin/${b}`, `/usr/bin/${b}`, `/usr/local/bin/${b}`]);

function which(name: string): string | undefined {
  const r = spawnSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() || undefined : undefined;
}

function findServerBinary(): string | undefined {
  return which('mariadbd') ?? CANDIDATES.find((p) => existsSync(p));
}

function findInstallDb(): string | undefined {
  return which('mariadb-install-db') ?? which('mysql_install_db') ?? ['/usr/bin/mariadb-install-db', '/usr/bin/mysql_install_db'].find((p) => existsSync(p));
}

/** Installs the Debian server package when no binary is present. */
function ensureServerInstalled(log: (l: string) => void = () => undefined): string {
  let bin = findServerBinary();
  if (bin) return bin;
  if (process.getuid?.() !== 0) throw new Error('mariadbd is not installed; install it with: sudo apt-get install -y mariadb-server');
  log('mariadbd not found: installing mariadb-server with apt-get…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-q'], { stdio: 'inherit', env });
  const r = spawnSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', 'mariadb-server'], { stdio: 'inherit', env });
  bin = findServerBinary();
  if (r.status !== 0 || !bin) throw new Error('apt-get install mariadb-server failed');
  return bin;
}

async function canConnect(port: number): Promise<boolean> {
  try {
    const c = await mysql.createConnection({ host: '127.0.0.1', port, user: 'root', password: '', connectTimeout: 1000 });
    await c.end();
    return true;
  } catch {
    return false;
  }
}

/** Starts (or reuses, if already listening on `port`) a private MariaDB with binlog enabled. */
export async function startMariaDb(given: MariaDbOptions): Promise<MariaDb> {
  // mariadb-install-db and mariadbd resolve a relative datadir against their own base directory: absolute only.
  const opts = { ...given, dir: resolve(given.dir) };
  const log = opts.log ?? (() => undefined);
  const url = `mysql://root@127.0.0.1:${opts.port}`;
  const pidFile = join(opts.dir, 'mariadbd.pid');
  if (await canConnect(opts.port)) {
    log(`reusing MariaDB on 127.0.0.1:${opts.port}`);
    return { port: opts.port, url, reused: true, stop: async () => stopByPidFile(pidFile) };
  }
  const bin = ensureServerInstalled(log);
  const datadir = join(opts.dir, 'data');
  mkdirSync(opts.dir, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  // A tmpdir of its own, for the bootstrap server and the server: a server starting up deletes every #sql* file in
  // its tmpdir, which would take the internal temporary tables of another server (or bootstrap) sharing /tmp from
  // under it.
  const tmpDir = join(opts.dir, 'tmp');
  mkdirSync(tmpDir, { recursive: true });
  if (!existsSync(join(datadir, 'mysql'))) {
    const installDb = findInstallDb();
    if (!installDb) throw new Error('mariadb-install-db not found (install mariadb-server)');
    log(`initialising a MariaDB datadir in ${datadir}`);
    const r = spawnSync(
      installDb,
      ['--no-defaults', `--datadir=${datadir}`, '--auth-root-authentication-method=normal', '--skip-test-db', `--tmpdir=${tmpDir}`, ...(asRoot ? ['--user=root'] : [])],
      { encoding: 'utf8' },
    );
    if (r.status !== 0) throw new Error(`mariadb-install-db failed: ${r.stderr || r.stdout}`);
  }
  const errLog = join(opts.dir, 'error.log');
  const args = [
    '--no-defaults',
    `--datadir=${datadir}`,
    `--port=${opts.port}`,
    '--bind-address=127.0.0.1',
    `--socket=${join(opts.dir, 'mariadbd.sock')}`,
    `--pid-file=${pidFile}`,
    `--log-error=${errLog}`,
    `--tmpdir=${tmpDir}`,
    `--log-bin=${join(opts.dir, 'binlog')}`,
    '--binlog-format=ROW',
    '--binlog-row-image=FULL',
    '--server-id=1',
    '--innodb-flush-log-at-trx-commit=2',
    '--innodb-buffer-pool-size=512M',
    '--innodb-log-file-size=256M',
    '--max-connections=1000',
    '--max-allowed-packet=64M',
    '--character-set-server=utf8mb4',
    '--collation-server=utf8mb4_general_ci',
    ...(asRoot ? ['--user=root'] : []),
    ...(opts.args ?? []),
  ];
  const out = openSync(join(opts.dir, 'stdout.log'), 'a');
  const child = spawn(bin, args, { detached: opts.detached ?? false, stdio: ['ignore', out, out] });
  let exited: number | null = null;
  child.on('exit', (code) => (exited = code ?? -1));
  if (opts.detached) child.unref();
  const deadline = Date.now() + 60_000;
  while (!(await canConnect(opts.port))) {
    if (exited !== null || Date.now() > deadline) {
      const tail = existsSync(errLog) ? readFileSync(errLog, 'utf8').split('\n').slice(-15).join('\n') : '';
      child.kill('SIGKILL');
      throw new Error(`MariaDB did not start on port ${opts.port} (exit ${exited}):\n${tail}`);
    }
    await sleep(200);
  }
  log(`MariaDB ${bin} running on 127.0.0.1:${opts.port} (datadir ${datadir}, binlog ROW/FULL)`);
  return {
    port: opts.port,
    url,
    reused: false,
    stop: async (mode = 'shutdown') => {
      if (exited !== null) return;
      const done = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill(mode === 'kill' ? 'SIGKILL' : 'SIGTERM');
      await Promise.race([done, sleep(20_000)]);
      if (exited === null) child.kill('SIGKILL');
    },
  };
}

async function stopByPidFile(pidFile: string): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (!pid) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(200);
  }
}
