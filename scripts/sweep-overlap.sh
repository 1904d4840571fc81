#!/usr/bin/env bash
# The seed's patch-overlap grids (notebook section 9.2.1 and the second table of 10.2.1):
#   PatchAugmenter, defaultTPT:          (naug, npatch, overlap) =
#     (0,64,{0,0.2,0.4})  (2,32,{0.2,0.4,0.6})  (4,16,{0.4,0.6,0.8})  (8,8,{0.8})
#   PatchAugmenter, crossentropy_hard1:  (2,32,{0.4,0.6})  (4,16,{0.4,0.6,0.8})
# then `tpt report` of each grid (and a plot of TPT top-1 against the overlap).
#
# Inputs (flags or environment variables; flags win):
#   --imagenet-a DIR    IMAGENET_A     extracted ImageNet-A (default: the config's imagenet-a/)
#   --clip-weights P    CLIP_WEIGHTS   RN50.pt or a `tpt convert` folder (default: the config's)
#   --coop-weights P    COOP_WEIGHTS   CoOp model.pth.tar-50; set it empty to use the ctx stored in a
#                                      converted weights folder (default: the config's)
#   --out-dir D         OUT_DIR        parent of the run folders (default: runs)
#   --dry-run                          print the commands without running them
#   TPT_EXTRA   extra arguments for every `tpt run`, e.g. "--set reduced_size=500 --set workers=2"
#   TPT         the tpt command (default: npx tpt)
# A run that already finished is not repeated (`tpt run` finds its folder); a killed one resumes.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=scripts/sweep-common.sh
. scripts/sweep-common.sh

# name|config|naug|npatch|overlap
GRID=(
  "overlap-defaultTPT|configs/overlap.json|0|64|0.0"
  "overlap-defaultTPT|configs/overlap.json|0|64|0.2"
  "overlap-defaultTPT|configs/overlap.json|0|64|0.4"
  "overlap-defaultTPT|configs/overlap.json|2|32|0.2"
  "overlap-defaultTPT|configs/overlap.json|2|32|0.4"
  "overlap-defaultTPT|configs/overlap.json|2|32|0.6"
  "overlap-defaultTPT|configs/overlap.json|4|16|0.4"
  "overlap-defaultTPT|configs/overlap.json|4|16|0.6"
  "overlap-defaultTPT|configs/overlap.json|4|16|0.8"
  "overlap-defaultTPT|configs/overlap.json|8|8|0.8"
  "overlap-hard1|configs/best-patch.json|2|32|0.4"
  "overlap-hard1|configs/best-patch.json|2|32|0.6"
  "overlap-hard1|configs/best-patch.json|4|16|0.4"
  "overlap-hard1|configs/best-patch.json|4|16|0.6"
  "overlap-hard1|configs/best-patch.json|4|16|0.8"
)

command_for() {
  local name config naug npatch overlap
  IFS='|' read -r name config naug npatch overlap <<< "$1"
  CMD=("${TPT_CMD[@]}" run --config "$config" --set "run_name=$name" --set "n_aug=$naug" --set "n_patches=$npatch" \
    --set "overlap=$overlap" "${COMMON[@]}" ${EXTRA[@]+"${EXTRA[@]}"})
}

echo "sweep-overlap: ${#GRID[@]} runs into $OUT_DIR/ (the seed's tables 9.2.1 and 10.2.1, second part)"
run_plan "${GRID[@]}"

echo; echo "== Table 9.2.1: PatchAugmenter + defaultTPT, overlap × naug/npatch =="
"${TPT_CMD[@]}" report "$OUT_DIR/overlap-defaultTPT_*" --plot "$OUT_DIR/overlap-defaultTPT.png" --by overlap
echo; echo "== Table 10.2.1 (second): PatchAugmenter + crossentropy_hard1 =="
"${TPT_CMD[@]}" report "$OUT_DIR/overlap-hard1_*" --plot "$OUT_DIR/overlap-hard1.png" --by overlap
