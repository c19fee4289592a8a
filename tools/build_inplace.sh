#!/usr/bin/env bash
# Development build: compiles fastfit._core into python/fastfit/ so that PYTHONPATH=python runs this
# checkout without `pip install` (each git worktree builds and tests on its own).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build/inplace -DCMAKE_BUILD_TYPE=Release -DPython_EXECUTABLE="$(command -v python)" \
      -Dpybind11_DIR="$(python -m pybind11 --cmakedir)" "$@" >/dev/null
cmake --build build/inplace -j"$(nproc)" 2>&1 | grep -E "error|warning|Error" || true
cp build/inplace/_core*.so python/fastfit/
echo "built: python/fastfit/$(basename build/inplace/_core*.so); run tests with PYTHONPATH=python"
