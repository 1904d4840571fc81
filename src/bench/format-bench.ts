import type { BenchResult } from './run-bench.js';

/** The human-readable report of `tpt bench` (without --json). */
export function formatBench(r: BenchResult): string {
  const s = (x: number) => `${x.toFixed(2)} s`;
  const lines = [
    `tpt bench: method ${r.method}, ${r.arch}, ${r.views} views${r.augmix ? ' (AugMix)' : ''}, ${r.classes} classes of ${r.dataset}, ${r.samples} samples`,
    `engine ${r.engine.name}/${r.engine.provider} (${r.engine.detail}), ${r.workers} worker${r.workers === 1 ? '' : 's'} on ${r.cpus} CPUs, Node ${r.node}`,
    ...r.passed_over.map((reason) => `  (passed over ${reason})`),
    '',
    `seconds per sample   ${s(r.seconds_per_sample)}   (wall ${s(r.wall_seconds)} / ${r.samples})`,
    `set-up (not counted) ${s(r.setup_seconds)}   (weights, models${r.warmup_samples > 0 ? `, ${r.warmup_samples} warm-up sample${r.warmup_samples === 1 ? '' : 's'} (one per worker)` : ''})`,
    'thread-seconds per sample, by phase (several workers overlap, so these add up to more):',
    `  preprocessing      ${s(r.breakdown.preprocessing)}   (AugmenterTPT views on the main thread, ahead of the model;
                             JPEG decoding runs in sharp's thread pool)`,
    `  image tower        ${s(r.breakdown.image_tower)}   (all views, once)`,
    `  tuning step        ${s(r.breakdown.tuning)}   (text tower forward + backward, loss, AdamW; no-gradient methods: their feature arithmetic)`,
    `  evaluation         ${s(r.breakdown.evaluation)}   (the final scores; base text features are cached per run)`,
    `waited for views     ${s(r.waited_for_views)}   (per sample, with a worker free: ~0 when preprocessing keeps ahead)`,
    `peak RSS             ${r.peak_rss_mb.toFixed(0)} MB (process, all threads)`,
  ];
  r.worker_memory_mb.forEach((m, i) => lines.push(`  worker ${i + 1}: WebAssembly heap ${m.wasm_heap.toFixed(0)} MB, JavaScript heap ${m.js_heap.toFixed(0)} MB`));
  return lines.join('\n') + '\n';
}
