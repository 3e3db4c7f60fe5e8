#!/usr/bin/env bash
# The main job: set up .venv, build maze2d-umaze-v1 locally, then pretrain a decision transformer on it offline,
# finetune it online with TD3 gradients, evaluate, and save learning curves (a few minutes on a 2-core CPU).
# Run again, it reuses the environment, the dataset and the finished run (it resumes from the last checkpoint).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

bash scripts/setup.sh
.venv/bin/python -m rlkit.data build maze2d-umaze-v1 --skip-existing
.venv/bin/python examples/odt_td3/main.py --env maze2d-umaze-v1 --quick --resume --run-dir runs/quickstart "$@"
