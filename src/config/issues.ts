import type { z } from 'zod';
import { CONFIG_KEYS, configSchema, type ConfigKey } from './schema.js';
import { expectedText } from './describe.js';

/**
 * Turns zod issues into one plain line per wrong field, e.g.
 *   config: n_aug: expected an integer ≥ 0, got "x"
 *   config: unknown key "n_augs" (did you mean "n_aug"?)
 */

/** Levenshtein distance: small enough inputs that the O(n·m) table is nothing. */
export function editDistance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = previous[0]!;
    previous[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = previous[j]!;
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      previous[j] = Math.min(above + 1, previous[j - 1]! + 1, diagonal + cost);
      diagonal = above;
    }
  }
  return previous[b.length]!;
}

/** The valid key closest to `key`, if it is close enough to be a plausible typo. */
export function closestKey(key: string, candidates: readonly string[] = CONFIG_KEYS): string | undefined {
  const normalised = key.toLowerCase().replace(/-/g, '_');
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(normalised, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const tolerance = Math.max(2, Math.floor(normalised.length / 3));
  return bestDistance <= tolerance ? best : undefined;
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const part of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}

function show(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export function issueLines(issues: readonly z.core.$ZodIssue[], input: unknown): string[] {
  const lines: string[] = [];
  const reported = new Set<string>();
  for (const issue of issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const suggestion = closestKey(key);
        lines.push(`config: unknown key ${JSON.stringify(key)}${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`);
      }
      continue;
    }
    const field = issue.path.map(String).join('.');
    if (reported.has(field)) continue; // one line per field, even when several checks fail
    reported.add(field);
    const got = show(valueAt(input, issue.path));
    const fieldSchema = (configSchema.shape as Record<string, unknown>)[field];
    if (issue.code === 'custom' || issue.code === 'invalid_format') {
      lines.push(`config: ${field}: ${issue.message}, got ${got}`);
    } else if (fieldSchema) {
      lines.push(`config: ${field}: expected ${expectedText(fieldSchema)}, got ${got}`);
    } else {
      lines.push(`config: ${field || '(file)'}: ${issue.message}`);
    }
  }
  return lines;
}

export function isConfigKey(key: string): key is ConfigKey {
  return (CONFIG_KEYS as string[]).includes(key);
}
