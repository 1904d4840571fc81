#!/usr/bin/env bash
# GPU readiness in one go, for a machine lent with an NVIDIA GPU (CUDA 12, cuDNN 9) for a few minutes:
#   1. installs onnxruntime-node's CUDA provider (its install script with ONNXRUNTIME_NODE_INSTALL=cuda12,
#      which the project's .npmrc otherwise skips; or, offline, from a NuGet package you copied over:
#      ORT_CUDA_NUPKG=Microsoft.ML.OnnxRuntime.Gpu.Linux.<version>.nupkg, the version onnxruntime-node's
#      script/install-metadata-versions.js names),
#   2. runs the ONNX golden tests, which then run on onnxruntime/cuda, at their CPU tolerance (1e-4 on
#      features, logits and the ctx gradient) with TF32 off (NVIDIA_TF32_OVERRIDE=0: plain fp32 math),
#   3. times `tpt bench` on onnxruntime/cuda for RN50 and ViT-B/16 (the real sizes, random weights; TF32 as the
#      GPU defaults),
#   4. prints one table (markdown) for the README.
# Takes a few minutes (no step waits for more than SAMPLES samples); every step's output goes to OUT.
#
#   scripts/gpu-check.sh                 # everything, results in OUT (default: a temp folder)
#   scripts/gpu-check.sh --dry-run       # the commands it would run
#   scripts/gpu-check.sh --table OUT     # the table again from a finished OUT
#
# Environment: SAMPLES (timed samples per architecture, default 4), OUT, ORT_CUDA_NUPKG (see above).
set -euo pipefail
cd "$(dirname "$0")/.."

SAMPLES="${SAMPLES:-4}"
ARCHS=("RN50" "ViT-B/16")
GOLDENS=(test/onnx/onnx-image-tower.test.ts test/onnx/onnx-vit-image-tower.test.ts test/onnx/text-tower.test.ts
  test/onnx/text-tower-rn50.test.ts test/onnx/pinned-context.test.ts test/tpt/cli-onnxruntime.test.ts)
ORT_BIN="node_modules/onnxruntime-node/bin/napi-v6/linux/x64"

bench_file() { printf '%s/bench-%s.json' "$1" "${2//\//-}"; }

# The table from OUT's files: goldens.json (vitest's JSON report), bench-<arch>.json (`tpt bench --json`),
# gpu.txt (nvidia-smi's name and driver). A missing file shows as "not run".
print_table() {
  local out="$1"
  node --input-type=module - "$out" "${ARCHS[@]}" <<'NODE'
import { existsSync, readFileSync } from 'node:fs';
const [out, ...archs] = process.argv.slice(2);
const read = (file) => (existsSync(`${out}/${file}`) ? readFileSync(`${out}/${file}`, 'utf8').trim() : undefined);
const gpu = read('gpu.txt') ?? 'unknown GPU';
const rows = [];
const goldens = read('goldens.json');
if (goldens === undefined) rows.push(['ONNX goldens (tolerance 1e-4, TF32 off)', 'not run', '']);
else {
  const r = JSON.parse(goldens);
  const ok = r.numFailedTests === 0 && r.numPassedTests > 0;
  rows.push(['ONNX goldens (tolerance 1e-4, TF32 off)', ok ? 'pass' : 'FAIL', `${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`]);
}
for (const arch of archs) {
  const text = read(`bench-${arch.replaceAll('/', '-')}.json`);
  const label = `tpt bench ${arch} (s/sample)`;
  if (text === undefined) { rows.push([label, 'not run', '']); continue; }
  const b = JSON.parse(text.split('\n').filter((l) => l.startsWith('{')).pop());
  const where = `${b.engine.name}/${b.engine.provider}`;
  rows.push([label, where === 'onnxruntime/cuda' ? b.seconds_per_sample.toFixed(2) : `NOT ON CUDA (${where})`,
    `${b.samples} samples × ${b.views} views, ${b.classes} classes; peak RSS ${b.peak_rss_mb} MB; setup ${b.setup_seconds.toFixed(1)} s`]);
}
const width = (i) => Math.max(...rows.map((r) => r[i].length), ['check', 'result', 'details'][i].length);
const line = (r) => `| ${r.map((c, i) => c.padEnd(width(i))).join(' | ')} |`;
console.log(`GPU check on ${gpu}`);
console.log(line(['check', 'result', 'details']));
console.log(`| ${[0, 1, 2].map((i) => '-'.repeat(width(i))).join(' | ')} |`);
for (const r of rows) console.log(line(r));
NODE
}

run() {
  echo "+ $*" >&2
  [ "$DRY_RUN" = 1 ] || "$@"
}

DRY_RUN=0
case "${1:-}" in
  --dry-run) DRY_RUN=1 ;;
  --table) print_table "${2:?--table needs the OUT folder of an earlier check}"; exit 0 ;;
  "") ;;
  *) echo "usage: scripts/gpu-check.sh [--dry-run | --table OUT]" >&2; exit 2 ;;
esac

if [ "$DRY_RUN" = 1 ]; then OUT="${OUT:-<OUT>}"; else OUT="${OUT:-$(mktemp -d -t tpt-gpu-check-XXXXXX)}"; mkdir -p "$OUT"; fi
started=$SECONDS
echo "== results in $OUT" >&2

# 0. the GPU, and a build of the command line
if [ "$DRY_RUN" = 0 ]; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$OUT/gpu.txt" ||
    { echo "gpu-check: nvidia-smi failed: no usable NVIDIA GPU here" >&2; exit 1; }
fi
[ -f dist/cli/main.js ] || run npm run build

# 1. the CUDA provider next to onnxruntime-node's CPU binaries
if [ -f "$ORT_BIN/libonnxruntime_providers_cuda.so" ]; then
  echo "== CUDA provider already installed" >&2
elif [ -n "${ORT_CUDA_NUPKG:-}" ]; then
  run unzip -j -o "$ORT_CUDA_NUPKG" 'runtimes/linux-x64/native/libonnxruntime_providers_*.so' -d "$ORT_BIN"
else
  # --ignore-scripts=false: the project's .npmrc turns install scripts off; this one fetches from NuGet
  run env ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node --ignore-scripts=false --foreground-scripts
fi

# 2. the goldens on CUDA (the tests take the CUDA provider once its library is there), in plain fp32
run env NVIDIA_TF32_OVERRIDE=0 npx vitest run --config test/vitest.config.ts "${GOLDENS[@]}" \
  --reporter=default --reporter=json --outputFile.json="$OUT/goldens.json" || true

# 3. speed on CUDA
for arch in "${ARCHS[@]}"; do
  if [ "$DRY_RUN" = 1 ]; then
    run node bin/tpt.js bench --backend onnxruntime --arch "$arch" --samples "$SAMPLES" --json
  else
    run node bin/tpt.js bench --backend onnxruntime --arch "$arch" --samples "$SAMPLES" --json > "$(bench_file "$OUT" "$arch")" || true
  fi
done

[ "$DRY_RUN" = 1 ] && exit 0
echo "== done in $((SECONDS - started)) s" >&2
print_table "$OUT"
