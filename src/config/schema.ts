import { z } from 'zod';
import { BACKEND_CHOICES } from '../engine/choices.js';
import { DATASET_NAMES, DEFAULT_DATASET, datasetChoicesText, getDataset } from '../data/datasets/registry.js';
import { LOSS_NAMES } from '../losses/names.js';
import { TEMPLATE_SET_NAMES } from '../data/templates/template-sets.js';
import { METHOD_NAMES, METHOD_SPECS } from '../tta/methods/names.js';

/**
 * The run configuration: ONE zod schema, the source of truth for the config type, its defaults, its
 * validation and the README's config reference (see `configReferenceMarkdown`).
 *
 * The first block keeps the seed's `default_args()` key names and defaults exactly (section 3.3 of the
 * notebook prints them), so a config written for the seed reads the same here. The second block holds the
 * keys this tool adds. Cross-field checks (loss selections, patch counts) live in `cross-checks.ts`
 * because they need the loss registry and the augmenter's view count.
 */

export const AUGMENTER_NAMES = ['AugmenterTPT', 'PatchAugmenter'] as const;
export const CLASS_TOKEN_POSITIONS = ['end', 'middle', 'front'] as const;

/** The input resolution of OpenAI's RN50, for commands that read no weights (tpt preview). */
export const DEFAULT_IMAGE_SIZE = 224;

/** `shard: "i/n"`: 0-based index i of n equal, deterministic slices of the run's sample order. */
export const SHARD_PATTERN = /^(\d+)\/(\d+)$/;

const integer = () => z.number().int();

