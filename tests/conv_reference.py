"""NumPy float64 references for the convolution and pooling tests: windows as TensorFlow places them."""
import numpy as np


def out_len(n, k, s, d, padding):
    """(outputs, padding before) along an axis of n inputs, for a window of k taps dilated by d."""
    span = (k - 1) * d + 1
    if padding == "valid":
        return (n - span) // s + 1, 0
    if padding == "same":
        out = -(-n // s)
        return out, max((out - 1) * s + span - n, 0) // 2
    return (n - 1) // s + 1, span - 1  # causal


def patches(x, size, strides=(1, 1), padding="valid", dilation=(1, 1)):
    """x (B, H, W, C) -> (B, OH, OW, kh, kw, C), zeros in the padding, and the (OH, OW, kh, kw) mask of
    the taps inside x."""
    _, H, W, _ = x.shape
    idx, valid = [], []
    for n, k, s, d in zip((H, W), size, strides, dilation):
        out, pad = out_len(n, k, s, d, padding)
        i = np.arange(out)[:, None] * s + np.arange(k)[None, :] * d - pad  # (out, k)
        idx.append(np.clip(i, 0, n - 1))
        valid.append((i >= 0) & (i < n))
    p = x[:, idx[0][:, None, :, None], idx[1][None, :, None, :], :]
    mask = valid[0][:, None, :, None] & valid[1][None, :, None, :]
    return p * mask[None, ..., None], mask


ACTS = {"linear": lambda z: z, "relu": lambda z: np.maximum(z, 0), "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
        "tanh": np.tanh}


def conv2d(x, w, b=None, strides=(1, 1), padding="valid", dilation=(1, 1), activation="linear"):
    p, _ = patches(x, w.shape[:2], strides, padding, dilation)
    y = np.einsum("bhwijc,ijco->bhwo", p, w)
    return ACTS[activation](y if b is None else y + b)


def conv1d(x, w, b=None, strides=(1,), padding="valid", dilation=(1,), activation="linear"):
    """On (B, L, C) inputs: a 2-D convolution over one row."""
    return conv2d(x[:, None], w[None], b, (1,) + tuple(strides), padding, (1,) + tuple(dilation), activation)[:, 0]


def depthwise_conv2d(x, w, b=None, strides=(1, 1), padding="valid", dilation=(1, 1), activation="linear"):
    p, _ = patches(x, w.shape[:2], strides, padding, dilation)
    y = np.einsum("bhwijc,ijcm->bhwcm", p, w)
    y = y.reshape(y.shape[:3] + (-1,))
    return ACTS[activation](y if b is None else y + b)


def conv2d_transpose(x, w, b=None, strides=(1, 1), padding="valid", dilation=(1, 1), output_padding=None,
                     activation="linear"):
    """The adjoint of a convolution, by scattering each tap: sizes as Keras, padding as TensorFlow."""
    B, H, W, _ = x.shape
    kh, kw, O, _ = w.shape
    sizes, pads = [], []
    for n, k, s, d, op in zip((H, W), (kh, kw), strides, dilation, output_padding or (None, None)):
        span = (k - 1) * d + 1
        if padding == "valid":
            out = (n - 1) * s + span + (max(span, s) - span if op is None else op)
        else:
            out = n * s if op is None else (n - 1) * s + span % 2 + op
        sizes.append(out)
        pads.append(max((n - 1) * s + span - out, 0) // 2 if padding == "same" else 0)
    y = np.zeros((B, sizes[0], sizes[1], O))
    for i in range(kh):
        for j in range(kw):
            r = np.arange(H) * strides[0] + i * dilation[0] - pads[0]
            c = np.arange(W) * strides[1] + j * dilation[1] - pads[1]
            vr, vc = (r >= 0) & (r < sizes[0]), (c >= 0) & (c < sizes[1])
            y[:, r[vr][:, None], c[vc][None, :], :] += (x @ w[i, j].T)[:, vr][:, :, vc]
    return ACTS[activation](y if b is None else y + b)


def max_pool(x, size, strides, padding="valid", dilation=(1, 1)):
    p, mask = patches(x, size, strides, padding, dilation)
    return np.where(mask[None, ..., None], p, -np.inf).max(axis=(3, 4))


def avg_pool(x, size, strides, padding="valid", dilation=(1, 1)):
    p, mask = patches(x, size, strides, padding, dilation)
    return p.sum(axis=(3, 4)) / mask.sum(axis=(2, 3))[None, ..., None]
