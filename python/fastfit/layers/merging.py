"""Merging layers, as Keras 3 defines them: Add, Subtract, Multiply, Average, Maximum, Minimum,
Concatenate and Dot, and their functional forms (`layers.add([a, b])`, ...). Each is a chain of C++
ops on the inputs (binary elementwise ops with broadcasting, concat, batch_dot)."""
from functools import reduce

from .. import _core, backend, ops
from .layer import Layer


def _list_of_shapes(layer, input_shape, exactly=None):
    if not isinstance(input_shape, list) or not input_shape or not isinstance(input_shape[0], tuple):
        raise ValueError(f"A `{type(layer).__name__}` layer should be called on a list of inputs. "
                         f"Received: input_shape={input_shape}")
    if exactly is not None and len(input_shape) != exactly:
        raise ValueError(f"A `{type(layer).__name__}` layer should be called on exactly {exactly} inputs. "
                         f"Received: input_shape={input_shape}")


def _elementwise_shape(shape1, shape2):
    """Keras' broadcast of two per-sample shapes, aligned at their last axes."""
    if len(shape1) < len(shape2):
        shape1, shape2 = shape2, shape1
    out = list(shape1[:len(shape1) - len(shape2)])
    for i, j in zip(shape1[len(shape1) - len(shape2):], shape2):
        if i is None or j is None:
            out.append(None)
        elif i == 1 or j == 1:
            out.append(j if i == 1 else i)
        elif i != j:
            raise ValueError(f"Inputs have incompatible shapes. Received shapes {shape1} and {shape2}")
        else:
            out.append(i)
    return tuple(out)


class Merge(Layer):
    """Elementwise merges of a list of inputs. Per-sample shapes broadcast as in Keras: an input of
    lower rank gets axes of size 1 right after its batch axis."""

    _arity = None  # how many inputs the merge takes; None: any number

    def build(self, input_shape):
        self.compute_output_shape(input_shape)

    def compute_output_shape(self, input_shape):
        _list_of_shapes(self, input_shape, self._arity)
        batch = {s[0] for s in input_shape} - {None}
        if len(batch) > 1:
            raise ValueError(f"Cannot merge tensors with different batch sizes. Received tensors with shapes "
                             f"{input_shape}")
        out = tuple(input_shape[0][1:])
        for shape in input_shape[1:]:
            out = _elementwise_shape(out, tuple(shape[1:]))
        return (batch.pop() if batch else None,) + out

    def call(self, inputs):
        rank = max(x.ndim for x in inputs)

        def expand(x):
            return _core.apply("reshape", [x], shape=[1] * (rank - x.ndim) + list(x.shape[1:]), keep_batch=True)
        return self._merge([x if x.ndim == rank else expand(x) for x in inputs])


class Add(Merge):
    """The sum of the inputs."""

    def _merge(self, inputs):
        return reduce(ops.add, inputs)


class Subtract(Merge):
    """inputs[0] - inputs[1]."""

    _arity = 2

    def _merge(self, inputs):
        return ops.subtract(inputs[0], inputs[1])


class Multiply(Merge):
    """The elementwise product of the inputs."""

    def _merge(self, inputs):
        return reduce(ops.multiply, inputs)


class Average(Merge):
    """The elementwise mean of the inputs: their sum divided by their number."""

    def _merge(self, inputs):
        return reduce(ops.add, inputs) / len(inputs)


class Maximum(Merge):
    """The elementwise maximum of the inputs."""

    def _merge(self, inputs):
        return reduce(ops.maximum, inputs)


class Minimum(Merge):
    """The elementwise minimum of the inputs."""

    def _merge(self, inputs):
        return reduce(ops.minimum, inputs)


