#!/usr/bin/env bash
# The GPU check, in one call on a lent GPU machine (one H200, no network): build fastfit with its CUDA
# kernels through pip, run the GPU tests and the op tests on the GPU, benchmark against PyTorch, then
# the rest of the suite as time allows; a short table last. Logs and the benchmark's JSON go to $OUT.
#
# The machine's image has nvcc, CMake, ninja, pybind11, scikit-build-core, numpy, PyTorch and
# nvidia-cublas; fastfit's one missing dependency, scipy-openblas32, travels as a wheel in .whl/:
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux2014_x86_64 -d .whl scipy-openblas32
# then: run(command="bash bench/gpu_check.sh", carry=[".whl"], timeout_s=540). Phases have time limits
# that add up to about 8 minutes, so the table always prints.
set -uo pipefail
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$REPO"
export PYTHONUNBUFFERED=1 CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) FASTFIT_CUDA=ON
export PATH="$PATH:/usr/local/cuda/bin"
PY=${PYTHON:-python3}
SUMMARY="$OUT/summary.txt"
: >"$SUMMARY"
SECONDS=0
note() { echo "$*" | tee -a "$SUMMARY"; }
phase() { echo; echo "== [${SECONDS}s] $*"; }
# "N passed, M failed ..." from a pytest log, or why there is none
tally() { grep -E "^[0-9]+ (passed|failed)|^=+ .*(passed|failed|error).* in " "$1" | tail -1 | tr -d '=' || echo "no result"; }

phase "machine"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$OUT/gpu.txt"
"$PY" -c "import sys, numpy, torch; print('python', sys.version.split()[0], 'numpy', numpy.__version__, 'torch', torch.__version__)"
nvcc --version | tail -2

phase "build: pip install --no-build-isolation ."
"$PY" -m pip install -q --no-index --no-deps .whl/scipy_openblas32-*.whl >"$OUT/build.log" 2>&1 \
  || note "scipy-openblas32 wheel not installed (carry .whl/, see the header)"
t0=$SECONDS
if timeout 300 "$PY" -m pip install -v --no-build-isolation --no-deps . >>"$OUT/build.log" 2>&1; then
  note "build             ok in $((SECONDS - t0)) s ($(grep -c '\.cu' "$OUT/build.log") .cu lines in the log)"
else
  note "build             FAILED after $((SECONDS - t0)) s: see build.log"
  grep -E "error|Error" "$OUT/build.log" | head -30
  tail -20 "$OUT/build.log"
  cat "$SUMMARY"
  exit 1
fi
cd /tmp  # from here on, the installed package
"$PY" -c "import fastfit; print('fastfit.cuda:', fastfit.cuda.status())" | tee -a "$SUMMARY"

PYTEST=("$PY" -m pytest -p no:cacheprovider -q -rfE --timeout 120)
phase "GPU tests (placement, fit/evaluate/predict on the GPU against the CPU)"
timeout 150 "${PYTEST[@]}" "$REPO/tests/test_device.py" "$REPO/tests/test_device_placement.py" \
  "$REPO/tests/test_gpu_training.py" >"$OUT/tests_gpu.log" 2>&1
note "GPU tests         $(tally "$OUT/tests_gpu.log")"
tail -25 "$OUT/tests_gpu.log"

phase "benchmark: fastfit vs PyTorch eager and CUDA graphs"
timeout 150 "$PY" "$REPO/bench/gpu.py" --epochs 4 --rounds 2 --json "$OUT/bench.json" >"$OUT/bench.log" 2>&1
tail -12 "$OUT/bench.log"

phase "op tests on the GPU (forward vs NumPy float64, backward vs finite differences)"
OPS=(test_ops.py test_tf_math.py test_conv.py test_pooling.py test_embedding.py test_layer_norm.py test_losses.py
     test_merging.py test_reshaping.py test_normalization_dropout.py)
timeout 120 "${PYTEST[@]}" -n 8 -k GPU "${OPS[@]/#/$REPO/tests/}" >"$OUT/tests_ops_gpu.log" 2>&1
note "op tests (GPU)    $(tally "$OUT/tests_ops_gpu.log")"
grep -E "^FAILED|^ERROR" "$OUT/tests_ops_gpu.log" | head -20

left=$((470 - SECONDS))
phase "the rest of the suite, pinned to the CPU with CUDA loaded (${left}s left)"
if [ "$left" -gt 30 ]; then
  timeout "$left" "${PYTEST[@]}" -n 12 -k "not GPU" "$REPO/tests" >"$OUT/tests_rest.log" 2>&1
  note "rest of suite     $(tally "$OUT/tests_rest.log")"
  grep -E "^FAILED|^ERROR" "$OUT/tests_rest.log" | head -20
else
  note "rest of suite     skipped: no time left"
fi

echo
echo "== GPU check, $(cat "$OUT/gpu.txt"), ${SECONDS}s"
cat "$SUMMARY"
grep -A8 "^config" "$OUT/bench.log" || echo "benchmark: no table (see bench.log)"
