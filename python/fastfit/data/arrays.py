"""In-memory data: the arrays fit/evaluate/predict receive (numpy, lists, pandas, Tensors), made
into the arrays the C++ core computes on, and cut into batches by the C++ ArraySource."""
import numpy as np

from .. import _core
from ..tensor import Tensor


def as_arrays(x, what):
    """A list of numpy arrays from an array, a pandas object, a Tensor, or a list/tuple of those.
    A nested list of numbers is one array."""
    several = isinstance(x, (list, tuple)) and x and all(
        isinstance(a, (np.ndarray, Tensor)) or hasattr(a, "to_numpy") for a in x)
    out = []
    for a in list(x) if several else [x]:
        a = a.numpy() if isinstance(a, Tensor) else a
        if hasattr(a, "to_numpy"):  # pandas
            a = a.to_numpy()
        arr = np.asarray(a)
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"`{what}` must hold numbers (a float or integer array), got dtype {arr.dtype}")
        if arr.ndim == 0:
            raise ValueError(f"`{what}` must have a batch axis, got a scalar")
        out.append(arr)
    return out


def by_name(data, names, what):
    """A dict keyed by input (or output) name, as the model's list in its order."""
    if not names:
        raise ValueError(f"`{what}` is a dict, but the model's {'inputs' if what == 'x' else 'outputs'} have no "
                         "names to match its keys (build it from keras.Input(name=...))")
    missing, unknown = [n for n in names if n not in data], [k for k in data if k not in names]
    if missing or unknown:
        raise ValueError(f"`{what}` is a dict with keys {sorted(data)}, but the model's "
                         f"{'inputs' if what == 'x' else 'outputs'} are named {names}")
    return [data[n] for n in names]


class Standardizer:
    """Converts a batch's (x, y, sample_weight) to the arrays the C++ core computes on: inputs of
    the model's input dtypes (float32, or int32 for an int32 keras.Input), int32 class ids for sparse
    losses, float32 targets otherwise ((N,) targets become (N, 1)), float32 sample weights of shape (N,).
    A `class_weight` dict becomes sample weights. Dicts of inputs or targets are keyed by the model's
    input and output names. `targets_required`: False when compile() gave no loss and no metric (the
    model's add_loss is the loss), so data may come without `y`."""

    def __init__(self, sparse_labels, class_weight=None, input_names=(), output_names=(), input_dtypes=(),
                 targets_required=True):
        self.sparse_labels = sparse_labels
        self.targets_required = targets_required
        self.class_weight = class_weight
        self.input_names, self.output_names = list(input_names), list(output_names)
        self.input_dtypes = list(input_dtypes)  # per input; float32 where not given

    def for_validation(self):
        """The same conversions without class weights: they weigh training only."""
        return Standardizer(self.sparse_labels, None, self.input_names, self.output_names, self.input_dtypes,
                            self.targets_required)

    def no_targets(self, what):
        """The targets of data given without `y`: none, when nothing needs them."""
        if self.targets_required:
            raise ValueError(f"{what}: `y` is required for array inputs (compile() gave a loss or metrics)")
        return []

    def inputs(self, x):
        if isinstance(x, dict):
            x = by_name(x, self.input_names, "x")
        arrays = as_arrays(x, "x")
        dtypes = self.input_dtypes + ["float32"] * len(arrays)
        return [np.ascontiguousarray(a, np.int32 if d == "int32" else np.float32) for a, d in zip(arrays, dtypes)]

    def targets(self, y, n):
        raw = as_arrays(by_name(y, self.output_names, "y") if isinstance(y, dict) else y, "y")
        sparse = self.sparse_labels if isinstance(self.sparse_labels, (list, tuple)) else [self.sparse_labels]
        if len(sparse) > 1 and len(raw) != len(sparse):
            raise ValueError(f"expected {len(sparse)} target arrays (one per output {self.output_names}), got {len(raw)}")
        ys = []
        for k, a in enumerate(raw):
            if sparse[min(k, len(sparse) - 1)]:  # class ids for a sparse loss
                if a.dtype.kind == "f" and np.any(a != np.floor(a)):
                    raise ValueError("sparse labels must be integer class ids, got non-integer values in `y`")
                ys.append(np.ascontiguousarray(a, np.int32))
            else:
                ys.append(np.ascontiguousarray(a[:, None] if a.ndim == 1 else a, np.float32))
        for a in ys:
            if len(a) != n:
                raise ValueError(f"Data cardinality is ambiguous: x sizes: {n}, y sizes: {len(a)}. "
                                 "Make sure all arrays contain the same number of samples.")
        return ys

    def weights(self, sample_weight, ys, n):
        """One float32 weight per sample, from `sample_weight` or the class weights; None for neither."""
        if sample_weight is not None and self.class_weight is not None:
            raise ValueError("You cannot pass `class_weight` and `sample_weight` at the same time.")
        if self.class_weight is not None:
            if ys is None:
                raise ValueError("`class_weight` needs targets `y`")
            return class_weight_to_sample_weights(ys[0], self.class_weight)
        if sample_weight is None:
            return None
        w = np.asarray(sample_weight.numpy() if isinstance(sample_weight, Tensor) else sample_weight)
        if w.dtype.kind not in "biuf":
            raise TypeError(f"`sample_weight` must hold numbers, got dtype {w.dtype}")
        if w.ndim == 2 and w.shape[1] == 1:
            w = w[:, 0]
        if w.ndim != 1 or len(w) != n:
            raise ValueError(f"`sample_weight` must have one weight per sample: expected shape ({n},), got {w.shape}")
        return np.ascontiguousarray(w, np.float32)

    def batch(self, x, y, sample_weight=None):
        """(inputs, targets or None, weights or None) as the core's arrays, checked for length."""
        xs = self.inputs(x)
        n = len(xs[0])
        for a in xs[1:]:
            if len(a) != n:
                raise ValueError(f"All input arrays (x) should have the same number of samples, "
                                 f"got {[len(b) for b in xs]}")
        ys = None if y is None else self.targets(y, n)
        return xs, ys, self.weights(sample_weight, ys, n)


