"""Data adapters: each turns one kind of input to fit/evaluate/predict into a C++ batch source.

- Arrays (numpy, lists, pandas, Tensors; arrays.py): the C++ ArraySource cuts and shuffles them,
  viewing rows in place where it can.
- Datasets (dataset_adapter.py): in-memory pipelines run on the ArraySource too; others in Python.
- Python generators, iterators and PyDatasets (queue_adapter.py): a producer thread converts each
  batch and pushes it into a bounded C++ QueueSource; the Program pops with the GIL released, so the
  Python code overlaps with training.

Every adapter offers `sample()`: real rows to trace the model on, and `signature`: the per-sample
shapes and dtypes that key the compiled programs.
"""
import warnings

import numpy as np

from ..tensor import Tensor
from . import dataset_adapter, queue_adapter
from .arrays import (ArrayAdapter, Standardizer, as_arrays, batch_size_arg, check_class_weight,  # noqa: F401
                     unpack_x_y_sample_weight)
from .dataset import Dataset


def get_adapter(x, y, batch_size, steps, standardizer, with_targets, what, sample_weight=None):
    """The adapter for `x` (and `y`, `sample_weight`)."""
    if is_batch_stream(x):
        kind = type(x).__name__
        for name, value in (("y", y), ("sample_weight", sample_weight)):
            if value is not None:
                raise ValueError(f"{what}: `{name}` must not be given when `x` is a {kind} (it yields "
                                 "(x, y, sample_weight) batches)")
        if batch_size is not None:
            raise ValueError(f"{what}: `batch_size` must not be given when `x` is a {kind} (it yields batches)")
        if isinstance(x, Dataset):
            return dataset_adapter.for_dataset(x, steps, standardizer, with_targets, what)
        return queue_adapter.for_stream(x, steps, standardizer, with_targets)
    if x is None:
        raise ValueError(f"{what}: `x` is required")
    xs, ys, w = standardizer.batch(x, y if with_targets else None, sample_weight if with_targets else None)
    if with_targets and ys is None:
        ys = standardizer.no_targets(what)
    if len(xs[0]) == 0:
        raise ValueError(f"{what}: `x` has 0 samples; at least one is needed")
    return ArrayAdapter(xs, ys, batch_size, w)


def fit_adapters(x, y, sample_weight, batch_size, steps_per_epoch, validation_split, validation_data,
                 validation_steps, validation_batch_size, standardizer):
    """fit's training and validation adapters (validation None when there is none)."""
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"fit: `validation_split` must be in (0, 1), got {validation_split}")
    if isinstance(x, Dataset) and validation_split:
        train, val = dataset_adapter.split_for_validation(x, validation_split, steps_per_epoch, standardizer)
    elif is_batch_stream(x):
        if validation_split:
            raise ValueError("fit: `validation_split` needs data of known length: arrays or a finite Dataset, "
                             f"not a {type(x).__name__}")
        train = get_adapter(x, y, batch_size, steps_per_epoch, standardizer, True, "fit", sample_weight)
        val = None
    else:
        xs, ys, w = standardizer.batch(x, y, sample_weight)
        if ys is None:
            ys = standardizer.no_targets("fit")
        if len(xs[0]) == 0:
            raise ValueError("fit: `x` has 0 samples; at least one is needed")
        val = None
        if validation_split:  # the last fraction, before shuffling, as Keras takes it
            split = int(np.floor(len(xs[0]) * (1.0 - validation_split)))
            if split == 0 or split == len(xs[0]):
                raise ValueError(f"fit: validation_split={validation_split} leaves no training or validation samples")
            tail = None if w is None else w[split:]
            val = ArrayAdapter([a[split:] for a in xs], [a[split:] for a in ys],
                               batch_size_arg(validation_batch_size or batch_size), tail)
            xs, ys, w = [a[:split] for a in xs], [a[:split] for a in ys], None if w is None else w[:split]
        train = ArrayAdapter(xs, ys, batch_size_arg(batch_size), w)
    if validation_data is not None:
        val_standardizer = standardizer.for_validation()
        if is_batch_stream(validation_data):
            val = get_adapter(validation_data, None, None, validation_steps, val_standardizer, True, "fit (validation)")
        else:
            if not isinstance(validation_data, (list, tuple)) or len(validation_data) not in (2, 3):
                raise ValueError("fit: `validation_data` must be a tuple (x_val, y_val[, sample_weight]) or a generator")
            vx, vy, vw = unpack_x_y_sample_weight(tuple(validation_data))
            val = get_adapter(vx, vy, batch_size_arg(validation_batch_size or batch_size), None, val_standardizer,
                              True, "fit (validation)", vw)
    return train, val


def is_batch_stream(x):
    """Whether `x` yields batches (a generator, an iterator, a PyDataset, a Dataset) rather than being
    the data itself (arrays, lists, pandas objects, Tensors)."""
    from ..utils.py_dataset import PyDataset
    return isinstance(x, PyDataset) or hasattr(x, "__next__") or (
        hasattr(x, "__iter__") and not isinstance(x, (np.ndarray, list, tuple, dict, Tensor, str))
        and not hasattr(x, "to_numpy"))


def warn_ran_out(steps_done, what):
    warnings.warn(f"Your input ran out of data after {steps_done} steps; interrupting {what}. Make sure that your "
                  "generator can generate at least `steps_per_epoch * epochs` batches.", UserWarning, stacklevel=4)
