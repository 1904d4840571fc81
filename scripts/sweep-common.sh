# Shared by sweep-overlap.sh, sweep-losses.sh, reproduce-seed.sh and reproduce-tpt-table1.sh (sourced, not
# run): parses the common arguments and environment into DRY_RUN, OUT_DIR, TPT_CMD, EXTRA and COMMON (the
# --set arguments every run gets), and gives `show` and `run_plan`. `--help` prints the calling script's header comment. A script with flags
# of its own defines `script_flag` first: called with the remaining arguments, it handles the first one (or
# returns 1) and sets SHIFT_BY to the number of arguments it used.
script_name="$(basename "$0")"
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
DRY_RUN=0
while [ $# -gt 0 ]; do
  if declare -F script_flag >/dev/null && script_flag "$@"; then shift "$SHIFT_BY"; continue; fi
  case "$1" in
    --imagenet-a) IMAGENET_A="$2"; shift 2 ;;
    --clip-weights) CLIP_WEIGHTS="$2"; shift 2 ;;
    --coop-weights) COOP_WEIGHTS="$2"; shift 2 ;;
    --out-dir) OUT_DIR="$2"; shift 2 ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "$script_name: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
OUT_DIR="${OUT_DIR:-runs}"
read -r -a TPT_CMD <<< "${TPT:-npx tpt}"
read -r -a EXTRA <<< "${TPT_EXTRA:-}"

COMMON=(--set "out_dir=$OUT_DIR")
[ -n "${IMAGENET_A:-}" ] && COMMON+=(--set "imagenet_a_path=$IMAGENET_A")
[ -n "${CLIP_WEIGHTS:-}" ] && COMMON+=(--set "clip_weights=$CLIP_WEIGHTS")
[ -n "${COOP_WEIGHTS+set}" ] && COMMON+=(--set "coop_weight_path=$COOP_WEIGHTS")

show() { printf '%q ' "$@"; printf '\n'; }

# Prints every planned run, stops there with --dry-run, else runs them in order. Each argument is one plan
# entry, turned into the array CMD by the calling script's `command_for`.
run_plan() {
  local entry
  for entry in "$@"; do command_for "$entry"; printf '  '; show "${CMD[@]}"; done
  [ "$DRY_RUN" = 1 ] && exit 0
  for entry in "$@"; do
    command_for "$entry"
    echo; echo "+ $(show "${CMD[@]}")"
    "${CMD[@]}"
  done
}
# (a sourced file's status is its last command's: end on success so `set -e` callers carry on)
true
