/** How reshard connects to a MySQL server: the settings shared by the source, the targets and a watched replica. */
import { z } from 'zod';

export const connectionSchema = z
  .object({
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(1).max(65535).default(3306),
    user: z.string().min(1).default('root'),
    /** Literal password: fine locally; in AWS use `passwordEnv` (filled from Secrets Manager). */
    password: z.string().optional(),
    /** Name of an environment variable holding the password. */
    passwordEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).optional(),
    /** Connections per pool. */
    poolSize: z.number().int().min(1).max(64).default(8),
    connectTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
    /**
     * TLS to this server: `true` verifies its certificate against Node's CAs (plus NODE_EXTRA_CA_CERTS);
     * `{ca: 'rds'}` against the Amazon RDS / Aurora CA bundle shipped with reshard (`'rds-proxy'`: RDS Proxy's);
     * `{caFile}` against the PEM bundle in that file; `rejectUnauthorized: false` encrypts without verifying.
     * `minVersion` is the oldest TLS version accepted (TLSv1.2 unless set). Off when absent.
     */
    tls: z
      .union([
        z.boolean(),
        z
          .object({
            ca: z.enum(['rds', 'rds-proxy']).optional(),
            caFile: z.string().min(1).optional(),
            rejectUnauthorized: z.boolean().default(true),
            minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
          })
          .strict()
          .refine((t) => !(t.ca && t.caFile), { message: 'give either ca (a bundle shipped with reshard) or caFile, not both' }),
      ])
      .optional(),
  })
  .strict();
