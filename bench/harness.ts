/**
 * What every bench starts with: its command-line options, checked, and a MariaDB of its own with a root pool
 * and the machine's calibration.
 */
import { parseArgs } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql, { type Pool } from 'mysql2/promise';
import { startMariaDb } from '../local/mariadb.js';
import { calibrate, calibrationText, type Calibration } from './calibrate.js';

type Options<N extends string, F extends string, S extends string> = { [K in N]: number } & { [K in F]: boolean } & { [K in S]: string };

/**
 * The bench's options (`--name value`, `--flag`): `numbers` and `strings` with their defaults, `flags` off by
 * default. An unknown option, or a number option whose value is not a number ≥ 0, ends the bench with an error
 * that names it.
 */
export function benchArgs<N extends string, F extends string = never, S extends string = never>(spec: {
  numbers: Record<N, number>;
  flags?: readonly F[];
  strings?: Record<S, string>;
}): Options<N, F, S> {
  const numbers = Object.entries<number>(spec.numbers);
  const strings = Object.entries<string>(spec.strings ?? {});
  const { values } = parseArgs({
    options: Object.fromEntries<{ type: 'string' | 'boolean'; default: string | boolean }>([
      ...numbers.map(([k, v]) => [k, { type: 'string', default: String(v) }] as const),
      ...strings.map(([k, v]) => [k, { type: 'string', default: v }] as const),
      ...(spec.flags ?? []).map((k) => [k, { type: 'boolean', default: false }] as const),
    ]),
    strict: true,
  });
  const out: Record<string, unknown> = { ...values };
  for (const [k] of numbers) {
    const given = out[k];
    const n = Number(given);
    if (given === '' || !Number.isFinite(n) || n < 0) throw new Error(`--${k}: expected a number ≥ 0, got ${JSON.stringify(given)}`);
    out[k] = n;
  }
  return out as Options<N, F, S>;
}

export interface BenchServer {
  readonly port: number;
  /** A root pool on the server. */
  readonly admin: Pool;
  readonly calibration: Calibration;
  /** Ends the pool and stops the server (unless it was running already: then it is left running). */
  stop(): Promise<void>;
}

/**
 * A MariaDB for the bench `name` on `port` (its data under the temp folder, or in `dir`), a root pool of
 * `connectionLimit` connections, and the machine's calibration, printed. Stops the server again when the
 * calibration fails.
 */
export async function benchServer(name: string, port: number, opts: { connectionLimit: number; dir?: string | undefined }): Promise<BenchServer> {
  const server = await startMariaDb({ dir: opts.dir ?? join(tmpdir(), `reshard-bench-${name}-${port}`), port, log: (l) => console.log(l) });
  const admin = mysql.createPool({ host: '127.0.0.1', port, user: 'root', password: '', connectionLimit: opts.connectionLimit });
  const stop = async () => {
    await admin.end();
    if (!server.reused) await server.stop();
  };
  try {
    const calibration = await calibrate(admin);
    console.log(calibrationText(calibration));
    return { port, admin, calibration, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
