import { readFileSync } from 'node:fs';
import { TptError } from '../errors.js';
import { configSchema, resolveConfig, type TptConfig } from './schema.js';
import { closestKey, isConfigKey, issueLines } from './issues.js';
import { checkConfigConsistency } from './cross-checks.js';

/**
 * Config files are JSON objects with any subset of the schema's keys (the rest take the seed's defaults).
 * `--set key=value` overrides win over the file, in order; the value is parsed as JSON when it can be
 * (`--set n_aug=4`, `--set augmix=false`, `--set reduced_size=null`) and is otherwise a string
 * (`--set loss=crossentropy_hard1`).
 */

export interface LoadConfigOptions {
  /**
   * For commands that use only part of the config (`tpt preview`): skip the cross-field checks that only
   * matter to a run (loss selections, shard).
   */
  partial?: boolean;
}

function readJsonObject(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new TptError('CONFIG_NOT_FOUND', `config: cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`, {
      hint: 'Pass an existing JSON file, e.g. --config configs/baseline.json (see the configs/ folder).',
    });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new TptError('CONFIG_SYNTAX', `config: ${path} is not valid JSON: ${(e as Error).message}`, {
      hint: 'Config files are plain JSON: double-quoted keys and strings, no comments, no trailing commas.',
    });
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new TptError('CONFIG_SYNTAX', `config: ${path} must hold a JSON object of settings`, {
      hint: 'For example {"augmenter": "PatchAugmenter", "n_aug": 4, "n_patches": 16}.',
    });
  }
  return parsed as Record<string, unknown>;
}

/** Parses one `key=value` override. */
export function parseSet(assignment: string): [string, unknown] {
  const eq = assignment.indexOf('=');
  if (eq <= 0) {
    throw new TptError('CONFIG_SET', `--set ${JSON.stringify(assignment)}: expected key=value`, {
      hint: 'For example --set n_aug=4 or --set loss=crossentropy_hard1 (repeat --set for more keys).',
    });
  }
  const key = assignment.slice(0, eq).trim();
  const raw = assignment.slice(eq + 1);
  if (!isConfigKey(key)) {
    const suggestion = closestKey(key);
    throw new TptError('CONFIG_SET', `--set: unknown key ${JSON.stringify(key)}${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`, {
      hint: 'Run `tpt run --help` for the list of config keys.',
    });
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    value = raw;
  }
  return [key, value];
}

/** Validates a raw object against the schema and resolves the dataset's rules (`augmix: null`); throws a TptError listing every wrong field. */
export function parseConfig(raw: unknown, source = 'config'): TptConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    const lines = issueLines(result.error.issues, raw);
    throw new TptError('CONFIG_INVALID', lines.join('\n'), {
      hint: `Fix the field${lines.length > 1 ? 's' : ''} above in ${source} (or with --set key=value); \`tpt run --help\` lists every key.`,
    });
  }
  return resolveConfig(result.data);
}

export function loadConfig(path: string | undefined, sets: readonly string[] = [], opts: LoadConfigOptions = {}): TptConfig {
  const raw: Record<string, unknown> = path === undefined ? {} : readJsonObject(path);
  for (const assignment of sets) {
    const [key, value] = parseSet(assignment);
    raw[key] = value;
  }
  const config = parseConfig(raw, path ?? 'the --set values');
  if (!opts.partial) checkConfigConsistency(config);
  return config;
}
