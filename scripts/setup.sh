#!/usr/bin/env bash
# Create a virtualenv (default .venv) with torch 2.13.0 first, then the pinned set and rlkit in editable mode.
# Installing torch first matters: letting torchrl pull torch in brings the newest CUDA build (several GB).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=${1:-.venv}
python3 -m venv "$venv"
. "$venv/bin/activate"
python -m pip install -q torch==2.13.0
python -m pip install -q -c constraints.txt -e ".[dev]"
python -c "import torch, torchrl, tensordict, rlkit; print('rlkit', rlkit.__version__, '| torch', torch.__version__, \
'| torchrl', torchrl.__version__, '| tensordict', tensordict.__version__)"