export const configSchema = z
  .object({
    // ---- the seed's default_args(), same names and defaults ----
    imagenet_a_path: z
      .string()
      .min(1)
      .default(`./${DEFAULT_DATASET}/`)
      .describe(`Folder of the extracted ${getDataset(DEFAULT_DATASET).title} dataset (the ${getDataset(DEFAULT_DATASET).classes.length} wnid folders). Sample files are reported relative to the dataset folder. \`dataset_path\`, when set, wins.`),
    coop_weight_path: z
      .string()
      .default('./model.pth.tar-50')
      .describe(
        "CoOp checkpoint (`model.pth.tar-50`) whose `ctx` initialises the prompt context, as the seed does. Empty string: no separate CoOp file; the context stored in a converted weights folder is used if it has one, else the context starts from `ctx_init`.",
      ),
    n_aug: integer()
      .min(0)
      .default(63)
      .describe('Augmented views per image (AugmenterTPT), or augmented copies per patch and of the whole image (PatchAugmenter).'),
    n_patches: integer()
      .min(0)
      .default(0)
      .describe('PatchAugmenter: number of patches; the grid is floor(sqrt(n_patches))² and n_patches must be a perfect square ≥ 1.'),
    batch_size: integer()
      .default(1)
      .refine((v) => v === 1, {
        message: 'must be 1: episodic TPT tunes the prompt on one test image at a time, then resets it',
      })
      .describe('Images per step. Only 1 is valid: episodic TPT tunes on one test image at a time (kept for compatibility with the seed).'),
    arch: z
      .string()
      .min(1)
      .default('RN50')
      .describe('CLIP architecture name, as in the seed. The weights in `clip_weights` decide the actual model; a mismatch is reported in the log.'),
    device: z
      .string()
      .default('cuda:0')
      .describe('Kept for compatibility with the seed and ignored: `backend` chooses the hardware.'),
    learning_rate: z.number().positive().default(0.005).describe('AdamW learning rate for the prompt context (betas 0.9/0.999, eps 1e-8, weight decay 0.01).'),
    n_ctx: integer().min(1).default(4).describe('Number of learnable context tokens in the prompt (must match the CoOp checkpoint).'),
    ctx_init: z
      .string()
      .default('')
      .describe('Text that initialises the context when no CoOp checkpoint is given, e.g. "a photo of a" (its token count must equal n_ctx).'),
    class_token_position: z
      .enum(CLASS_TOKEN_POSITIONS)
      .default('end')
      .describe('Where the class name goes relative to the context tokens: end, middle or front (CoOp).'),
    csc: z.boolean().default(false).describe('Class-specific context: one context per class (CoOp); needs a CSC checkpoint.'),
    run_name: z
      .string()
      .regex(/^[^/\\]*$/, 'must not contain / or \\')
      .default('')
      .describe('Prefix of the run folder name (the seed\'s generate_run_name appends the key settings).'),
    augmenter: z.enum(AUGMENTER_NAMES).default('AugmenterTPT').describe('View generator: AugmenterTPT (random resized crops) or PatchAugmenter (grid patches).'),
    loss: z.enum(LOSS_NAMES).default('defaultTPT').describe('Test-time loss, one of the ten in the loss registry.'),
    augmix: z
      .boolean()
      .nullable()
      .default(null)
      .describe(
        "Apply AugMix to the augmented views. null: the rule: off for a method defined on crop-and-flip views (zero, mta), else the dataset's rule, TPT's `augmix=len(set_id)>1`: on for the ten cross-dataset sets, off for the ImageNet sets (the seed's default was true: its configs set it). The resolved value is what runs, and what config.json and the banner show.",
      ),
    severity: integer().min(1).max(10).default(2).describe('AugMix severity (1–10).'),
    num_workers: integer()
      .min(0)
      .default(4)
      .describe('Number of upcoming samples whose images are decoded and augmented ahead while the model works (the seed\'s DataLoader workers).'),
    save: z.boolean().default(true).describe('Name the run folder after the settings; false writes to the scratch folder `<out_dir>/tmp`, started over each run.'),
    reduced_size: integer()
      .min(0)
      .nullable()
      .default(null)
      .describe('Use a random subset of N samples, in random order, drawn with `seed` (the seed\'s randperm + SubsetRandomSampler; `dataset_shuffle` is then moot); null or 0 = the full dataset.'),
    dataset_shuffle: z.boolean().default(true).describe('Shuffle the sample order with `seed` (as the seed\'s DataLoader does).'),
    save_imgs: z.boolean().default(true).describe('Write improved and worsened images to TensorBoard.'),
    selection_p_all: z
      .number()
      .min(0)
      .max(1)
      .default(0.1)
      .describe('Fraction of views kept (lowest entropy) by defaultTPT and the cross-entropy losses: int(N·p) rows.'),
    selection_p_patch: z.number().min(0).max(1).default(0.9).describe('Fraction of views kept per patch group by patch_loss1–4.'),
    overlap: z.number().min(0).max(1).default(0.0).describe('PatchAugmenter: each patch grows by int(side·overlap) on every side (clamped to the image).'),
    alpha_exponential_weightening: z.number().default(1.0).describe('The α of patch_loss6\'s exp(−α·entropy) weights.'),
    seed: integer().default(1337).describe('Seed of every random choice: sample order, subset and each sample\'s views.'),

    // ---- added by tpt ----
    method: z
      .enum(METHOD_NAMES)
      .default('tpt')
      .describe(
        'Test-time adaptation method, from the method registry (src/tta/methods/): tpt (the seed\'s TPT with any of the ten losses), c-tpt (TPT − λ·ATFD; any of the ten losses), r-tpt (per-view entropy, reliability-weighted ensemble), zero (no gradient: votes of the confident views), mta (no gradient: MeanShift mode of the views); online, no gradient, state carried from sample to sample in stream order: tda (positive and negative feature caches), dmn-zs (dynamic memory), boostadapter (TDA\'s caches plus a per-sample boosting cache). configs/methods/ holds one config per method with its official view settings.',
      ),
    ctpt_lambda: z
      .number()
      .min(0)
      .nullable()
      .default(null)
      .describe('c-tpt: the weight λ of the ATFD term (loss − λ·ATFD). null: the official value, 20 on the ImageNet sets and 50 on fine-grained sets.'),
    rtpt_top_k: integer()
      .min(1)
      .nullable()
      .default(null)
      .describe("r-tpt: each view's reliability is the mean cosine similarity to its k most similar other views. null: the official 20."),
    rtpt_temperature: z
      .number()
      .positive()
      .nullable()
      .default(null)
      .describe('r-tpt: temperature of the softmax that turns reliabilities into ensemble weights. null: the official 0.01.'),
    zero_gamma: z
      .number()
      .gt(0)
      .lt(1)
      .nullable()
      .default(null)
      .describe("zero: fraction of views (lowest entropy, int(V·γ)) whose argmax votes decide. null: the official code's 0.3 (the paper's 0.1)."),
    mta_lambda_q: z
      .number()
      .min(0)
      .nullable()
      .default(null)
      .describe('mta: weight of the affinity (quadratic) term in the inlierness update. null: the official 4.'),
    mta_lambda_y: z
      .number()
      .positive()
      .nullable()
      .default(null)
      .describe('mta: weight of the entropic term (the inlierness softmax temperature). null: the official 0.2.'),
    tda_alpha: z
      .number()
      .min(0)
      .nullable()
      .default(null)
      .describe("tda, boostadapter: weight α of the positive cache's logits. null: the official value of the dataset's TDA configs/*.yaml (ImageNet-A 2.0)."),
    tda_beta: z
      .number()
      .min(0)
      .nullable()
      .default(null)
      .describe("tda, boostadapter: sharpness β of the positive cache's affinity exp(−β(1 − f·k)). null: the dataset's official value (ImageNet-A 5.0)."),
    boost_delta: integer()
      .min(0)
      .nullable()
      .default(null)
      .describe("boostadapter: extra per-class capacity δ of the per-sample boosting cache (3 + δ). null: the dataset's official configs/*.yaml delta (ImageNet-A 3; ImageNet has none)."),
    dmn_beta: z.number().min(0).nullable().default(null).describe('dmn-zs: sharpness β of the memory read-out weights exp(−β(1 − q·m)). null: the official 5.5.'),
    dmn_weight: z
      .number()
      .min(0)
      .nullable()
      .default(null)
      .describe("dmn-zs: weight of the memory's softmax added to the zero-shot softmax. null: 1.0 (the official code searches it after the run on the test labels)."),
    dmn_memory_size: integer().min(1).nullable().default(null).describe('dmn-zs: test features kept per class. null: the official 50.'),
    online_shards: z
      .enum(['independent'])
      .nullable()
      .default(null)
      .describe(
        "An online method (tda, dmn-zs, boostadapter) over `shard`: 'independent' accepts that each shard adapts on its own slice of the stream (results differ from one unsharded run; the summary says so). null: such a run is refused.",
      ),
    clip_weights: z
      .string()
      .min(1)
      .default('weights/RN50.pt')
      .describe('CLIP weights: OpenAI\'s RN50.pt (TorchScript) or a folder made by `tpt convert`.'),
    bpe_path: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe('CLIP BPE vocabulary (bpe_simple_vocab_16e6.txt[.gz]); null uses the embedded vocabulary.'),
    tta_steps: integer().min(0).default(1).describe('AdamW steps per sample (the seed: 1). 0 scores the initial prompt only (zero-shot).'),
    templates: z
      .enum(TEMPLATE_SET_NAMES)
      .nullable()
      .default(null)
      .describe(
        "Zero-shot classifier from a prompt-template ensemble (the TPT paper's \"Ensemble\" rows), from the template registry: clip-7 (the seven ImageNet templates CLIP's notebook selected; TDA's classifier on ImageNet, -A and -V2) or clip-80 (CLIP's 80 ImageNet templates). Each class's text feature is the normalised mean of its templates' normalised features (OpenAI's zeroshot_classifier), computed once per run. A fixed ensemble has no context to tune: with method tpt it needs tta_steps 0 (base and tpt then both score the ensemble), c-tpt and r-tpt refuse it, and zero and mta take it as their text classifier. null: the single prompt of CoOp's context or ctx_init.",
      ),
    backend: z
      .enum(BACKEND_CHOICES)
      .default('auto')
      .describe(
        'Engine of the CLIP towers: onnxruntime (native ONNX Runtime), or a TensorFlow.js backend: tensorflow (tfjs-node-gpu or tfjs-node), wasm, cpu. auto: onnxruntime, then tfjs-node-gpu, tfjs-node, wasm (the reason for a fallback is logged).',
      ),
    workers: integer()
      .min(0)
      .default(0)
      .describe(
        'Samples tuned in parallel, each in a worker thread with its own backend and model copy (results do not depend on it). 0: one per CPU core on a CPU backend (wasm, cpu, tfjs-node), 1 on a GPU; 1 tunes in the main thread. onnxruntime always runs one in-process engine whose kernels use every core.',
      ),
    out_dir: z.string().min(1).default('runs').describe('Parent folder of run folders (`<out_dir>/<run name>/`).'),
    save_logits: z.boolean().default(false).describe('Also store all class logits (base_logits, tpt_logits) in samples.jsonl.'),
    dataset: z
      .enum(DATASET_NAMES)
      .default(DEFAULT_DATASET)
      .describe(
        `Test set, from the dataset registry: ${datasetChoicesText()}. It decides the class names the prompts use, how the samples are listed (class folders, or a split file) and the AugMix rule.`,
      ),
    dataset_path: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe('Folder of the chosen dataset. When set it wins over imagenet_a_path, for every dataset; null: imagenet_a_path (ImageNet-A only).'),
    split_file: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe(
        "Split-file datasets: the split file (CoOp's `split_zhou_<X>.json`; FGVC-Aircraft's `images_variant_test.txt`, with `variants.txt` beside it). null: looked up in the dataset folder, as CoOp's layout has it; set it for TPT's layout (`dataset_path` = the image folder, split files elsewhere).",
      ),
    allow_partial_dataset: z
      .boolean()
      .default(false)
      .describe('Accept a dataset folder with only some of its classes, or some of its split\'s images (labels stay those of the full class list).'),
    image_size: integer()
      .min(1)
      .nullable()
      .default(null)
      .describe(
        "Side of every view in pixels. null: the CLIP weights' input resolution (224 for RN50; `tpt preview`, which reads no weights, uses 224). A number must equal that resolution.",
      ),
    shard: z
      .string()
      .regex(SHARD_PATTERN, 'must look like "i/n" with 0 ≤ i < n, e.g. "0/4"')
      .nullable()
      .default(null)
      .describe('Process only slice i of n of the sample order ("i/n", 0-based); `tpt merge` joins the shards.'),
  })
  .strict();