def class_weight_to_sample_weights(y, class_weight):
    """Keras' rule: each sample weighs its class's weight (1 for a class not in the dict); one-hot
    targets give their class by argmax."""
    if not isinstance(class_weight, dict):
        raise TypeError(f"`class_weight` must be a dict from class index to weight, got {type(class_weight).__name__}")
    labels = np.argmax(y, axis=-1) if y.ndim > 1 and y.shape[-1] != 1 else y.reshape(len(y))
    labels = np.round(labels).astype(np.int64)
    table = np.ones(max([int(labels.max(initial=0)) + 1] + [int(k) + 1 for k in class_weight]), np.float32)
    for k, v in class_weight.items():
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 0:
            raise ValueError(f"`class_weight` keys must be class indices (integers >= 0), got {k!r}")
        table[int(k)] = v
    return table[np.clip(labels, 0, len(table) - 1)]


def check_class_weight(class_weight, num_classes):
    """A class_weight key the model has no class for is an error (not silently unused)."""
    if class_weight is not None:
        bad = sorted(k for k in class_weight if int(k) >= num_classes)
        if bad:
            raise ValueError(f"`class_weight` names classes {bad}, but the model has {num_classes} classes "
                             f"(0 to {num_classes - 1})")


def signature(arrays):
    """What keys a compiled program: each array's per-sample shape and dtype."""
    return tuple((a.shape[1:], a.dtype.str) for a in arrays)


class ArrayAdapter:
    """In-memory arrays: the whole data is known, sliced and shuffled in C++. The source's arrays
    are the inputs, then the targets, then the sample weights (when given)."""

    def __init__(self, xs, ys, batch_size, weights=None, drop_remainder=False):
        self.xs, self.ys, self.weights = xs, ys, weights
        self.num_samples = len(xs[0])
        self.batch_size = batch_size
        arrays = xs + (ys or []) + ([weights] if weights is not None else [])
        self.source = _core.ArraySource([Tensor.view(a) for a in arrays], batch_size, drop_remainder)
        self.steps = self.source.steps
        self.signature = signature(arrays)
        self.layout = (len(xs), len(ys or []), weights is not None)
        self.preprocess = None  # a Dataset's `map` after its batch, traced ahead of the model

    def sample(self):
        return self.xs, self.ys, self.weights

    def end_pass(self):
        pass

    def start_pass(self, shuffle=False, seed=0):
        self.source.start_pass(bool(shuffle), seed)

    def close(self):
        pass


def unpack_x_y_sample_weight(item):
    """A batch as Keras reads it: `x`, `(x,)`, `(x, y)` or `(x, y, sample_weight)`."""
    if isinstance(item, tuple):
        if len(item) == 1:
            return item[0], None, None
        if len(item) == 2:
            return item[0], item[1], None
        if len(item) == 3:
            return item
        raise ValueError(f"a batch must be x, (x,), (x, y) or (x, y, sample_weight); got a tuple of {len(item)}")
    return item, None, None


def batch_size_arg(b):
    """`batch_size` for arrays: 32 by default, else a positive integer."""
    if b is None:
        return 32
    if isinstance(b, bool) or not isinstance(b, (int, np.integer)) or b <= 0:
        raise ValueError(f"`batch_size` must be a positive integer, got {b!r}")
    return int(b)