class Concatenate(Layer):
    """Joins the inputs along `axis`; they must match on every other axis."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def build(self, input_shape):
        _list_of_shapes(self, input_shape)
        rank = len(input_shape[0])
        if any(len(s) != rank for s in input_shape) or not -rank <= self.axis < rank:
            self._mismatch(input_shape)
        axis = self.axis % rank
        for k in range(rank):
            if k != axis and len({s[k] for s in input_shape} - {None}) > 1:
                self._mismatch(input_shape)

    @staticmethod
    def _mismatch(input_shape):
        raise ValueError("A `Concatenate` layer requires inputs with matching shapes except for the concatenation "
                         f"axis. Received: input_shape={input_shape}")

    def call(self, inputs):
        return ops.concat(inputs, self.axis)

    def compute_output_shape(self, input_shape):
        _list_of_shapes(self, input_shape)
        out = list(input_shape[0])
        sizes = [s[self.axis] for s in input_shape]
        out[self.axis] = None if None in sizes else sum(sizes)
        return tuple(out)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Dot(Layer):
    """The dot product of two inputs along an axis of each (`axes`: an int for both, or a pair), per
    sample (Keras' batch_dot): the output holds the first input's other axes, then the second's. With
    normalize=True both are first L2-normalized along those axes, so the result is their cosine."""

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axes, int):
            if not isinstance(axes, (list, tuple)):
                raise TypeError(f"Invalid type for argument `axes`: it should be a list or an int. "
                                f"Received: axes={axes}")
            if len(axes) != 2:
                raise ValueError(f"Invalid format for argument `axes`: it should contain two elements. Received: "
                                 f"axes={axes}")
            if not all(isinstance(a, int) for a in axes):
                raise ValueError(f"Invalid format for argument `axes`: list elements should be integers. Received: "
                                 f"axes={axes}")
        self.axes = axes
        self.normalize = normalize

    def _axes(self, shapes):
        """The contracted axis of each input, counted from 0."""
        axes = (self.axes, self.axes) if isinstance(self.axes, int) else self.axes
        for a, s in zip(axes, shapes):
            if not -len(s) <= a < len(s):
                raise ValueError(f"Dot: axis {a} of `axes`={self.axes} is out of range for an input of shape {s}")
        return [a % len(s) for a, s in zip(axes, shapes)]

    def build(self, input_shape):
        _list_of_shapes(self, input_shape, 2)
        (s1, s2), (a1, a2) = input_shape, self._axes(input_shape)
        if 0 in (a1, a2):
            raise ValueError("Cannot perform batch_dot over axis 0. If your inputs are not batched, add a dummy "
                             "batch dimension to your inputs using keras.ops.expand_dims(x, 0)")
        if s1[a1] != s2[a2]:
            raise ValueError(f"Incompatible input shapes: axis values {s1[a1]} (at axis {a1}) != {s2[a2]} (at axis "
                             f"{a2}). Full input shapes: {s1}, {s2}")

    def call(self, inputs):
        axes = self._axes([x.shape for x in inputs])
        xs = []
        for x, a in zip(inputs, axes):
            if self.normalize:  # Keras: x * min(1 / sqrt(sum(x^2)), 1 / epsilon)
                inv_norm = 1.0 / ops.sqrt(ops.reduce_sum(ops.square(x), axis=a, keepdims=True))
                x = x * ops.minimum(inv_norm, 1.0 / backend.epsilon())
            if 1 < a < x.ndim - 1:  # batch_dot contracts axis 1 or the last: move a middle axis last
                x = ops.transpose(x, [k for k in range(x.ndim) if k != a] + [a])
                a = x.ndim - 1
            xs.append((x, a))
        return _core.apply("batch_dot", [xs[0][0], xs[1][0]], axes=[xs[0][1], xs[1][1]])

    def compute_output_shape(self, input_shape):
        _list_of_shapes(self, input_shape, 2)
        (s1, s2), (a1, a2) = input_shape, self._axes(input_shape)
        out = [d for k, d in enumerate(s1) if k != a1] + [d for k, d in enumerate(s2) if k not in (0, a2)]
        return tuple(out + [1] if len(out) == 1 else out)

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def add(inputs, **kwargs):
    """The sum of `inputs` (a list): `Add(**kwargs)(inputs)`."""
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    """inputs[0] - inputs[1]: `Subtract(**kwargs)(inputs)`."""
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    """The elementwise product of `inputs`: `Multiply(**kwargs)(inputs)`."""
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    """The elementwise mean of `inputs`: `Average(**kwargs)(inputs)`."""
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    """The elementwise maximum of `inputs`: `Maximum(**kwargs)(inputs)`."""
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    """The elementwise minimum of `inputs`: `Minimum(**kwargs)(inputs)`."""
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    """`inputs` joined along `axis`: `Concatenate(axis, **kwargs)(inputs)`."""
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes=-1, **kwargs):
    """The per-sample dot product of two inputs: `Dot(axes, **kwargs)(inputs)`."""
    return Dot(axes=axes, **kwargs)(inputs)
