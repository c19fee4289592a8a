import numpy as np

import fastfit as keras
from fastfit import layers


def test_dense_forward_matches_numpy():
    layer = layers.Dense(3, activation="relu")
    x = np.random.default_rng(0).normal(size=(4, 5)).astype("float32")
    y = layer(x).numpy()
    w, b = layer.get_weights()
    np.testing.assert_allclose(y, np.maximum(x.astype(np.float64) @ w + b, 0), rtol=1e-5, atol=1e-6)
