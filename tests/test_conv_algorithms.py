"""Convolution algorithms against NumPy float64 and each other: im2col blocks that split images,
Winograd F(4x4, 3x3), the direct kernels (few filters; many filters over few channels) against the
GEMM path, and gradients that no window reads."""
import os
import subprocess
import sys

import numpy as np
import pytest

import conv_reference as ref
import fastfit as keras
from fastfit import _core
from helpers import conv, directional_check, inputs_off_kinks, rand

def test_conv2d_in_several_im2col_blocks():
    """Large enough that the im2col blocks split images (blocks of 910 rows of 72): the blocks join up."""
    rng = np.random.default_rng(3)
    x, w, b = rand(rng, 3, 30, 30, 8), rand(rng, 3, 3, 8, 16), rand(rng, 16)
    directional_check(lambda *t: conv("conv2d", *t, padding="same"), lambda *a: ref.conv2d(*a, padding="same"),
                      [x, w, b])
    directional_check(lambda *t: conv("conv2d_transpose", *t, strides=[2, 2], padding="same"),
                      lambda *a: ref.conv2d_transpose(*a, strides=(2, 2), padding="same"),
                      [x, w.transpose(0, 1, 3, 2).copy(), b])


# Winograd F(4x4, 3x3) takes 3x3 kernels with stride 1 and 16+ channels in and out: output sizes that
# are and are not multiples of 4 (the last tiles partly outside), 'same' padding, one chunk of several
# images (test_winograd_in_chunks: several chunks).
WINOGRAD = [((2, 7, 6, 16), 16, "valid"), ((5, 6, 9, 17), 20, "same"), ((1, 4, 4, 16), 33, "valid"),
            ((9, 5, 5, 24), 16, "same")]


@pytest.mark.parametrize("xs,filters,padding", WINOGRAD)
@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_winograd_convolutions(xs, filters, padding, act):
    x, w, b = inputs_off_kinks([xs, (3, 3, xs[-1], filters), (filters,)], sum(xs) + filters,
                               lambda *a: ref.conv2d(*a, padding=padding), act)
    directional_check(lambda *t: conv("conv2d", *t, padding=padding, activation=act),
                      lambda *a: ref.conv2d(*a, padding=padding, activation=act), [x, w, b])


def test_winograd_in_chunks():
    """Chunks of one image each (64 tiles of 36 x 32 floats an image: 2^17 floats hold one)."""
    rng = np.random.default_rng(11)
    x, w, b = rand(rng, 3, 30, 29, 16), rand(rng, 3, 3, 16, 16), rand(rng, 16)
    directional_check(lambda *t: conv("conv2d", *t, padding="same"), lambda *a: ref.conv2d(*a, padding="same"),
                      [x, w, b])


@pytest.mark.parametrize("filters", [3, 12])  # the direct kernels and im2col + GEMM
def test_inputs_no_window_reads_do_not_reach_the_gradients(filters):
    """Stride 2 leaves the last step unread: an inf there changes nothing (the direct kernels' vectors
    run past the last output and read it)."""
    rng = np.random.default_rng(6)
    x, w, b = rand(rng, 2, 20, 2), rand(rng, 3, 2, filters), rand(rng, filters)
    x_inf = x.copy()
    x_inf[:, 19] = np.inf
    grads = []
    for inputs in (x, x_inf):
        tensors = [keras.constant(a) for a in (inputs, w, b)]
        with keras.GradientTape() as tape:
            for t in tensors[1:]:
                tape.watch(t)
            y = conv("conv1d", *tensors, strides=[2])
            loss = keras.reduce_sum(y * y)
        grads.append([y.numpy()] + [g.numpy() for g in tape.gradient(loss, tensors[1:])])
    for finite, with_inf in zip(*grads):
        np.testing.assert_array_equal(finite, with_inf)


