"""fastfit's matrix product against numpy's at the seed model's shapes (forward and backward) and at
256x512x512. Both are called from Python the same way (operands ready, a new result array per call),
median of many calls; fastfit's result is checked against float64 first.

    python bench/gemm.py
"""
import time
import timeit

import numpy as np

from fastfit import _core

# (M, K, N, transpose_a, transpose_b): C[M,N] = op(A) op(B)
SHAPES = [
    (64, 784, 64, False, False),   # dense_1 forward
    (64, 64, 64, False, False),    # dense_2 forward
    (64, 64, 10, False, False),    # predictions forward
    (784, 64, 64, True, False),    # dense_1 dW = x^T dz
    (64, 64, 64, True, False),     # dense_2 dW
    (64, 64, 10, True, False),     # predictions dW
    (64, 10, 64, False, True),     # dx = dz W^T into dense_2
    (64, 64, 64, False, True),     # dx into dense_1
    (256, 512, 512, False, False),
]


def median_time(fn, number):
    return float(np.median(timeit.repeat(fn, number=number, repeat=5))) / number


def compare(numpy_fn, fastfit_fn, number, rounds=5):
    """Median seconds per call of each. The two are timed in separate blocks with a pause between:
    interleaved on 2 cores, each library's idle BLAS threads (which spin after a call) steal the core
    the other's second thread needs, and both would be measured against the other's interference."""
    t_np, t_ff = [], []
    for _ in range(rounds):
        t_np.append(median_time(numpy_fn, number))
    time.sleep(1.0)
    for _ in range(rounds):
        t_ff.append(median_time(fastfit_fn, number))
    time.sleep(1.0)
    return float(np.median(t_np)), float(np.median(t_ff))


def main():
    rng = np.random.default_rng(0)
    print(f"fastfit's kernel: {_core.gemm_isa()} (FASTFIT_GEMM_ISA=avx2 or none to compare)")
    print(f"{'shape (MxKxN, op)':<28}{'numpy us':>10}{'fastfit us':>12}{'numpy/fastfit':>15}")
    for m, k, n, ta, tb in SHAPES:
        a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
        b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
        an, bn = (a.T if ta else a), (b.T if tb else b)
        ta_, tb_ = _core.Tensor(a), _core.Tensor(b)
        ref = an.astype(np.float64) @ bn
        ff_matmul = lambda: _core.apply("matmul", [ta_, tb_], transpose_a=ta, transpose_b=tb)  # noqa: E731
        np.testing.assert_allclose(ff_matmul().numpy(), ref, rtol=1e-3, atol=1e-3)
        number = max(10, int(1e7 / (m * k * n)))
        t_np, t_ff = compare(lambda: np.matmul(an, bn), ff_matmul, number)
        label = f"{m}x{k}x{n}" + (" A^T" if ta else "") + (" B^T" if tb else "")
        print(f"{label:<28}{t_np * 1e6:>10.1f}{t_ff * 1e6:>12.1f}{t_np / t_ff:>15.2f}")


if __name__ == "__main__":
    main()
