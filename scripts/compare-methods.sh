#!/usr/bin/env bash
# Test-time adaptation methods side by side on one test set: one `tpt run` per method with its official
# settings (configs/methods/<method>.json: views, AugMix, hyperparameters), then one `tpt report` table with
# a row per method's run folder. Methods and sources: README, "Methods".
#   methods: tpt c-tpt r-tpt zero mta, and the online tda dmn-zs boostadapter (METHODS picks some, e.g. METHODS="tpt tda")
# Each config holds ImageNet-A's official views; TDA's official loaders use one view on ImageNet and the fine-grained
# sets (add TPT_EXTRA="--set n_aug=0" for a TDA-only comparison there).
# Shrink it with TPT_EXTRA="--set reduced_size=500"; spread it over machines with shards (scripts/slurm-array.sh).
#
# Inputs (flags or environment variables; flags win):
#   --dataset NAME        DATASET          the test set (default: imagenet-a)
#   --dataset-path DIR    DATASET_PATH     its folder (ImageNet-A: --imagenet-a works too)
#   --imagenet-a DIR      IMAGENET_A       ImageNet-A (default: each config's imagenet-a/)
#   --clip-weights P      CLIP_WEIGHTS     CLIP weights for every method (default: each config's weights/RN50.pt)
#   --coop-weights P      COOP_WEIGHTS     a CoOp context for every method (default: none, "a photo of a")
#   --out-dir D           OUT_DIR          parent of the run folders (default: runs)
#   --dry-run                              print the commands without running them
#   METHODS     default "tpt c-tpt r-tpt zero mta tda dmn-zs boostadapter"
#   TPT_EXTRA   extra arguments for every `tpt run`, e.g. "--set reduced_size=500 --set arch=ViT-B/16"
#   TPT         the tpt command (default: npx tpt)
# A run that already finished is not repeated (`tpt run` finds its folder); a killed one resumes.
set -euo pipefail
cd "$(dirname "$0")/.."

script_flag() {
  SHIFT_BY=2
  case "$1" in
    --dataset) DATASET="$2" ;;
    --dataset-path) DATASET_PATH="$2" ;;
    *) return 1 ;;
  esac
}

# shellcheck source=scripts/sweep-common.sh
. scripts/sweep-common.sh

DATASET="${DATASET:-imagenet-a}"
read -r -a METHOD_LIST <<< "${METHODS:-tpt c-tpt r-tpt zero mta tda dmn-zs boostadapter}"
for method in "${METHOD_LIST[@]}"; do
  [ -f "configs/methods/$method.json" ] || { echo "$script_name: no configs/methods/$method.json (METHODS: tpt c-tpt r-tpt zero mta tda dmn-zs boostadapter)" >&2; exit 2; }
done

command_for() {
  local method="$1"
  CMD=("${TPT_CMD[@]}" run --config "configs/methods/$method.json" --set "run_name=compare-$method" --set "dataset=$DATASET")
  [ -n "${DATASET_PATH:-}" ] && CMD+=(--set "dataset_path=$DATASET_PATH")
  CMD+=("${COMMON[@]}" ${EXTRA[@]+"${EXTRA[@]}"})
}

echo "compare-methods: ${#METHOD_LIST[@]} runs on $DATASET into $OUT_DIR/ (${METHOD_LIST[*]}), then one tpt report"
run_plan "${METHOD_LIST[@]}"

echo; echo "== $DATASET: one row per method (its run folder compare-<method>_…) =="
FOLDERS=()
for method in "${METHOD_LIST[@]}"; do FOLDERS+=("$OUT_DIR/compare-${method}_*"); done
# (the globs are tpt report's own, so they are passed unexpanded)
"${TPT_CMD[@]}" report "${FOLDERS[@]}"
