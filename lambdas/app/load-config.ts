/** Reads a JSON or YAML config text and validates it. */
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../core/errors.js';
import { parseConfig, type MigrationConfig } from '../core/config.js';

export function parseConfigText(text: string, origin: string): MigrationConfig {
  let raw: unknown;
  try {
    raw = /^\s*[{[]/.test(text) ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${origin} is neither valid JSON nor YAML: ${(err as Error).message}`);
  }
  return parseConfig(raw, origin);
}

export async function loadConfigFile(path: string): Promise<MigrationConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config ${path}: ${(err as Error).message}`);
  }
  return parseConfigText(text, path);
}
