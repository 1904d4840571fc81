#!/usr/bin/env bash
# The TPT paper's Table 2 (cross-dataset generalization; arXiv 2209.07511): CLIP zero-shot and TPT over the
# ten fine-grained test sets, per backbone, one `tpt run` each, then `tpt report --table2` (rows: methods;
# columns: Flowers, DTD, Pets, Cars, UCF101, Caltech, Food101, SUN397, Aircraft, EuroSAT, Average). The
# published figures are in the README ("Table 2: cross-dataset generalization").
#   methods (configs/table2-<backbone>-<method>.json): zeroshot (CLIP, "a photo of a", no tuning) and tpt
#   (TPT from "a photo of a", 64 views with AugMix severity 1: the dataset's rule, TPT's augmix=len(set_id)>1)
#   backbones: rn50 (RN50.pt), vit-b16 (ViT-B-16.pt)
# The test sets are CoOp's splits (split_zhou_*.json; FGVC-Aircraft's images_variant_test.txt), 83,696 images
# in all; shrink a trial with TPT_EXTRA="--set reduced_size=500", or spread runs (scripts/slurm-array.sh).
#
# Inputs (flags or environment variables; flags win):
#   --data-root DIR        DATA_ROOT        parent of the dataset folders, named as CoOp's DATASETS.md has
#                                           them (default: data): oxford_flowers dtd oxford_pets stanford_cars
#                                           ucf101 caltech-101 food-101 sun397 fgvc_aircraft eurosat
#   --<set> DIR            one folder per set, e.g. --dtd /data/dtd or --fgvc-aircraft /data/aircraft
#                                           (variables FLOWERS102 DTD OXFORD_PETS STANFORD_CARS UCF101
#                                           CALTECH101 FOOD101 SUN397 FGVC_AIRCRAFT EUROSAT)
#   --split-dir DIR        SPLIT_DIR        TPT's layout: the folder of the split files (TPT's
#                                           data/data_splits/); each set's folder is then its image folder.
#                                           Unset: CoOp's layout, each split file beside its images.
#   DATASETS    the test sets to run (default: the ten, in the paper's column order)
#   BACKBONES   default "rn50 vit-b16";  METHODS  default "zeroshot tpt"
#   --clip-weights P       CLIP_WEIGHTS     CLIP weights for every backbone (default: each config's)
#   --out-dir D            OUT_DIR          parent of the run folders (default: runs)
#   --dry-run                               print the commands without running them
#   TPT_EXTRA   extra arguments for every `tpt run`, e.g. "--set reduced_size=500 --set workers=2"
#   TPT         the tpt command (default: npx tpt)
# A run that already finished is not repeated (`tpt run` finds its folder); a killed one resumes.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL_SETS="flowers102 dtd oxford-pets stanford-cars ucf101 caltech101 food101 sun397 fgvc-aircraft eurosat"

# --flowers102 DIR → FLOWERS102=DIR, --fgvc-aircraft DIR → FGVC_AIRCRAFT=DIR, …
set_variable() { local name; name="$(printf '%s' "$1" | tr 'a-z-' 'A-Z_')"; printf -v "$name" '%s' "$2"; }

script_flag() {
  SHIFT_BY=2
  case "$1" in
    --data-root) DATA_ROOT="$2" ;;
    --split-dir) SPLIT_DIR="$2" ;;
    --*)
      local set="${1#--}"
      case " $ALL_SETS " in *" $set "*) set_variable "$set" "$2" ;; *) return 1 ;; esac
      ;;
    *) return 1 ;;
  esac
}

# shellcheck source=scripts/sweep-common.sh
. scripts/sweep-common.sh

DATA_ROOT="${DATA_ROOT:-data}"
read -r -a DATASET_LIST <<< "${DATASETS:-$ALL_SETS}"
read -r -a BACKBONE_LIST <<< "${BACKBONES:-rn50 vit-b16}"
read -r -a METHOD_LIST <<< "${METHODS:-zeroshot tpt}"

# CoOp's folder name (DATASETS.md) and split file of each set.
coop_folder_of() {
  case "$1" in
    flowers102) echo "oxford_flowers split_zhou_OxfordFlowers.json" ;;
    dtd) echo "dtd split_zhou_DescribableTextures.json" ;;
    oxford-pets) echo "oxford_pets split_zhou_OxfordPets.json" ;;
    stanford-cars) echo "stanford_cars split_zhou_StanfordCars.json" ;;
    ucf101) echo "ucf101 split_zhou_UCF101.json" ;;
    caltech101) echo "caltech-101 split_zhou_Caltech101.json" ;;
    food101) echo "food-101 split_zhou_Food101.json" ;;
    sun397) echo "sun397 split_zhou_SUN397.json" ;;
    fgvc-aircraft) echo "fgvc_aircraft images_variant_test.txt" ;;
    eurosat) echo "eurosat split_zhou_EuroSAT.json" ;;
    *) echo "$script_name: unknown dataset '$1' ($ALL_SETS)" >&2; exit 2 ;;
  esac
}

folder_of() {
  local coop split variable
  read -r coop split <<< "$(coop_folder_of "$1")"
  variable="$(printf '%s' "$1" | tr 'a-z-' 'A-Z_')"
  echo "${!variable:-$DATA_ROOT/$coop}|$split"
}

for dataset in "${DATASET_LIST[@]}"; do
  case " $ALL_SETS " in *" $dataset "*) ;; *) echo "$script_name: unknown dataset '$dataset' ($ALL_SETS)" >&2; exit 2 ;; esac
done

RUNS=()
for backbone in "${BACKBONE_LIST[@]}"; do
  for method in "${METHOD_LIST[@]}"; do
    config="configs/table2-$backbone-$method.json"
    [ -f "$config" ] || { echo "$script_name: no $config (BACKBONES: rn50 vit-b16; METHODS: zeroshot tpt)" >&2; exit 2; }
    for dataset in "${DATASET_LIST[@]}"; do RUNS+=("$backbone|$method|$dataset|$(folder_of "$dataset")"); done
  done
done

command_for() {
  local backbone method dataset folder split
  IFS='|' read -r backbone method dataset folder split <<< "$1"
  CMD=("${TPT_CMD[@]}" run --config "configs/table2-$backbone-$method.json" --set "run_name=table2-$backbone-$method"
    --set "dataset=$dataset" --set "dataset_path=$folder" "${COMMON[@]}")
  # Aircraft's split file has variants.txt beside it: it stays in the dataset folder in both layouts.
  [ -n "${SPLIT_DIR:-}" ] && [ "$dataset" != fgvc-aircraft ] && CMD+=(--set "split_file=$SPLIT_DIR/$split")
  CMD+=(${EXTRA[@]+"${EXTRA[@]}"})
}

echo "reproduce-tpt-table2: ${#RUNS[@]} runs into $OUT_DIR/ (${BACKBONE_LIST[*]} × ${METHOD_LIST[*]} × ${DATASET_LIST[*]}), then tpt report --table2"
run_plan "${RUNS[@]}"

echo; echo "== Table 2 (cross-dataset generalization): top-1 %, per backbone =="
# methods × the ten sets plus their average, one table per backbone (the architecture of the weights that ran)
"${TPT_CMD[@]}" report "$OUT_DIR/table2-*" --table2
