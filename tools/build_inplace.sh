#!/usr/bin/env bash
# Development build: compiles fastfit._core into python/fastfit/ so that PYTHONPATH=python runs this
# checkout without `pip install` (each git worktree builds and tests on its own).
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build/inplace -DCMAKE_BUILD_TYPE=Release -DPython_EXECUTABLE="$(command -v python)" \
      -Dpybind11_DIR="$(python -m pybind11 --cmakedir)" "$@" >/dev/null
if ! cmake --build build/inplace -j"$(nproc)" >build/inplace/build.log 2>&1; then
  grep -E -A3 "error|Error" build/inplace/build.log | head -40
  echo "build failed (full log: build/inplace/build.log)" >&2
  exit 1
fi
grep -E "warning" build/inplace/build.log || true
cp build/inplace/_core*.so python/fastfit/
echo "built: python/fastfit/$(basename build/inplace/_core*.so); run tests with PYTHONPATH=python"
