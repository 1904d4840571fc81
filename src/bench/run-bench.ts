import { availableParallelism } from 'node:os';
import sharp from 'sharp';
import { parseConfig } from '../config/load.js';
import { lossContextOf, viewCountFor } from '../config/cross-checks.js';
import type { TptConfig } from '../config/schema.js';
import { createAugmenter } from '../data/augmenters.js';
import { decodeImage } from '../data/image.js';
import { Rng } from '../data/rng.js';
import { drawSyntheticImage, SHAPE_KINDS } from '../demo/synthetic-image.js';
import type { BackendChoice } from '../engine/choices.js';
import { selectEngine, type SelectedEngine } from '../engine/create-towers.js';
import { backendName, engineRecord, type EngineRecord } from '../engine/towers.js';
import { TptError } from '../errors.js';
import { allDatasets, datasetClassnames, type DatasetName, DEFAULT_DATASET, getDataset } from '../data/datasets/registry.js';
import { loadTokenizer } from '../model/tokenizer.js';
import type { PhaseSeconds } from '../tta/engine.js';
import { promptSetupFor } from '../tta/model-loader.js';
import { assertMethodCanRun, METHOD_SPECS, type MethodName } from '../tta/methods/names.js';
import { startSampleProcessor, type MethodProcessor } from '../tta/sample-processor.js';
import { ViewPrefetcher, type PlannedSample, type PreparedSample } from '../tta/view-prefetch.js';
import { resolveWorkerCount } from '../workers/worker-count.js';
import { benchArchSize, buildBenchWeights } from './bench-model.js';

/**
 * `tpt bench`'s core: the complete per-sample loop of `tpt run` (decode → AugmenterTPT views → the method's
 * per-sample tuner, by default TPT: base logits → one AdamW step of defaultTPT over all views → TPT logits),
 * built by the run's own processor builder (src/tta/sample-processor.ts), on a random-weight model of a real architecture
 * and synthetic photo-sized JPEGs, with the same prefetching and the same worker threads as a run. Nothing
 * is read from or written to disk.
 */

export interface BenchOptions {
  arch: string;
  /** The test-time adaptation method (default tpt), with its official hyperparameters. */
  method?: MethodName;
  /** Views per sample (view 0 + views − 1 augmented ones). */
  views: number;
  /** Class prompts: the first N class names of `dataset`. */
  classes: number;
  /**
   * Whose class names: default the registry's default dataset's up to its class count, beyond it the first
   * dataset with enough classes. A dataset named here also brings its views rule (AugMix on for the
   * cross-dataset sets), so the cost is that of a run on it.
   */
  dataset?: DatasetName;
  samples: number;
  /** 0: one per core on a CPU backend, 1 on a GPU (as `tpt run`). */
  workers: number;
  /** Intra-op threads of a native engine (onnxruntime); default every core. */
  threads?: number;
  backend: BackendChoice;
  seed: number;
  /** Photo size (the typical ImageNet-A image is about 500×375). */
  imageWidth?: number;
  imageHeight?: number;
  /**
   * One untimed sample per worker before the clock starts (default true): XNNPACK packs each convolution's
   * weights on its first use and the WebAssembly heap grows to its working size, once per worker and run.
   */
  warmup?: boolean;
  onProgress?: (done: number, total: number) => void;
}

const MB = 1024 * 1024;
const round = (x: number, digits = 3) => Number(x.toFixed(digits));

export interface BenchResult {
  /** Wall time of the sample loop divided by the samples (set-up excluded, as a run amortises it). */
  seconds_per_sample: number;
  wall_seconds: number;
  /** Includes the warm-up samples (one per worker) when warmup_samples > 0. */
  setup_seconds: number;
  warmup_samples: number;
  /**
   * Thread-seconds per sample in each phase. With several workers these overlap each other and the
   * preprocessing (main thread), so they add up to more than seconds_per_sample.
   */
  breakdown: { preprocessing: number; image_tower: number; tuning: number; evaluation: number };
  /**
   * Seconds per sample that the loop waited for a sample's views while a worker was free: near 0 when
   * preprocessing keeps ahead of the model (worker threads); the whole preprocessing time in one thread.
   */
  waited_for_views: number;
  /** The process's peak resident set (all threads). */
  peak_rss_mb: number;
  /** Per worker: its WebAssembly heap (model + activations; it only grows) and its peak JavaScript heap. */
  worker_memory_mb: { wasm_heap: number; js_heap: number }[];
  backend: string;
  /** The engine that ran the towers. */
  engine: EngineRecord;
  /** Engines `auto` passed over, each with its reason (empty for an explicit choice). */
  passed_over: string[];
  workers: number;
  method: MethodName;
  arch: string;
  views: number;
  classes: number;
  samples: number;
  cpus: number;
  node: string;
  /** The dataset whose class names (and views rule, when asked for) the prompts used. */
  dataset: DatasetName;
  augmix: boolean;
}

