#!/usr/bin/env bash
# Every result table of the seed notebook, in order: 26 distinct runs, then one `tpt report` per table.
#   7.6      baseline: AugmenterTPT 63 views, defaultTPT, without and with AugMix (base top-1 = zero-shot)
#   8.6.1    PatchAugmenter naug 4 × npatch 16: defaultTPT and patch_loss1 … patch_loss6
#   9.2.1    PatchAugmenter + defaultTPT: overlap × naug/npatch grid (plus a plot)
#   10.2.1   AugmenterTPT: crossentropy_hard1/hard5/soft vs defaultTPT; then PatchAugmenter + hard1 grid
#   11       the best three: baseline, AugmenterTPT + hard1, PatchAugmenter 4×16 overlap 0.8 + hard1
# Runs shared by several tables are made once. On one CPU machine the full set takes weeks (the seed's
# per-sample cost × 7,500 images × 26 runs): shrink it with TPT_EXTRA="--set reduced_size=500", or spread
# each run over machines with scripts/slurm-array.sh or scripts/k8s-indexed-job.yaml.
#
# Inputs (flags or environment variables; flags win):
#   --imagenet-a DIR    IMAGENET_A     extracted ImageNet-A (default: the configs' imagenet-a/)
#   --clip-weights P    CLIP_WEIGHTS   RN50.pt or a `tpt convert` folder (default: the configs')
#   --coop-weights P    COOP_WEIGHTS   CoOp model.pth.tar-50; set it empty to use the ctx stored in a
#                                      converted weights folder (default: the configs')
#   --out-dir D         OUT_DIR        parent of the run folders (default: runs)
#   --dry-run                          print the commands without running them
#   TPT_EXTRA   extra arguments for every `tpt run`, e.g. "--set reduced_size=500 --set workers=2"
#   TPT         the tpt command (default: npx tpt)
# A run that already finished is not repeated (`tpt run` finds its folder); a killed one resumes.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/sweep-common.sh
. scripts/sweep-common.sh

# run name|config|extra key=value settings (space-separated)
RUNS=(
  "seed-baseline|configs/baseline.json|"
  "seed-baseline-augmix|configs/baseline-augmix.json|"
  "seed-patch|configs/patch-defaultTPT.json|"
  "seed-patch|configs/patch-loss1.json|"
  "seed-patch|configs/patch-loss2.json|"
  "seed-patch|configs/patch-loss3.json|"
  "seed-patch|configs/patch-loss4.json|"
  "seed-patch|configs/patch-loss5.json|"
  "seed-patch|configs/patch-loss6.json|"
  "seed-overlap|configs/overlap.json|n_aug=0 n_patches=64 overlap=0.0"
  "seed-overlap|configs/overlap.json|n_aug=0 n_patches=64 overlap=0.2"
  "seed-overlap|configs/overlap.json|n_aug=0 n_patches=64 overlap=0.4"
  "seed-overlap|configs/overlap.json|n_aug=2 n_patches=32 overlap=0.2"
  "seed-overlap|configs/overlap.json|n_aug=2 n_patches=32 overlap=0.4"
  "seed-overlap|configs/overlap.json|n_aug=2 n_patches=32 overlap=0.6"
  "seed-overlap|configs/overlap.json|n_aug=4 n_patches=16 overlap=0.4"
  "seed-overlap|configs/overlap.json|n_aug=4 n_patches=16 overlap=0.6"
  "seed-overlap|configs/overlap.json|n_aug=4 n_patches=16 overlap=0.8"
  "seed-overlap|configs/overlap.json|n_aug=8 n_patches=8 overlap=0.8"
  "seed-ce|configs/crossentropy-hard1.json|"
  "seed-ce|configs/crossentropy-hard5.json|"
  "seed-ce|configs/crossentropy-soft.json|"
  "seed-overlap-hard1|configs/best-patch.json|n_aug=2 n_patches=32 overlap=0.4"
  "seed-overlap-hard1|configs/best-patch.json|n_aug=2 n_patches=32 overlap=0.6"
  "seed-overlap-hard1|configs/best-patch.json|n_aug=4 n_patches=16 overlap=0.4"
  "seed-overlap-hard1|configs/best-patch.json|n_aug=4 n_patches=16 overlap=0.6"
  "seed-overlap-hard1|configs/best-patch.json|n_aug=4 n_patches=16 overlap=0.8"
)

command_for() {
  local name config settings kv
  IFS='|' read -r name config settings <<< "$1"
  CMD=("${TPT_CMD[@]}" run --config "$config" --set "run_name=$name")
  for kv in $settings; do CMD+=(--set "$kv"); done
  CMD+=("${COMMON[@]}" ${EXTRA[@]+"${EXTRA[@]}"})
}

echo "reproduce-seed: ${#RUNS[@]} runs into $OUT_DIR/, then the seed's tables 7.6, 8.6.1, 9.2.1, 10.2.1 and 11"
run_plan "${RUNS[@]}"

report() { echo; echo "== $1 =="; shift; "${TPT_CMD[@]}" report "$@"; }
report "Table 7.6: zero-shot (base columns) and TPT without / with AugMix" \
  "$OUT_DIR/seed-baseline_*" "$OUT_DIR/seed-baseline-augmix_*"
report "Table 8.6.1: patch losses, PatchAugmenter naug 4 × npatch 16" "$OUT_DIR/seed-patch_*" \
  --plot "$OUT_DIR/seed-patch.png" --by loss
report "Table 9.2.1: overlap × naug/npatch, defaultTPT" "$OUT_DIR/seed-overlap_*" \
  --plot "$OUT_DIR/seed-overlap.png" --by overlap
report "Table 10.2.1 (first): AugmenterTPT with the cross-entropy losses (baseline last)" \
  "$OUT_DIR/seed-ce_*" "$OUT_DIR/seed-baseline_*"
report "Table 10.2.1 (second): PatchAugmenter + crossentropy_hard1" "$OUT_DIR/seed-overlap-hard1_*" \
  --plot "$OUT_DIR/seed-overlap-hard1.png" --by overlap
report "Table 11: baseline, crossentropy_hard1, PatchAugmenter 4×16 overlap 0.8 + crossentropy_hard1" \
  "$OUT_DIR/seed-baseline_*" "$OUT_DIR/seed-ce_*loss=crossentropy_hard1_*" \
  "$OUT_DIR/seed-overlap-hard1_*naug=4_npatch=16_overlap=0.8_*"
