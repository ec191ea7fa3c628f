/** Runs in a child process: synthesizes the stack and prints the runnable state machine as JSON. */
import { parseConfig } from '../lambdas/core/config.js';
import { synthesizeInProcess } from './synth.js';

const chunks: Buffer[] = [];
for await (const c of process.stdin) chunks.push(c as Buffer);
const config = parseConfig(JSON.parse(Buffer.concat(chunks).toString('utf8')));
process.stdout.write(JSON.stringify(synthesizeInProcess(config)));