/**
 * The run config the bench's loop is equivalent to: the seed's baseline (AugmenterTPT, no AugMix, defaultTPT,
 * 1 step) under the chosen method with its official hyperparameters. With `--dataset`, AugMix follows that set's
 * rule as a run on it would, except for methods defined on crop-and-flip views (never AugMix).
 */
export function benchConfig(options: Pick<BenchOptions, 'arch' | 'views' | 'workers' | 'seed' | 'method' | 'dataset'>, backend: string): TptConfig {
  const size = benchArchSize(options.arch);
  const config = parseConfig(
    {
      coop_weight_path: '',
      method: options.method ?? 'tpt',
      augmenter: 'AugmenterTPT',
      n_aug: options.views - 1,
      // The baseline's no AugMix, unless a dataset was asked for: then its rule, as a run on it has.
      augmix: options.dataset === undefined || METHOD_SPECS[options.method ?? 'tpt'].views === 'crop-flip' ? false : getDataset(options.dataset).augmix,
      loss: 'defaultTPT',
      image_size: size.inputResolution,
      backend,
      workers: options.workers,
      seed: options.seed,
      save_imgs: false,
    },
    'bench settings',
  );
  assertMethodCanRun(config, lossContextOf(config), viewCountFor(config), { hint: 'Use at least 10 --views (defaultTPT keeps int(0.1·views) of them).' });
  return config;
}

/** The dataset whose class names the prompts use: as asked, else the default one, or the first with enough classes. */
export function benchDataset(o: Pick<BenchOptions, 'classes' | 'dataset'>): DatasetName {
  if (o.dataset !== undefined) return o.dataset;
  if (o.classes <= datasetClassnames(DEFAULT_DATASET).length) return DEFAULT_DATASET;
  const largest = allDatasets().reduce((a, b) => (b.classes.length > a.classes.length ? b : a));
  return (allDatasets().find((s) => s.classes.length >= o.classes) ?? largest).name;
}

function checkOptions(o: BenchOptions): void {
  const positive = (name: string, v: number, max = Infinity) => {
    if (!Number.isInteger(v) || v < 1 || v > max) {
      throw new TptError('BENCH_OPTIONS', `--${name} must be an integer from 1 to ${max}, got ${v}`, { hint: `Pass e.g. --${name} 2.` });
    }
  };
  positive('views', o.views);
  positive('classes', o.classes, datasetClassnames(benchDataset(o)).length);
  positive('samples', o.samples);
  if (o.threads !== undefined) positive('threads', o.threads, 256);
  if (!Number.isInteger(o.workers) || o.workers < 0 || o.workers > 256) {
    throw new TptError('BENCH_OPTIONS', `--workers must be an integer from 1 to 256, got ${o.workers}`, { hint: 'Pass e.g. --workers 2, or leave it out for one per core.' });
  }
}

/** Photo-like JPEGs (gradient, shapes, noise), encoded before the clock starts as files on disk would be. */
async function syntheticJpegs(count: number, seed: number, width: number, height: number): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const rng = Rng.forSample(seed, `bench-image-${i}`);
    const pixels = drawSyntheticImage({ width, height, motif: SHAPE_KINDS[i % SHAPE_KINDS.length]!, hue: (i * 0.37) % 1 }, rng);
    out.push(await sharp(pixels, { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer());
  }
  return out;
}

async function startProcessor(config: TptConfig, options: BenchOptions, engine: SelectedEngine): Promise<MethodProcessor> {
  const classnames = datasetClassnames(benchDataset(options)).slice(0, options.classes);
  const weights = buildBenchWeights(options.arch, options.seed, { shared: options.workers > 1 });
  const setup = async () => promptSetupFor(config, weights, await loadTokenizer(), classnames);
  return startSampleProcessor(config, engine, { weights, classnames, setup }, options.workers);
}

