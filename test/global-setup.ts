/**
 * Starts the tests' own MariaDB (binlog ROW/FULL) on a private port and datadir, never the machine's
 * shared server. RESHARD_TEST_MYSQL_PORT reuses one already running (e.g. a developer's).
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startMariaDb, type MariaDb } from '../local/mariadb.js';

let server: MariaDb | undefined;

export default async function setup(project: TestProject) {
  const port = Number(process.env.RESHARD_TEST_MYSQL_PORT ?? 3417);
  server = await startMariaDb({ dir: process.env.RESHARD_TEST_MYSQL_DIR ?? join(tmpdir(), `reshard-test-mariadb-${port}`), port, log: (l) => console.log(`[mariadb] ${l}`) });
  project.provide('mysqlPort', port);
  return async () => {
    // CI's datadir is a throw-away temp dir: no need to wait for a clean InnoDB shutdown.
    if (server && !server.reused) await server.stop(process.env.RESHARD_TEST_MYSQL_DIR ? 'kill' : 'shutdown');
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    mysqlPort: number;
  }
}
