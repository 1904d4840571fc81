import type { TptConfig } from '../config/schema.js';

/**
 * What a run actually ran, as read from its inputs rather than from config keys: written to config.json and
 * summary.json so that reports label runs by fact. A config cannot tell, for example, that a converted
 * weights folder carries a CoOp context (then `coop_weight_path: ""` still runs CoOp's context, and the
 * config's `ctx_init` is unused), or that `clip_weights` holds a ViT while `arch` says RN50.
 * Folders written before these fields existed lack them; readers fall back to the config.
 */

/**
 * Where the prompt's initial context came from (the first that applies, as prompt-setup.ts decides), or
 * `templates`: a template ensemble classifies (config `templates`) and no context is used.
 */
export type ContextSource = 'templates' | 'coop-file' | 'weights-folder' | 'ctx_init' | 'random';

export interface ContextRecord {
  source: ContextSource;
  /** coop-file: the CoOp checkpoint; weights-folder: the converted weights folder that stores the context. */
  path?: string;
  /** ctx_init: the text; templates: the template set's name. */
  text?: string;
}

export interface RanRecord {
  /** The config's method (the method registry's name). */
  method: string;
  /** The architecture read from the weights, as `archLabel` names it (RN50, ViT-B/16, …). */
  arch: string;
  context: ContextRecord;
}

/** The context source of a run whose weights do (or do not) hold a CoOp context after loading. */
export function contextRecordOf(config: Pick<TptConfig, 'coop_weight_path' | 'clip_weights' | 'ctx_init' | 'templates'>, weightsHoldContext: boolean): ContextRecord {
  if (config.templates !== null) return { source: 'templates', text: config.templates };
  if (config.coop_weight_path !== '') return { source: 'coop-file', path: config.coop_weight_path };
  if (weightsHoldContext) return { source: 'weights-folder', path: config.clip_weights };
  if (config.ctx_init !== '') return { source: 'ctx_init', text: config.ctx_init };
  return { source: 'random' };
}

const CONTEXT_SOURCES: readonly string[] = ['templates', 'coop-file', 'weights-folder', 'ctx_init', 'random'];

/** A context record read back from a JSON file, or undefined when absent or malformed (an older folder). */
export function readContextRecord(value: unknown): ContextRecord | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.source !== 'string' || !CONTEXT_SOURCES.includes(v.source)) return undefined;
  return {
    source: v.source as ContextSource,
    ...(typeof v.path === 'string' ? { path: v.path } : {}),
    ...(typeof v.text === 'string' ? { text: v.text } : {}),
  };
}
