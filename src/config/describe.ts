import type { z } from 'zod';
import { configSchema, schemaDefaults, type ConfigKey } from './schema.js';

/**
 * Reads a field's zod definition to say in words what it accepts ("an integer ≥ 0", "one of …"). Used by
 * the error lines ("config: n_aug: expected an integer ≥ 0, got "x"") and by the generated config reference,
 * so both always agree with the schema.
 */

interface ZodDefLike {
  type: string;
  innerType?: { _zod: { def: ZodDefLike } };
  checks?: Array<{ _zod: { def: { check: string; format?: string; value?: number; inclusive?: boolean } } }>;
  entries?: Record<string, string>;
}

function defOf(schema: unknown): ZodDefLike {
  return (schema as { _zod: { def: ZodDefLike } })._zod.def;
}

/** Peels default/nullable/optional wrappers; reports whether null is accepted. */
function unwrap(schema: unknown): { def: ZodDefLike; nullable: boolean } {
  let def = defOf(schema);
  let nullable = false;
  while (def.innerType && (def.type === 'default' || def.type === 'nullable' || def.type === 'optional' || def.type === 'prefault')) {
    if (def.type === 'nullable') nullable = true;
    def = def.innerType._zod.def;
  }
  return { def, nullable };
}

function numberText(def: ZodDefLike): string {
  let isInteger = false;
  let lower: { value: number; inclusive: boolean } | undefined;
  let upper: { value: number; inclusive: boolean } | undefined;
  for (const check of def.checks ?? []) {
    const c = check._zod.def;
    if (c.check === 'number_format' && (c.format === 'safeint' || c.format === 'int32')) isInteger = true;
    if (c.check === 'greater_than' && c.value !== undefined) lower = { value: c.value, inclusive: c.inclusive ?? false };
    if (c.check === 'less_than' && c.value !== undefined) upper = { value: c.value, inclusive: c.inclusive ?? false };
  }
  const noun = isInteger ? 'an integer' : 'a number';
  if (lower && upper) return `${noun} from ${lower.value} to ${upper.value}`;
  if (lower) return `${noun} ${lower.inclusive ? '≥' : '>'} ${lower.value}`;
  if (upper) return `${noun} ${upper.inclusive ? '≤' : '<'} ${upper.value}`;
  return noun;
}

/** "an integer ≥ 0", "true or false", 'one of "end", "middle", "front"', "a string or null". */
export function expectedText(fieldSchema: unknown): string {
  const { def, nullable } = unwrap(fieldSchema);
  let text: string;
  switch (def.type) {
    case 'number':
      text = numberText(def);
      break;
    case 'boolean':
      text = 'true or false';
      break;
    case 'enum':
      text = `one of ${Object.values(def.entries ?? {})
        .map((v) => JSON.stringify(v))
        .join(', ')}`;
      break;
    case 'string':
      text = 'a string';
      break;
    default:
      text = `a value of type ${def.type}`;
  }
  return nullable ? `${text} or null` : text;
}

/** The short type column of the reference table. */
function typeColumn(fieldSchema: unknown): string {
  const { def, nullable } = unwrap(fieldSchema);
  let text: string;
  switch (def.type) {
    case 'number':
      text = numberText(def).replace(/^an? /, '');
      break;
    case 'enum':
      text = Object.values(def.entries ?? {})
        .map((v) => `\`${v}\``)
        .join(' \\| ');
      break;
    default:
      text = def.type;
  }
  return nullable ? `${text} \\| null` : text;
}

function describeOf(fieldSchema: z.ZodType): string {
  return fieldSchema.description ?? '';
}

/** A markdown table of every config key: name, accepted values, default, meaning. */
export function configReferenceMarkdown(): string {
  const defaults = schemaDefaults();
  const shape = configSchema.shape as Record<ConfigKey, z.ZodType>;
  const rows = (Object.keys(shape) as ConfigKey[]).map((key) => {
    const field = shape[key];
    const cells = [`\`${key}\``, typeColumn(field), `\`${JSON.stringify(defaults[key])}\``, describeOf(field).replace(/\|/g, '\\|')];
    return `| ${cells.join(' | ')} |`;
  });
  return ['| key | accepts | default | meaning |', '| --- | --- | --- | --- |', ...rows].join('\n') + '\n';
}

/** Keys whose values are floats in the seed (argparse type=float): printed as Python floats (0.0, 1e-05). */
export function floatConfigKeys(): ConfigKey[] {
  const shape = configSchema.shape as Record<ConfigKey, unknown>;
  return (Object.keys(shape) as ConfigKey[]).filter((key) => {
    const { def } = unwrap(shape[key]);
    return def.type === 'number' && !(def.checks ?? []).some((c) => c._zod.def.check === 'number_format');
  });
}
