/** Captures what a test writes to stdout (Powertools Metrics prints EMF there), one test at a time. */
import { afterEach, beforeEach, vi } from 'vitest';

export function captureStdout(env: Record<string, string> = {}): { readonly lines: string[]; emf<T = Record<string, unknown>>(): T[] } {
  let lines: string[] = [];
  beforeEach(() => {
    lines = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });
  return {
    get lines() {
      return lines;
    },
    /** The EMF documents written so far. */
    emf: <T,>() => lines.filter((l) => l.includes('"_aws"')).map((l) => JSON.parse(l) as T),
  };
}
