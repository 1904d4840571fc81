#!/usr/bin/env bash
# Regenerates every committed golden fixture from PyTorch/torchvision/PIL (development only).
# Needs Debian's python3-torch python3-torchvision python3-regex python3-skimage libopenblas0-pthread.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-/usr/bin/python3}
export OMP_NUM_THREADS=2
$PY scripts/fixtures/tiny_clip.py
$PY scripts/fixtures/make_vit_shapes.py
$PY scripts/fixtures/make_tokenizer_goldens.py
$PY scripts/fixtures/make_pickle_cases.py
$PY scripts/fixtures/make_tracker_goldens.py
$PY scripts/fixtures/make_view_goldens.py
$PY scripts/fixtures/make_tfevents_goldens.py
$PY scripts/fixtures/make_model_goldens.py
$PY scripts/fixtures/make_template_goldens.py
$PY scripts/fixtures/make_loss_goldens.py
$PY scripts/fixtures/make_tpt_goldens.py
$PY scripts/fixtures/make_dataset_goldens.py
$PY scripts/fixtures/make_online_goldens.py
$PY scripts/fixtures/make_unbuildable_clip.py
$PY scripts/fixtures/make_method_goldens.py
$PY scripts/fixtures/make_online_crosscheck.py
