#!/usr/bin/env bash
# One tpt run split over a Slurm job array, then merged. Slurm distributes; tpt only splits and merges:
# array task i of n runs `tpt run --set shard=i/n` (a deterministic 1/n of the sample order, written to its
# own folder `<run name>_shard=<i>of<n>`), and a job that depends on the whole array runs `tpt merge`, which
# builds the folder the unsharded run would have written (samples, summary, TensorBoard events).
#
# Submit from the tpt checkout on a login node (the checkout, dataset and weights on a shared file system):
#   CONFIG=configs/best-patch.json SHARDS=8 OUT_DIR=/scratch/$USER/tpt-runs \
#   IMAGENET_A=/data/imagenet-a CLIP_WEIGHTS=/data/weights/rn50 COOP_WEIGHTS=/data/model.pth.tar-50 \
#     scripts/slurm-array.sh
# It submits itself as an array of SHARDS tasks (sbatch --array=0-<SHARDS-1>) plus the merge job
# (--dependency=afterok, --kill-on-invalid-dep=yes), and prints both job ids. Logs go to OUT_DIR:
# tpt-<array id>_<task>.out per task and tpt-merge-<merge id>.out.
#
# A task that fails, hits its time limit, is preempted or is cancelled (scancel) makes the merge's dependency
# impossible; Slurm then removes the merge job instead of leaving it queued as DependencyNeverSatisfied.
# To finish, submit this script again with the same settings: every task reruns its shard, `tpt run` resumes
# each shard after its last finished sample (a shard that had finished has no sample left to run), and a new merge job
# waits for the new array (its output goes to merged-<new array id>).
#
# Environment: CONFIG (default configs/baseline.json), SHARDS (default 4), OUT_DIR (default runs),
# IMAGENET_A, CLIP_WEIGHTS, COOP_WEIGHTS (as in the sweep scripts), TPT_EXTRA (extra `tpt run` arguments),
# TPT (default: npx tpt), SBATCH_EXTRA (extra sbatch options for both jobs, e.g. "--partition=cpu").
# To use all of a task's CPUs, add parallel samples: TPT_EXTRA="--set workers=4" (match --cpus-per-task).
#
#SBATCH --job-name=tpt-shard
#SBATCH --cpus-per-task=4
#SBATCH --mem=8G
#SBATCH --time=2-00:00:00
set -euo pipefail

CONFIG="${CONFIG:-configs/baseline.json}"
SHARDS="${SHARDS:-4}"
OUT_DIR="${OUT_DIR:-runs}"
read -r -a TPT_CMD <<< "${TPT:-npx tpt}"
read -r -a EXTRA <<< "${TPT_EXTRA:-}"

if [ -z "${SLURM_ARRAY_TASK_ID:-}" ]; then
  # On the login node: submit the array and the merge job that waits for it.
  cd "$(dirname "$0")/.."
  read -r -a SBATCH_OPTS <<< "${SBATCH_EXTRA:-}"
  echo "submitting $SHARDS shards of $CONFIG into $OUT_DIR/"
  # Slurm does not create the folder of --output; a job whose log cannot be opened fails without a word
  mkdir -p "$OUT_DIR"
  array_id=$(sbatch --parsable ${SBATCH_OPTS[@]+"${SBATCH_OPTS[@]}"} --array="0-$((SHARDS - 1))" \
    --output="$OUT_DIR/tpt-%A_%a.out" --export=ALL,CONFIG="$CONFIG",SHARDS="$SHARDS",OUT_DIR="$OUT_DIR" "$0")
  array_id="${array_id%%;*}"
  # the shard folders are <run name>_shard=<i>of<n>; the merged run goes to merged-<array job id>
  merge_cmd="$(printf '%q ' "${TPT_CMD[@]}") merge '$OUT_DIR/*_shard=*of$SHARDS' --out '$OUT_DIR/merged-$array_id'"
  merge_id=$(sbatch --parsable ${SBATCH_OPTS[@]+"${SBATCH_OPTS[@]}"} --job-name=tpt-merge --dependency="afterok:$array_id" \
    --kill-on-invalid-dep=yes --cpus-per-task=1 --mem=4G --time=01:00:00 --output="$OUT_DIR/tpt-merge-%j.out" --wrap="cd $(printf '%q' "$PWD") && $merge_cmd")
  echo "array job $array_id ($SHARDS tasks), merge job $merge_id (runs after all tasks succeed; removed by Slurm if one does not)"
  echo "logs: $OUT_DIR/tpt-${array_id}_<task>.out, $OUT_DIR/tpt-merge-$merge_id.out; after a failed task, submit again to resume"
  echo "when done: ${TPT:-npx tpt} report '$OUT_DIR/merged-$array_id'   |   tensorboard --logdir '$OUT_DIR/merged-$array_id'"
  echo "note: the merge glob takes every *_shard=*of$SHARDS folder in $OUT_DIR; keep one sharded config per OUT_DIR."
  exit 0
fi

# Inside an array task: run this task's shard. Slurm sets SLURM_SUBMIT_DIR to where sbatch was called.
cd "${SLURM_SUBMIT_DIR:-.}"
count="${SLURM_ARRAY_TASK_COUNT:-$SHARDS}"
shard="${SLURM_ARRAY_TASK_ID}/${count}"
CMD=("${TPT_CMD[@]}" run --config "$CONFIG" --set "shard=$shard" --set "out_dir=$OUT_DIR")
[ -n "${IMAGENET_A:-}" ] && CMD+=(--set "imagenet_a_path=$IMAGENET_A")
[ -n "${CLIP_WEIGHTS:-}" ] && CMD+=(--set "clip_weights=$CLIP_WEIGHTS")
[ -n "${COOP_WEIGHTS+set}" ] && CMD+=(--set "coop_weight_path=$COOP_WEIGHTS")
CMD+=(${EXTRA[@]+"${EXTRA[@]}"})
echo "+ $(printf '%q ' "${CMD[@]}")"
exec "${CMD[@]}"
