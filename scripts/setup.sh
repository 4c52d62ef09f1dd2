#!/usr/bin/env bash
# Sets Firstline up from nothing on this machine: a virtualenv in .venv, the CPU build of
# PyTorch first (otherwise pip pulls a multi-GB CUDA build), the project, and the default model.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[dev]"
.venv/bin/firstline model prepare