def values_and_gradients(fn, inputs, rng):
    """fn(*inputs) and the gradients of sum(fn(*inputs) * r), r drawn from rng."""
    tensors = [keras.constant(a) for a in inputs]
    with keras.GradientTape() as tape:
        for t in tensors:
            tape.watch(t)
        y = fn(*tensors)
        loss = keras.reduce_sum(y * keras.constant(rand(rng, *y.shape)))
    return [y.numpy()] + [g.numpy() for g in tape.gradient(loss, tensors)]


def conv_results(cases):
    """Forward and gradients of conv(x, w, b) with relu on each case (input shape, kernel shape, op, attrs)."""
    out = []
    for i, (xs, ws, name, attrs) in enumerate(cases):
        rng = np.random.default_rng(i)
        inputs = [rand(rng, *s) for s in (xs, ws, ws[-1:])]
        out += values_and_gradients(lambda *t: conv(name, *t, activation="relu", **attrs), inputs, rng)
    return out


DIRECT_CASES = [((2, 9, 37, 3), (3, 3, 3, 3), "conv2d", {}), ((1, 8, 21, 2), (3, 2, 2, 8), "conv2d",
                                                                  dict(strides=[2, 3], padding="same")),
                ((3, 30, 10), (3, 10, 3), "conv1d", dict(padding="causal", dilation_rate=[2])),
                # vectorised over filters: the Fashion-MNIST CNN's first layer, and others
                ((3, 28, 28, 1), (3, 3, 1, 32), "conv2d", {}),
                ((2, 15, 21, 3), (3, 3, 3, 48), "conv2d", dict(strides=[2, 1], padding="same")),
                ((2, 12, 30, 2), (5, 5, 2, 16), "conv2d", dict(dilation_rate=[2, 1])),
                ((2, 9, 9, 12), (3, 3, 12, 32), "conv2d", dict(padding="same")),
                ((3, 40, 4), (3, 4, 64), "conv1d", dict(padding="causal", dilation_rate=[2]))]


def test_direct_kernels_match_the_gemm_path(tmp_path):
    """FASTFIT_GEMM_ISA=avx2 keeps the AVX-512-only direct kernels off (as a CPU without AVX-512 does):
    im2col + GEMM give the same numbers up to float rounding."""
    code = (f"import sys; sys.path.insert(0, {os.path.dirname(__file__)!r}); import numpy as np; "
            f"from test_conv_algorithms import conv_results, DIRECT_CASES; "
            f"np.savez({str(tmp_path / 'gemm.npz')!r}, *conv_results(DIRECT_CASES))")
    proc = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, FASTFIT_GEMM_ISA="avx2"),
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    gemm = np.load(tmp_path / "gemm.npz")
    for i, mine in enumerate(conv_results(DIRECT_CASES)):
        np.testing.assert_allclose(mine, gemm[f"arr_{i}"], rtol=1e-5, atol=1e-5)


def test_many_filters_over_several_blocks_of_images():
    """The direct kernels vectorised over filters on 8 images: the convolution's backward and the fused
    convolution and pooling run them on blocks of 3 (65536 output floats at most), and sum the
    kernel's gradient over the blocks."""
    rng = np.random.default_rng(7)
    x, w, b = rand(rng, 8, 28, 28, 1), rand(rng, 3, 3, 1, 32), rand(rng, 32)
    directional_check(lambda *t: conv("conv2d", *t), lambda *a: ref.conv2d(*a), [x, w, b])
    # Fused with a max pooling: as the two ops (finite differences cross the maxima's kinks here; and
    # a float64 reference's maxima are not float32's where two are within rounding)
    fused = values_and_gradients(lambda *t: conv("conv2d_max_pool2d", *t, activation="relu"), [x, w, b],
                                 np.random.default_rng(8))
    pair = values_and_gradients(lambda *t: _core.apply("max_pool2d", [conv("conv2d", *t, activation="relu")],
                                                       pool_size=[2, 2], strides=[2, 2]),
                                [x, w, b], np.random.default_rng(8))
    # (sums in other orders: the fused op adds the bias' gradient over the pooled gradient)
    for got, want in zip(fused, pair):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * max(1.0, np.abs(want).max()))
