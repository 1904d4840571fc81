#!/usr/bin/env bash
# The ten losses at the seed's settings, then `tpt report` (tables, and plots of TPT top-1 by loss):
#   table 8.6.1:        PatchAugmenter, naug 4, npatch 16, overlap 0, AugMix on:
#                       defaultTPT, patch_loss1 … patch_loss6
#   table 10.2.1 (first): AugmenterTPT, 63 views, AugMix off:
#                       crossentropy_hard1, crossentropy_hard5, crossentropy_soft (and defaultTPT, the baseline)
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

# name|config
GRID=(
  "losses-patch|configs/patch-defaultTPT.json"
  "losses-patch|configs/patch-loss1.json"
  "losses-patch|configs/patch-loss2.json"
  "losses-patch|configs/patch-loss3.json"
  "losses-patch|configs/patch-loss4.json"
  "losses-patch|configs/patch-loss5.json"
  "losses-patch|configs/patch-loss6.json"
  "losses-ce|configs/crossentropy-hard1.json"
  "losses-ce|configs/crossentropy-hard5.json"
  "losses-ce|configs/crossentropy-soft.json"
  "losses-ce|configs/baseline.json"
)

command_for() {
  local name config
  IFS='|' read -r name config <<< "$1"
  CMD=("${TPT_CMD[@]}" run --config "$config" --set "run_name=$name" "${COMMON[@]}" ${EXTRA[@]+"${EXTRA[@]}"})
}

echo "sweep-losses: ${#GRID[@]} runs into $OUT_DIR/ (the seed's tables 8.6.1 and 10.2.1, first part)"
run_plan "${GRID[@]}"

echo; echo "== Table 8.6.1: PatchAugmenter (naug 4, npatch 16), defaultTPT and the six patch losses =="
"${TPT_CMD[@]}" report "$OUT_DIR/losses-patch_*" --plot "$OUT_DIR/losses-patch.png" --by loss
echo; echo "== Table 10.2.1 (first): AugmenterTPT (63 views), the cross-entropy losses and defaultTPT =="
"${TPT_CMD[@]}" report "$OUT_DIR/losses-ce_*" --plot "$OUT_DIR/losses-ce.png" --by loss
