import { existsSync, readdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { selectEngine, selectedEngineLabel, type SelectedEngine } from '../engine/create-towers.js';
import { backendName, engineRecord } from '../engine/towers.js';
import { datasetClassnames } from '../data/datasets/registry.js';
import { TEMPLATE_SETS } from '../data/templates/template-sets.js';
import { resolveWorkerCount } from '../workers/worker-count.js';
import { lossContextOf } from '../config/cross-checks.js';
import { floatConfigKeys } from '../config/describe.js';
import { datasetFolder, type TptConfig } from '../config/schema.js';
import { createAugmenter } from '../data/augmenters.js';
import { openDataset } from '../data/dataset.js';
import { TptError } from '../errors.js';
import { assertMethodCanRun, METHOD_SPECS, methodLabel } from './methods/names.js';
import { readOnlineState, streamOrderSha256 } from '../run/online-state.js';
import { PyFloat, pythonJsonDumps, type PyJson } from '../metrics/python-json.js';
import { createRunLogger } from '../run/logger.js';
import { silentReporter, type RunReporter, type RunStatus } from '../run/reporter.js';
import { openRunFolder, removeEventFiles, RUN_FILES, runFolderPath } from '../run/run-folder.js';
import { lockRunFolder, type RunLock } from '../run/run-lock.js';
import { runFolderWriteError } from '../run/write-failure.js';
import { summarizeRecords, type OnlineSummary, type RunSummary } from '../run/summary.js';
import { loadModelInputs, type ModelInputs } from './model-loader.js';
import { startSampleProcessor } from './sample-processor.js';
import { archLabel } from '../weights/arch.js';
import { contextRecordOf, type RanRecord } from '../run/run-record.js';
import { RunSession, type SampleProcessor } from './run-session.js';
import { donePrefix, planSamples } from './sample-plan.js';
import { prepareSample, ViewPrefetcher } from './view-prefetch.js';
import { makeFolderSync } from '../io/make-folder.js';
import { describeWeightsSource } from '../weights/load.js';

/**
 * `tpt run`'s library core, the seed's run() + test_time_adapt_eval(): engine, dataset, sample list, run
 * folder (new, resumed or fresh), weights, then a `RunSession` over the positions still to do. The arithmetic
 * of a sample is the tuner's (`engine.ts`); this file decides what runs where and when. Towers are built only
 * where samples are tuned: in this thread (one worker, or the native engine), or in each worker thread.
 */

export type { SampleProcessor } from './run-session.js';

export { inThreadProcessor } from './sample-processor.js';

/** The config's method, in this thread or in `workers` threads (tfjs on a CPU backend only): see sample-processor.ts. */
async function defaultProcessor(config: TptConfig, engine: SelectedEngine, inputs: ModelInputs): Promise<SampleProcessor> {
  const workers = resolveWorkerCount(config.workers, engine.info);
  return startSampleProcessor(config, engine, { weights: inputs.weights, classnames: datasetClassnames(config.dataset), setup: () => inputs.setup }, workers);
}

export interface RunTptOptions {
  /** Start over: delete the folder's earlier results of this config. */
  fresh?: boolean;
  /** Stop taking new samples once aborted; samples in flight finish and are written. A string reason (the
   * signal's name, "SIGTERM") is recorded as summary.json's interrupted_by. */
  signal?: AbortSignal;
  /** Stop (as if interrupted) after this many positions in this process. */
  stopAfter?: number;
  reporter?: RunReporter;
  /** summary.json is rewritten at most this often during the run (and always at the end). Default 10 s. */
  summaryEverySeconds?: number;
  /** Heartbeat age after which another process's run-folder lock counts as abandoned (default 5 minutes; TPT_LOCK_STALE_MS). */
  lockStaleMs?: number;
  /** Replaces the default processor (tests plug in here); it gets the selected engine and the model inputs. */
  createProcessor?: (config: TptConfig, engine: SelectedEngine, inputs: ModelInputs) => Promise<SampleProcessor> | SampleProcessor;
}

export interface RunTptResult {
  status: RunStatus;
  dir: string;
  summary: RunSummary;
}

/** The config as the seed's `json.dumps(vars(args), indent=4)` prints it (floats as Python floats). */
export function configJsonText(config: TptConfig): string {
  const floats = new Set<string>(floatConfigKeys());
  const entries = Object.entries(config).map(([key, value]) => [key, floats.has(key) && typeof value === 'number' ? new PyFloat(value) : (value as PyJson)]);
  return pythonJsonDumps(Object.fromEntries(entries) as PyJson, 4);
}

export async function runTpt(config: TptConfig, options: RunTptOptions = {}): Promise<RunTptResult> {
  // The lock comes first, before anything slow is loaded: a second run of the same config is refused at once,
  // and nothing in the folder is read or written while another process holds it.
  const { dir } = runFolderPath(config);
  const created = !existsSync(dir);
  let lock: RunLock;
  try {
    makeFolderSync(dir);
    const reporter = options.reporter ?? silentReporter;
    lock = lockRunFolder(dir, { ...(options.lockStaleMs !== undefined ? { staleMs: options.lockStaleMs } : {}), onWait: (message) => reporter.notice(message) });
  } catch (error) {
    throw runFolderWriteError(error, dir) ?? error;
  }
  const saved = { samples: undefined as number | undefined };
  try {
    return await runLocked(config, options, lock, saved);
  } catch (error) {
    throw runFolderWriteError(error, dir, saved.samples) ?? error;
  } finally {
    lock.release();
    // A run refused before it wrote anything (a bad dataset path, say) leaves no empty folder behind.
    if (created) removeIfEmpty(dir);
  }
}

function removeIfEmpty(dir: string): void {
  try {
    if (readdirSync(dir).length === 0) rmdirSync(dir);
  } catch {
    // gone already, or not ours to remove
  }
}

/** Everything after the lock; `saved.samples` follows the samples whose lines are whole in samples.jsonl. */
async function runLocked(config: TptConfig, options: RunTptOptions, lock: RunLock, saved: { samples: number | undefined }): Promise<RunTptResult> {
  const reporter = options.reporter ?? silentReporter;
  // Loads the engine's runtime (and a fallback's reason), builds no model.
  const engine = await selectEngine(config.backend);
  const dataset = await openDataset(datasetFolder(config), { dataset: config.dataset, allowPartial: config.allow_partial_dataset, splitFile: config.split_file });
  const plan = planSamples(dataset.samples, config);
  // Host arrays only (weights, vocabulary, prompt plan): a bad checkpoint is refused before the run folder's
  // files are touched, and the banner reads the architecture from here.
  const inputs = await loadModelInputs(config);
  // image_size null (the default) is the weights' input resolution; loadModelInputs refused any other size.
  const augmenter = createAugmenter(config, config.image_size ?? inputs.weights.arch.imageResolution);
  // The augmenter's actual view count (the config check used the formula).
  assertMethodCanRun(config, lossContextOf(config), augmenter.viewCount());
  // What runs, read from the loaded inputs (not from config keys): recorded in config.json and summary.json.
  const ran: RanRecord = { method: config.method, arch: archLabel(inputs.weights.arch), context: contextRecordOf(config, inputs.weights.coopCtx !== undefined) };
  let processor: SampleProcessor | undefined;
  try {
    const folder = openRunFolder(config, { fresh: options.fresh ?? false, backend: backendName(engine.info), engine: engineRecord(engine.info), ran });
    saved.samples = folder.samples.length;
    const start = donePrefix(plan, folder.samples, folder.skipped);
    const online: OnlineSummary | undefined =
      METHOD_SPECS[config.method].kind === 'online'
        ? { streamOrderSha256: streamOrderSha256(plan), ...(config.shard !== null && config.online_shards ? { shards: config.online_shards } : {}) }
        : undefined;

    if (start === plan.length && folder.previousSummary?.finished) {
      const summary = summarizeRecords(folder.samples, {
        runName: folder.name,
        finished: true,
        samplesTotal: plan.length,
        filesSkipped: folder.skipped.length,
        elapsedSeconds: folder.previousSummary.elapsed_seconds,
        timedSamples: plan.length,
        backend: folder.previousSummary.backend,
        ...(folder.previousSummary.engine ? { engine: folder.previousSummary.engine } : {}),
        ran,
        workers: folder.previousSummary.workers,
        classnames: datasetClassnames(config.dataset),
        ...(online ? { online } : {}),
      });
      reporter.end('already-finished', summary, folder.dir, config.out_dir);
      return { status: 'already-finished', dir: folder.dir, summary };
    }

    // Built only now, so that a refused or already finished run builds no model and starts no worker threads.
    processor = options.createProcessor ? await options.createProcessor(config, engine, inputs) : await defaultProcessor(config, engine, inputs);
    if (online) {
      // The state after the recorded samples, exactly: their updates replayed in stream order.
      const updates = readOnlineState(folder.dir, folder.samples);
      if (processor.restore === undefined) throw new Error(`the processor of online method ${config.method} cannot restore its state`);
      processor.restore(updates);
    }

    // No sample done yet: earlier event files hold at most the start summaries (and the scalars of a sample
    // whose line was never written); this session writes them again, so drop them rather than duplicate.
    if (start === 0) removeEventFiles(folder.dir);
    const log = createRunLogger(join(folder.dir, RUN_FILES.log));
    try {
      const prefetcher = new ViewPrefetcher(
        plan,
        (sample) => prepareSample(sample, { datasetRoot: dataset.imageRoot, seed: config.seed, viewMaker: augmenter, keepImage: config.save_imgs }),
        config.num_workers,
        start,
      );
      const stop = AbortSignal.any([lock.lost, ...(options.signal ? [options.signal] : [])]);
      const session = new RunSession({
        config,
        folder,
        plan,
        start,
        backend: backendName(engine.info),
        engine: engineRecord(engine.info),
        ran,
        processor,
        prefetcher,
        log,
        reporter,
        signal: stop,
        onSampleSaved: () => {
          saved.samples = (saved.samples ?? 0) + 1;
        },
        stopAfter: options.stopAfter,
        summaryEverySeconds: options.summaryEverySeconds ?? 10,
        ...(online ? { online } : {}),
      });
      const configText = configJsonText(config);
      if (engine.info.engine === 'onnxruntime' && config.workers > 1) {
        log.logger.warn({ workers: config.workers }, 'workers ignored: onnxruntime runs one in-process engine on every core');
      }
      const weightsArch = archLabel(inputs.weights.arch);
      if (weightsArch !== config.arch) log.logger.warn({ config: config.arch, weights: weightsArch }, 'arch differs from the weights; the weights decide');
      // The seed's `writer.add_text("Config", ...)` once per run; the HParams session in every event file of
      // the run (same values, so TensorBoard shows one session).
      if (start === 0) session.events.addText('Config', configText);
      session.tracker.startHparamsSession(config);
      log.logger.info(
        {
          run: folder.name,
          resumed: folder.resumed,
          start,
          total: plan.length,
          engine: engineRecord(engine.info),
          workers: processor.concurrency,
          ...(engine.fallbacks.length > 0 ? { passedOver: engine.fallbacks } : {}),
          repairedBytes: folder.repairedBytes,
          config,
        },
        folder.resumed ? 'run resumed' : 'run started',
      );
      for (const repair of folder.repairs) log.logger.warn(repair, 'cut a torn record off the end of a file (a run stopped mid-write)');
      reporter.banner({
        runDir: folder.dir,
        resumed: folder.resumed,
        alreadyDone: start,
        total: plan.length,
        seed: config.seed,
        method: methodLabel(config),
        backend: selectedEngineLabel(engine),
        weights: `${config.clip_weights} (${describeWeightsSource(inputs.weights)})`,
        arch: weightsArch === config.arch ? weightsArch : `${weightsArch} (the config says ${config.arch}; the weights decide)`,
        coop:
          config.templates !== null
            ? `not used: the ${config.templates} template ensemble classifies (${TEMPLATE_SETS[config.templates].templates.length} templates)`
            : config.coop_weight_path !== ''
            ? config.coop_weight_path
            : inputs.weights.coopCtx
              ? `the context stored in ${config.clip_weights}`
              : `none (ctx_init "${config.ctx_init}")`,
        vocabulary: inputs.vocabulary,
        dataset: {
          root: dataset.root,
          samples: dataset.samples.length,
          classes: dataset.classes.filter((c) => c.present).length,
          complete: dataset.complete,
          title: dataset.spec.title,
          ...(dataset.splitFile === undefined ? {} : { splitFile: dataset.splitFile }),
        },
        shard: config.shard,
        configJson: configText,
      });
      session.writeSummary(false);

      let complete = false;
      try {
        complete = await session.run();
      } catch (e) {
        // Best effort: on a full disk these writes fail too, and the first failure is the one to report.
        try {
          session.close(false);
          log.logger.error({ error: String(e) }, 'run failed');
        } catch {
          // the records written so far are whole; summary.json is rebuilt from them on resume
        }
        throw e;
      }
      if (lock.lostReason !== undefined) {
        // Another process may own the folder now: write nothing more into it.
        session.abandon();
        throw new TptError('RUN_LOCKED', `lost the lock of ${folder.dir} (${lock.lostReason.message}); stopped after ${saved.samples ?? 0} saved samples`, {
          hint: 'Another process may have taken the folder over. Check that no two runs share it, then run the command again to resume.',
        });
      }
      const interruptedBy = complete ? undefined : signalName(options.signal);
      const summary = session.close(complete, interruptedBy);
      log.logger.info(
        { summary, doneThisSession: session.positionsDoneThisSession, ...(interruptedBy ? { interruptedBy } : {}) },
        complete ? 'run finished' : 'run stopped before the end',
      );
      const status: RunStatus = complete ? 'finished' : 'interrupted';
      reporter.end(status, summary, folder.dir, config.out_dir);
      return { status, dir: folder.dir, summary };
    } finally {
      log.close();
    }
  } finally {
    await processor?.close();
  }
}

/** What stopped the run, for summary.json's interrupted_by: the signal's name the CLI aborts with. */
function signalName(signal: AbortSignal | undefined): string | undefined {
  if (signal?.aborted !== true) return undefined;
  return typeof signal.reason === 'string' ? signal.reason : 'abort';
}
