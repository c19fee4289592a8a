"""The datasets that start a pipeline: from_tensor_slices, from_tensors, range, from_generator."""
import reprlib

import numpy as np

from .dataset import UNKNOWN_CARDINALITY, Dataset, check_int
from .structure import (TensorSpec, as_dtype, as_shape, flatten, map_structure, normalize, same_structure,
                        shapes_agree, spec_of, to_array)


class TensorSliceDataset(Dataset):
    _kind = "from_tensor_slices"

    def __init__(self, tensors):
        tensors = normalize(tensors, "from_tensor_slices: `tensors`")
        components = flatten(tensors)
        if not components:
            raise ValueError("from_tensor_slices: `tensors` has no components")
        if any(a.ndim == 0 for a in components):
            raise ValueError("from_tensor_slices: every component of `tensors` needs a first axis to slice "
                             f"along, got shapes {[a.shape for a in components]}")
        lengths = [len(a) for a in components]
        if len(set(lengths)) > 1:
            raise ValueError("from_tensor_slices: all components of `tensors` must have the same length "
                             f"(first dimension), got lengths {lengths}")
        super().__init__([], tensors=tensors)

    def _cardinality(self):
        return len(flatten(self._args["tensors"])[0])

    def _element_spec(self):
        return map_structure(lambda a: TensorSpec(a.shape[1:], a.dtype), self._args["tensors"])

    def _rows(self):
        return self._args["tensors"], range(self._cardinality())


class TensorDataset(Dataset):
    _kind = "from_tensors"

    def __init__(self, tensors):
        super().__init__([], tensors=normalize(tensors, "from_tensors: `tensors`"))

    def _cardinality(self):
        return 1

    def _element_spec(self):
        return spec_of(self._args["tensors"])

    def _elements(self):
        yield self._args["tensors"]


class RangeDataset(Dataset):
    _kind = "range"

    def __init__(self, *args):
        names = {1: ["stop"], 2: ["start", "stop"], 3: ["start", "stop", "step"]}.get(len(args))
        if names is None:
            raise TypeError(f"range: expected (stop), (start, stop) or (start, stop, step), got {len(args)} arguments")
        values = {"start": 0, "step": 1, **{n: check_int(a, f"range: `{n}`") for n, a in zip(names, args)}}
        if values["step"] == 0:
            raise ValueError("range: `step` must not be zero")
        super().__init__([], **values)

    def _range(self):
        return range(self._args["start"], self._args["stop"], self._args["step"])

    def _cardinality(self):
        return len(self._range())

    def _element_spec(self):
        return TensorSpec((), "int64")

    def _elements(self):
        return map(np.int64, self._range())


class GeneratorDataset(Dataset):
    _kind = "from_generator"

    def __init__(self, generator, output_types, output_shapes, args, output_signature):
        if not callable(generator):
            raise TypeError(f"from_generator: `generator` must be a callable that returns an iterable, got "
                            f"{type(generator).__name__} (pass the generator function, not its generator)")
        if output_signature is not None:
            if output_types is not None or output_shapes is not None:
                raise TypeError("from_generator: `output_signature` cannot be used together with `output_types` "
                                "or `output_shapes`")
            if not all(isinstance(s, TensorSpec) for s in flatten(output_signature)):
                raise TypeError("from_generator: `output_signature` must be a TensorSpec or a structure of "
                                f"TensorSpecs, got {output_signature!r}")
        elif output_types is None:
            raise TypeError("from_generator: give `output_signature` (or `output_types`, with optional "
                            "`output_shapes`)")
        else:
            shapes = map_structure(lambda _: None, output_types) if output_shapes is None else output_shapes
            output_signature = map_structure(
                lambda dtype, shape: TensorSpec(as_shape(shape, "from_generator: `output_shapes`"),
                                                as_dtype(dtype, "from_generator: `output_types`")),
                output_types, shapes)
        if args is not None and not isinstance(args, (tuple, list)):
            raise TypeError(f"from_generator: `args` must be a tuple or list, got {type(args).__name__}")
        args = tuple(a.encode() if isinstance(a, str) else to_array(a, "from_generator: `args`")[()]
                     for a in args or ())
        super().__init__([], generator=generator, args=args, output_signature=output_signature)

    def _cardinality(self):
        return UNKNOWN_CARDINALITY

    def _element_spec(self):
        return self._args["output_signature"]

    def _elements(self):
        iterable = self._args["generator"](*self._args["args"])
        if not hasattr(iterable, "__iter__"):
            raise TypeError(f"from_generator: `generator` must return an iterable, got {type(iterable).__name__}")
        signature = self._args["output_signature"]
        for value in iterable:
            if not same_structure(signature, value):
                raise TypeError("from_generator: `generator` yielded an element that did not match the expected "
                                f"structure. The expected structure was {signature}, but the yielded element "
                                f"was {reprlib.repr(value)}")
            yield map_structure(_conform, signature, value)


def _conform(spec, value):
    """A yielded value checked against its TensorSpec and cast to its dtype (never from float to int)."""
    try:
        array = np.asarray(value)
    except ValueError:  # a ragged nested list
        array = None
    if array is None or not np.can_cast(array.dtype, spec.dtype.as_numpy_dtype, "same_kind"):
        raise TypeError("from_generator: `generator` yielded an element that could not be converted to the "
                        f"expected type. The expected type was {spec.dtype.name}, but the yielded element was "
                        f"{reprlib.repr(value)}")
    if not shapes_agree(array.shape, spec.shape):
        raise ValueError(f"from_generator: `generator` yielded an element of shape {array.shape} where an "
                         f"element of shape {spec.shape} was expected")
    return array.astype(spec.dtype.as_numpy_dtype, copy=False)
