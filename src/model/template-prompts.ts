import { fillTemplate, type TemplateSet } from '../data/templates/template-sets.js';
import type { PromptTokenizer } from './prompt-setup.js';

/**
 * The host half of a prompt-template ensemble: every template of a set filled with every class name, as
 * `clip.tokenize` rows (SOT, ids, EOT, zeros; no learnable context). Class names get the seed's and TDA's
 * `classname.replace('_', ' ')`. Templates are tokenised when first asked for (80 × 1000 prompts on
 * ImageNet) and kept, and a prompt too long for the context is refused with PROMPT_TOO_LONG, as clip.tokenize refuses it.
 */
export class TemplatePrompts {
  readonly classnames: readonly string[];
  private readonly cache = new Map<number, Int32Array[]>();

  constructor(
    readonly set: TemplateSet,
    classnames: readonly string[],
    private readonly tokenizer: PromptTokenizer,
    readonly contextLength: number,
  ) {
    this.classnames = classnames.map((n) => n.replaceAll('_', ' '));
  }

  get numTemplates(): number {
    return this.set.templates.length;
  }

  get numClasses(): number {
    return this.classnames.length;
  }

  /** The texts of template `t`, one per class, in class order. */
  texts(t: number): string[] {
    const template = this.set.templates[t]!;
    return this.classnames.map((name) => fillTemplate(template, name));
  }

  /** Template `t` over classes from..to−1: [to − from] rows of contextLength token ids. */
  tokens(t: number, from = 0, to = this.numClasses): Int32Array[] {
    let rows = this.cache.get(t);
    if (!rows) {
      // Kept: the ensemble plans every template before it encodes any (80 × 1000 prompts hold 25 MB of ids).
      rows = this.texts(t).map((text) => this.tokenizer.tokenize(text, this.contextLength));
      this.cache.set(t, rows);
    }
    return rows.slice(from, to);
  }
}