export async function runBench(options: BenchOptions): Promise<BenchResult> {
  checkOptions(options);
  const engine = await selectEngine(options.backend, options.threads !== undefined ? { threads: options.threads } : {});
  const backend = { name: backendName(engine.info) };
  options = { ...options, workers: resolveWorkerCount(options.workers, engine.info) };
  const config = benchConfig(options, backend.name);
  const setupStart = performance.now();
  const size = benchArchSize(options.arch).inputResolution;
  const augmenter = createAugmenter(config, size);
  const jpegs = await syntheticJpegs(options.samples, options.seed, options.imageWidth ?? 500, options.imageHeight ?? 375);
  const processor = await startProcessor(config, options, engine);
  const warmups = options.warmup === false ? 0 : processor.concurrency;
  if (warmups > 0) {
    const image = await decodeImage(jpegs[0]!);
    const warmupSamples: PlannedSample[] = Array.from({ length: warmups }, (_, k) => ({ position: k, index: k, file: `bench/warmup-${k}`, target: 0 }));
    // All at once, so that each idle worker takes one.
    await Promise.all(warmupSamples.map((sample) => processor.process(augmenter.makeViews(image, Rng.forSample(options.seed, sample.file)), sample)));
  }
  const setupSeconds = (performance.now() - setupStart) / 1000;

  const plan: PlannedSample[] = jpegs.map((_, i) => ({ position: i, index: i, file: `bench/${i}.jpg`, target: i % options.classes }));
  let preprocessing = 0;
  const prepare = async (sample: PlannedSample): Promise<PreparedSample> => {
    // JPEG decoding runs in sharp's thread pool; only the view making (synchronous, on this thread) is timed,
    // since the wall time of an await would also count the model work that blocks this thread meanwhile.
    const image = await decodeImage(jpegs[sample.position]!);
    const t0 = performance.now();
    const views = augmenter.makeViews(image, Rng.forSample(options.seed, sample.file));
    preprocessing += (performance.now() - t0) / 1000;
    return { kind: 'views', sample, views, image: undefined };
  };
  const phases: PhaseSeconds = { imageTower: 0, tuning: 0, evaluation: 0 };
  try {
    const loopStart = performance.now();
    // As `tpt run`: the next samples' views are made while the workers tune (config.num_workers ahead).
    const prefetcher = new ViewPrefetcher(plan, prepare, config.num_workers, 0);
    const inFlight = new Set<Promise<void>>();
    let done = 0;
    let waited = 0;
    for (let position = 0; position < plan.length; position++) {
      const waitStart = performance.now();
      const prepared = await prefetcher.take(position);
      waited += (performance.now() - waitStart) / 1000;
      if (prepared.kind !== 'views') throw new Error('bench images always decode');
      const task = processor.process(prepared.views, prepared.sample).then((outcome) => {
        phases.imageTower += outcome.seconds.imageTower;
        phases.tuning += outcome.seconds.tuning;
        phases.evaluation += outcome.seconds.evaluation;
        done += 1;
        options.onProgress?.(done, plan.length);
      });
      inFlight.add(task);
      void task.finally(() => inFlight.delete(task)).catch(() => undefined);
      if (inFlight.size >= processor.concurrency) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    const wall = (performance.now() - loopStart) / 1000;
    const n = plan.length;
    return {
      seconds_per_sample: round(wall / n),
      wall_seconds: round(wall),
      setup_seconds: round(setupSeconds),
      warmup_samples: warmups,
      breakdown: {
        preprocessing: round(preprocessing / n),
        image_tower: round(phases.imageTower / n),
        tuning: round(phases.tuning / n),
        evaluation: round(phases.evaluation / n),
      },
      waited_for_views: round(waited / n),
      peak_rss_mb: round(process.resourceUsage().maxRSS / 1024, 1),
      worker_memory_mb: processor.workerStats().map((s) => ({ wasm_heap: round(s.memory.wasmHeapBytes / MB, 1), js_heap: round(s.memory.jsHeapBytes / MB, 1) })),
      backend: backend.name,
      engine: engineRecord(engine.info),
      passed_over: engine.fallbacks,
      workers: processor.concurrency,
      method: config.method,
      arch: options.arch,
      views: options.views,
      classes: options.classes,
      samples: n,
      cpus: availableParallelism(),
      node: process.version,
      dataset: benchDataset(options),
      augmix: config.augmix,
    };
  } finally {
    await processor.close();
  }
}
