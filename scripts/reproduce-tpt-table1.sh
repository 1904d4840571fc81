#!/usr/bin/env bash
# The TPT paper's Table 1 (natural distribution shifts; arXiv 2209.07511): four methods × five test sets,
# per backbone, one `tpt run` each, then `tpt report --table1` (rows: methods; columns: ImageNet, -A, -V2,
# -R, -Sketch, Average, OOD Average). The published figures are in the README ("Datasets and Table 1").
#   methods (configs/table1-<backbone>-<method>.json):
#     zeroshot   CLIP, "a photo of a", no tuning          coop      CoOp's context, no tuning
#     tpt        TPT from "a photo of a"                    coop-tpt  TPT from CoOp's context
#     ensemble   CLIP's 80 ImageNet templates averaged, no tuning (the "Ensembled prompt" row; not in the
#                default METHODS: add it with METHODS="zeroshot ensemble coop tpt coop-tpt")
#   backbones: rn50 (RN50.pt), vit-b16 (ViT-B-16.pt); each needs its own CoOp file.
# On one CPU machine this takes a long time (ImageNet and Sketch alone are 100,889 images per run): shrink it
# with TPT_EXTRA="--set reduced_size=500", or spread runs over machines (scripts/slurm-array.sh).
#
# Inputs (flags or environment variables; flags win):
#   --data-root DIR       DATA_ROOT        parent of the dataset folders below, named as the TPT code's
#                                          data_root holds them (default: data)
#   --imagenet DIR        IMAGENET         ImageNet val in wnid folders (default: DATA_ROOT/ImageNet/val)
#   --imagenet-a DIR      IMAGENET_A       ImageNet-A (default: DATA_ROOT/imagenet-a)
#   --imagenet-v2 DIR     IMAGENET_V2      ImageNet-V2 folders 0…999 (default:
#                                          DATA_ROOT/imagenetv2-matched-frequency-format-val)
#   --imagenet-r DIR      IMAGENET_R       ImageNet-R (default: DATA_ROOT/imagenet-r)
#   --imagenet-sketch DIR IMAGENET_SKETCH  ImageNet-Sketch (default: DATA_ROOT/ImageNet-Sketch)
#   DATASETS    the test sets to run (default: "imagenet imagenet-a imagenet-v2 imagenet-r imagenet-sketch")
#   BACKBONES   default "rn50 vit-b16";  METHODS  default "zeroshot coop tpt coop-tpt"
#   --clip-weights P      CLIP_WEIGHTS     CLIP weights for every backbone (default: each config's)
#   --coop-weights P      COOP_WEIGHTS     CoOp file for the CoOp rows only (default: each config's)
#   --out-dir D           OUT_DIR          parent of the run folders (default: runs)
#   --dry-run                              print the commands without running them
#   TPT_EXTRA   extra arguments for every `tpt run`, e.g. "--set reduced_size=500 --set workers=2"
#   TPT         the tpt command (default: npx tpt)
# A run that already finished is not repeated (`tpt run` finds its folder); a killed one resumes.
set -euo pipefail
cd "$(dirname "$0")/.."

script_flag() {
  SHIFT_BY=2
  case "$1" in
    --data-root) DATA_ROOT="$2" ;;
    --imagenet) IMAGENET="$2" ;;
    --imagenet-v2) IMAGENET_V2="$2" ;;
    --imagenet-r) IMAGENET_R="$2" ;;
    --imagenet-sketch) IMAGENET_SKETCH="$2" ;;
    *) return 1 ;;
  esac
}

# (the common parser puts --coop-weights into COMMON for every run; SHARED below keeps it to the CoOp rows)
# shellcheck source=scripts/sweep-common.sh
. scripts/sweep-common.sh

DATA_ROOT="${DATA_ROOT:-data}"
read -r -a DATASET_LIST <<< "${DATASETS:-imagenet imagenet-a imagenet-v2 imagenet-r imagenet-sketch}"
read -r -a BACKBONE_LIST <<< "${BACKBONES:-rn50 vit-b16}"
read -r -a METHOD_LIST <<< "${METHODS:-zeroshot coop tpt coop-tpt}"

folder_of() {
  case "$1" in
    imagenet) echo "${IMAGENET:-$DATA_ROOT/ImageNet/val}" ;;
    imagenet-a) echo "${IMAGENET_A:-$DATA_ROOT/imagenet-a}" ;;
    imagenet-v2) echo "${IMAGENET_V2:-$DATA_ROOT/imagenetv2-matched-frequency-format-val}" ;;
    imagenet-r) echo "${IMAGENET_R:-$DATA_ROOT/imagenet-r}" ;;
    imagenet-sketch) echo "${IMAGENET_SKETCH:-$DATA_ROOT/ImageNet-Sketch}" ;;
    *) echo "$script_name: unknown dataset '$1' (imagenet, imagenet-a, imagenet-v2, imagenet-r, imagenet-sketch)" >&2; exit 2 ;;
  esac
}

# COMMON without its coop_weight_path (the zero-shot and TPT rows must keep their empty one).
SHARED=()
for ((i = 0; i < ${#COMMON[@]}; i += 2)); do
  case "${COMMON[i + 1]}" in coop_weight_path=*) ;; *) SHARED+=("${COMMON[i]}" "${COMMON[i + 1]}") ;; esac
done

RUNS=()
for backbone in "${BACKBONE_LIST[@]}"; do
  for method in "${METHOD_LIST[@]}"; do
    config="configs/table1-$backbone-$method.json"
    [ -f "$config" ] || { echo "$script_name: no $config (BACKBONES: rn50 vit-b16; METHODS: zeroshot ensemble coop tpt coop-tpt)" >&2; exit 2; }
    for dataset in "${DATASET_LIST[@]}"; do RUNS+=("$backbone|$method|$dataset|$(folder_of "$dataset")"); done
  done
done

command_for() {
  local backbone method dataset folder
  IFS='|' read -r backbone method dataset folder <<< "$1"
  CMD=("${TPT_CMD[@]}" run --config "configs/table1-$backbone-$method.json" --set "run_name=table1-$backbone-$method"
    --set "dataset=$dataset" --set "dataset_path=$folder" "${SHARED[@]}")
  case "$method" in coop*) [ -n "${COOP_WEIGHTS+set}" ] && CMD+=(--set "coop_weight_path=$COOP_WEIGHTS") ;; esac
  CMD+=(${EXTRA[@]+"${EXTRA[@]}"})
}

echo "reproduce-tpt-table1: ${#RUNS[@]} runs into $OUT_DIR/ (${BACKBONE_LIST[*]} × ${METHOD_LIST[*]} × ${DATASET_LIST[*]}), then tpt report --table1"
run_plan "${RUNS[@]}"

echo; echo "== Table 1 (natural distribution shifts): top-1 %, per backbone =="
"${TPT_CMD[@]}" report "$OUT_DIR/table1-*" --table1
