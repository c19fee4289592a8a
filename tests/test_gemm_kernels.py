"""Our matrix-product kernels (kernels/cpu/gemm_avx512.cpp, gemm_avx2.cpp) through the op dispatch, against
NumPy float64: every row tail of a register block (M = 1..40), every column tail of a vector (N around
multiples of 16), bias, relu, A transposed, accumulation, the row split between two threads. On a CPU without AVX-512 the same tests run the AVX2 kernel. The AVX-512 and
AVX2 kernels add the same products in the same order: FASTFIT_GEMM_ISA=avx2 must give identical bits."""
import os
import subprocess
import sys

import numpy as np
import pytest

import fastfit as tf
from fastfit import _core

COLUMNS = [8, 9, 10, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65, 100, 127, 128, 129, 255]
LARGE = [(1000, 784, 64), (333, 2048, 128), (5000, 64, 10), (129, 300, 100)]  # (M, K, N)


def matmul(a, b, transpose_a=False):
    return _core.apply("matmul", [_core.Tensor(a), _core.Tensor(b)], transpose_a=transpose_a).numpy()


def dense(x, w, b, activation):
    return _core.apply("dense", [_core.Tensor(x), _core.Tensor(w), _core.Tensor(b)], activation=activation).numpy()


def assert_close(got, a, b, bias=None, relu=False):
    """got = relu(a @ b + bias) to float32 rounding: |error| within K ulps of sum |a_ik b_kj| (+ |bias_j|)."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    ref, scale = a @ b, np.abs(a) @ np.abs(b)
    if bias is not None:
        ref, scale = ref + bias, scale + np.abs(bias)
    if relu:
        ref = np.maximum(ref, 0)
    tol = (a.shape[1] + 1) * 2.0**-23 * scale + 1e-30
    bad = np.abs(got - ref) > tol
    assert not bad.any(), f"{bad.sum()} of {bad.size} elements off, worst {np.abs(got - ref)[bad].max():.3g}"


def rand(rng, *shape):
    return rng.standard_normal(shape).astype(np.float32)


def products(seed=0):
    """The products the tests check, as (name, result, reference inputs...)."""
    rng = np.random.default_rng(seed)
    out = []
    for m in range(1, 41):
        for n in COLUMNS:
            k = int(rng.integers(1, 51))
            a, b, bias = rand(rng, m, k), rand(rng, k, n), rand(rng, n)
            out.append((f"matmul {m}x{k}x{n}", matmul(a, b), a, b, None, False))
            out.append((f"dense relu {m}x{k}x{n}", dense(a, b, bias, "relu"), a, b, bias, True))
            at = rand(rng, k, m)
            out.append((f"matmul A^T {m}x{k}x{n}", matmul(at, b, transpose_a=True), at.T, b, None, False))
    for m, k, n in LARGE:
        a, b, bias = rand(rng, m, k), rand(rng, k, n), rand(rng, n)
        out.append((f"matmul {m}x{k}x{n}", matmul(a, b), a, b, None, False))
        out.append((f"dense linear {m}x{k}x{n}", dense(a, b, bias, "linear"), a, b, bias, False))
    return out


def test_kernel_in_use_is_named():
    assert _core.gemm_isa() in ("avx512", "avx2", "none")


def test_products_match_float64_on_every_tail():
    for name, got, a, b, bias, relu in products():
        try:
            assert_close(got, a, b, bias, relu)
        except AssertionError as e:
            raise AssertionError(f"{name} ({_core.gemm_isa()}): {e}") from None


def test_accumulated_gradient():
    """A weight used twice: its gradient is a^T g1, then c^T g2 added into it (C += A^T B in our kernel)."""
    rng = np.random.default_rng(1)
    a, c, w = rand(rng, 37, 21), rand(rng, 37, 21), rand(rng, 21, 33)
    g1, g2 = rand(rng, 37, 33), rand(rng, 37, 33)
    wt = tf.Variable(w)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.matmul(a, wt) * g1) + tf.reduce_sum(tf.matmul(c, wt) * g2)
    got = tape.gradient(loss, wt).numpy()
    assert_close(got, np.hstack([a.T, c.T]), np.vstack([g1, g2]))


@pytest.mark.parametrize("name,attrs,shapes", [
    ("matmul", {}, [(1001, 784), (784, 64)]),
    ("dense", {"activation": "relu"}, [(999, 784), (784, 100), (100,)]),
    ("dense", {"activation": "linear"}, [(4097, 64), (64, 10), (10,)]),
])
@pytest.mark.skipif(_core.gemm_isa() == "none", reason="OpenBLAS's threads change its sums")
def test_row_split_between_threads_gives_the_one_thread_bits(name, attrs, shapes):
    rng = np.random.default_rng(2)
    inputs = [_core.Tensor(rand(rng, *s)) for s in shapes]
    op = _core.Op(name, **attrs)
    one = op.forward(inputs, threads=1).numpy()
    np.testing.assert_array_equal(op.forward(inputs, threads=2).numpy(), one)


def run_with_isa(isa, code):
    return subprocess.run([sys.executable, "-c", code], env=dict(os.environ, FASTFIT_GEMM_ISA=isa),
                          capture_output=True, text=True)


def all_results():
    return np.concatenate([p[1].ravel() for p in products()])


def isa_results(isa, path):
    """(kernel in use, all_results()) in a process run with FASTFIT_GEMM_ISA=isa."""
    code = (f"import sys; sys.path.insert(0, {os.path.dirname(__file__)!r}); import numpy as np; "
            f"from fastfit import _core; from test_gemm_kernels import all_results; "
            f"np.save({str(path)!r}, all_results()); print(_core.gemm_isa())")
    proc = run_with_isa(isa, code)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.split()[-1], np.load(path)


@pytest.mark.skipif(_core.gemm_isa() == "none", reason="no kernel of ours on this CPU")
def test_avx2_kernel_gives_the_same_bits(tmp_path):
    """FASTFIT_GEMM_ISA=avx2 keeps products off the AVX-512 kernel. Where both kernels take a product
    (9 <= N <= 128 and K N <= 2**18: kernels/cpu/gemm.cpp), their results are identical."""
    isa, capped = isa_results("avx2", tmp_path / "avx2.npy")
    assert isa == "avx2"
    mine = products()
    both = np.concatenate([np.full(p[1].size, 9 <= p[3].shape[1] <= 128 and p[3].size <= 2**18) for p in mine])
    np.testing.assert_array_equal(capped[both], np.concatenate([p[1].ravel() for p in mine])[both])


def test_openblas_only_matches_float64(tmp_path):
    """FASTFIT_GEMM_ISA=none: OpenBLAS takes every product (as on a CPU without AVX2)."""
    isa, flat = isa_results("none", tmp_path / "none.npy")
    assert isa == "none"
    start = 0
    for name, got, a, b, bias, relu in products():
        assert_close(flat[start:start + got.size].reshape(got.shape), a, b, bias, relu)
        start += got.size


def test_unknown_isa_raises():
    proc = run_with_isa("avx1024", "import fastfit as tf; tf.matmul([[1.0]], [[2.0]])")
    assert proc.returncode != 0
    assert "FASTFIT_GEMM_ISA: expected avx512, avx2 or none, got 'avx1024'" in proc.stderr
