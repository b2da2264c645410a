#!/usr/bin/env bash
# The GPU benchmark in one command (bench/gpu/run.py says what it does): on a machine with an
# NVIDIA GPU it runs the artifacts bench/gpu/prepare.py made beside PyTorch and writes
# results.json into $OUT; without one it checks them on the CPU. Needs python3 with numpy
# (cuda-bindings and torch on the GPU machine), never MLIR. PYTHON picks another interpreter.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}"
exec "${PYTHON:-python3}" bench/gpu/run.py "$@"