/** A config as the schema accepts it: `augmix` may still be null (the dataset's rule). */
export type ParsedConfig = z.infer<typeof configSchema>;
/** The config a run uses: every null that stands for a dataset's rule resolved (`augmix`). */
export type TptConfig = Omit<ParsedConfig, 'augmix'> & { augmix: boolean };
export type ConfigKey = keyof TptConfig;

export const CONFIG_KEYS = Object.keys(configSchema.shape) as ConfigKey[];

/**
 * Resolves the keys whose null means "the rule": `augmix` is off for a method defined on crop-and-flip views
 * (Zero, MTA), else the dataset registry entry's rule (TPT's: on for the fine-grained sets).
 */
export function resolveConfig(parsed: ParsedConfig): TptConfig {
  const augmixRule = METHOD_SPECS[parsed.method].views === 'crop-flip' ? false : getDataset(parsed.dataset).augmix;
  return { ...parsed, augmix: parsed.augmix ?? augmixRule };
}

/** The schema's defaults as written (`augmix: null`), for the config reference and `--help`. */
export function schemaDefaults(): ParsedConfig {
  return configSchema.parse({});
}

/** The config of an empty file, resolved as a run uses it. */
export function defaultConfig(): TptConfig {
  return resolveConfig(schemaDefaults());
}

/** The folder of the run's dataset: `dataset_path` when set, else the seed's `imagenet_a_path`. */
export function datasetFolder(config: Pick<TptConfig, 'dataset_path' | 'imagenet_a_path'>): string {
  return config.dataset_path ?? config.imagenet_a_path;
}
