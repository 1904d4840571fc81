import { CLIP_7_TEMPLATES, CLIP_80_TEMPLATES } from './clip-imagenet-templates.js';

/**
 * The registry of prompt-template sets for the zero-shot ensemble classifier (config key `templates`). A set
 * is a list of texts with one "{}" each; the classifier is OpenAI's `zeroshot_classifier` over them (see
 * src/engine/template-ensemble.ts). Adding a set: its templates in a data file with their source, one entry
 * below (and nothing else: the config schema and the README take the names from here).
 */

export const TEMPLATE_SET_NAMES = ['clip-7', 'clip-80'] as const;
export type TemplateSetName = (typeof TEMPLATE_SET_NAMES)[number];

export interface TemplateSet {
  name: TemplateSetName;
  templates: readonly string[];
  /** Where the list comes from (repository@commit, file, name). */
  source: string;
}

export const TEMPLATE_SETS: Record<TemplateSetName, TemplateSet> = {
  'clip-7': {
    name: 'clip-7',
    templates: CLIP_7_TEMPLATES,
    source: 'openai/CLIP@d05afc4 notebooks/Prompt_Engineering_for_ImageNet.ipynb (the 7 selected); kdiAAA/TDA@e697fb0 datasets/imagenet.py imagenet_templates',
  },
  'clip-80': {
    name: 'clip-80',
    templates: CLIP_80_TEMPLATES,
    source: 'openai/CLIP@d05afc4 notebooks/Prompt_Engineering_for_ImageNet.ipynb imagenet_templates',
  },
};

/** `template.format(classname)` for a template with one "{}" (Python's str.format; "{{"/"}}" never occur here). */
export function fillTemplate(template: string, classname: string): string {
  const at = template.indexOf('{}');
  if (at < 0 || template.indexOf('{}', at + 2) >= 0) throw new Error(`template "${template}" must hold exactly one "{}"`);
  return template.slice(0, at) + classname + template.slice(at + 2);
}
