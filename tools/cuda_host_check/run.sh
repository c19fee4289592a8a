#!/usr/bin/env bash
# Checks the CUDA kernels' logic on a machine without a GPU (check.cpp says how): compiles
# csrc/kernels/cuda/*.cu as host C++ against the CPU kernels of a development build, and runs the check.
# Needs tools/build_inplace.sh run first (its objects hold the CPU kernels). The matrix products
# (cuBLASLt) and the two kernels that need a real thread block (reduce_forward, hinge_labels) are left
# out: their launches are replaced by a throw. Usage: tools/cuda_host_check/run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
objects=$(find "$repo/build/inplace/CMakeFiles/fastfit_core.dir" -name "*.o")
[ -n "$objects" ] || { echo "no CPU objects: run tools/build_inplace.sh first" >&2; exit 1; }
sources=()
for cu in "$repo"/csrc/kernels/cuda/*.cu; do
  [ "$(basename "$cu")" = gemm.cu ] && continue
  out="$work/$(basename "$cu" .cu).cpp"
  sed 's/[A-Za-z0-9_]*<<<[^>]*>>>([^;]*);/throw std::runtime_error("a block kernel: checked on a GPU only");/' "$cu" >"$out"
  sources+=("$out")
done
openblas=$(python -c "import scipy_openblas32 as s; print(s.get_lib_dir())")
g++ -std=c++17 -O1 -include "$here/prelude.h" -I"$here" -I"$repo/csrc" -DFASTFIT_CUDA_ABI=0u \
    "$here/check.cpp" "${sources[@]}" $objects -L"$openblas" -lscipy_openblas -Wl,-rpath,"$openblas" -lpthread \
    -o "$work/check"
"$work/check"
