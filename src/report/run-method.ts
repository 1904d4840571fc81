/**
 * What a run ran, for labelling report rows: read from the records a run folder keeps (summary.json, then
 * config.json: `method`, `arch`, `context`, `online`, written since run-record.ts), and only for folders
 * written before those records from the config's keys. Nothing here guesses from names.
 *
 * A row's method group:
 *   - method tpt: its context decides CoOp or not (a CoOp file, or a CoOp context stored in a converted
 *     weights folder), `tta_steps` whether it tuned: zero-shot, CoOp, TPT, CoOp + TPT; a zero-shot run over a
 *     template ensemble (config `templates`: clip-7 | clip-80) is "Ensemble";
 *   - any other method: its title in the method registry (C-TPT, R-TPT, Zero, MTA), prefixed "CoOp + " when
 *     it starts from a CoOp context;
 *   - an online method (summary.json `online: true`, or an online method in the registry) ends in " (online)".
 * The label adds the hand-written or random context of a non-CoOp prompt ("a photo of a", random context).
 */
import { METHOD_SPECS } from '../tta/methods/names.js';
import { readContextRecord, type ContextRecord } from '../run/run-record.js';

export interface RunFacts {
  method: string;
  /** The architecture read from the weights (older folders: the config's `arch`). */
  arch: string;
  context: ContextRecord;
  /** Whether the prompt was tuned (tta_steps > 0) by a method that tunes one. */
  tuned: boolean;
  online: boolean;
  /** The template ensemble of a zero-shot run (config `templates`), or null. */
  templates: string | null;
}

/** The paper's row order; other methods follow in the registry's order, online ones last. */
export const METHOD_GROUP_ORDER = ['zero-shot', 'Ensemble', 'CoOp', 'TPT', 'CoOp + TPT'] as const;

type Json = Record<string, unknown>;

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The context of an older folder, from its config alone (a context stored in converted weights cannot be seen). */
function contextOfConfig(config: Json): ContextRecord {
  const templates = str(config.templates);
  if (templates !== undefined) return { source: 'templates', text: templates };
  const coop = str(config.coop_weight_path);
  if (coop !== undefined) return { source: 'coop-file', path: coop };
  const init = str(config.ctx_init);
  return init !== undefined ? { source: 'ctx_init', text: init } : { source: 'random' };
}

export function runFacts(config: Json, configFile: Json = {}, summary: Json | undefined = undefined): RunFacts {
  const method = str(summary?.method) ?? str(configFile.method) ?? str(config.method) ?? 'tpt';
  const arch = str(summary?.arch) ?? str(configFile.arch) ?? str(config.arch) ?? 'RN50';
  const context = readContextRecord(summary?.context) ?? readContextRecord(configFile.context) ?? contextOfConfig(config);
  const spec = (METHOD_SPECS as Record<string, { tunesPrompt: boolean; kind: string } | undefined>)[method];
  const steps = typeof config.tta_steps === 'number' ? config.tta_steps : 1; // the schema's default
  const tuned = (spec?.tunesPrompt ?? true) ? steps > 0 : true;
  const online = summary?.online === true || configFile.online === true || spec?.kind === 'online';
  const templates = context.source === 'templates' ? (context.text ?? str(config.templates) ?? '') : null;
  return { method, arch, context, tuned, online, templates };
}

function isCoop(context: ContextRecord): boolean {
  return context.source === 'coop-file' || context.source === 'weights-folder';
}

/** The method group of a run (one Table 1 / Table 2 row per group and backbone, variants apart). */
export function methodGroup(facts: RunFacts): string {
  const coop = isCoop(facts.context);
  let group: string;
  if (facts.method === 'tpt') {
    if (facts.tuned) group = coop ? 'CoOp + TPT' : 'TPT';
    else group = coop ? 'CoOp' : facts.templates !== null ? 'Ensemble' : 'zero-shot';
  } else {
    const title = (METHOD_SPECS as Record<string, { title: string } | undefined>)[facts.method]?.title ?? facts.method;
    group = coop ? `CoOp + ${title}` : title;
    // Zero and MTA over a template ensemble's classifier: a variant of the method, named in the label
  }
  return facts.online ? `${group} (online)` : group;
}

/** `TPT ("a photo of a")`; an online group keeps one parenthesis: `TDA (online; clip-7 templates)`. */
function withDetail(group: string, detail: string): string {
  return group.endsWith(' (online)') ? `${group.slice(0, -1)}; ${detail})` : `${group} (${detail})`;
}

/** The row label: the group, with the initial context of a non-CoOp prompt, or the ensemble's templates. */
export function methodLabel(facts: RunFacts): string {
  const group = methodGroup(facts);
  if (isCoop(facts.context)) return group;
  if (facts.templates !== null) return withDetail(group, `${facts.templates} templates`);
  if (facts.context.source === 'ctx_init') return withDetail(group, `"${(facts.context.text ?? '').replaceAll('_', ' ')}"`);
  return withDetail(group, 'random context');
}

/** Sort rank of a method group: the paper's rows first, then the registry's methods, online ones after. */
export function methodGroupRank(group: string): number {
  const online = group.endsWith(' (online)');
  const base = online ? group.slice(0, -' (online)'.length) : group;
  const fixed = (METHOD_GROUP_ORDER as readonly string[]).indexOf(base);
  const titles: string[] = Object.values(METHOD_SPECS).map((s) => s.title);
  const plain = base.startsWith('CoOp + ') ? base.slice('CoOp + '.length) : base;
  const registry = titles.indexOf(plain);
  const rank = fixed >= 0 ? fixed : METHOD_GROUP_ORDER.length + 2 * (registry >= 0 ? registry : titles.length) + (base.startsWith('CoOp + ') ? 1 : 0);
  return rank + (online ? 1000 : 0);
}
