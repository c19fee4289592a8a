"""Tensors, variables and dtypes: the TensorFlow names (`tf.Tensor`, `tf.Variable`, `tf.constant`)."""
import numpy as np

from . import _core, _tracing

Tensor = _core.Tensor
_raw_numpy = Tensor.numpy


class DType:
    """A dtype name that compares equal to itself, its string and the numpy dtype (``tf.float32``)."""

    def __init__(self, name):
        self.name = name
        self.as_numpy_dtype = np.dtype(name).type

    def __eq__(self, other):
        if isinstance(other, DType):
            return other.name == self.name
        try:
            return np.dtype(other) == np.dtype(self.name)
        except TypeError:
            return False

    def __hash__(self):
        return hash(self.name)

    def __repr__(self):
        return f"tf.{self.name}"


float32, float64, int32, int64, uint8, bool_ = (DType(n) for n in ("float32", "float64", "int32", "int64", "uint8", "bool"))
_DTYPES = {"float32": float32, "int32": int32}


def _core_dtype(value):
    """float32 for floats and bools, int32 for integers: the two dtypes the core computes in."""
    kind = np.asarray(value).dtype.kind if not isinstance(value, np.ndarray) else value.dtype.kind
    if kind in "iu":
        return np.int32
    if kind in "fb":
        return np.float32
    raise TypeError(f"expected numeric values (float or integer), got dtype {np.asarray(value).dtype}")


def convert_to_tensor(value, dtype=None):
    """Returns `value` as a Tensor (a Tensor is returned as is; numpy data is copied).

    >>> convert_to_tensor([[1.0, 2.0]]).shape
    (1, 2)
    """
    if isinstance(value, Tensor):
        return value
    if dtype is None:
        dtype = _core_dtype(value)
    dtype = np.dtype(getattr(dtype, "name", dtype))
    if dtype not in (np.float32, np.int32):
        dtype = np.int32 if dtype.kind in "iu" else np.float32
    return Tensor(np.require(np.asarray(value, dtype=dtype), requirements="C"))


constant = convert_to_tensor


def as_float(value):
    """A float32 Tensor: the dtype layers and differentiable ops compute in."""
    t = convert_to_tensor(value, None if isinstance(value, Tensor) else "float32")
    return t if t.dtype_name == "float32" else _core.apply("cast", [t], dtype="float32")  # traceable


def _tensor_dtype(self):
    return _DTYPES[self.dtype_name]


def _repr(self):
    return f"<tf.Tensor: shape={self.shape}, dtype={self.dtype_name}, numpy=\n{self.numpy()}>"


def _to_numpy(self, how="numpy()"):
    state = _tracing.current()
    if state is not None:  # a traced value must not leave the trace as a number: it would be frozen
        state.note_conversion(self, how)
    return _raw_numpy(self)


def _scalar(self, kind):
    value = _to_numpy(self, f"{kind.__name__}()")
    if value.size != 1:
        raise TypeError(f"only single-element tensors convert to Python scalars, got shape {self.shape}")
    return kind(value.reshape(-1)[0])


def _array(self, dtype=None, copy=None):
    value = _to_numpy(self, "np.asarray")
    return value if dtype is None else value.astype(dtype)


Tensor.numpy = lambda self: _to_numpy(self)
Tensor.numpy.__doc__ = "A numpy copy of the values."
Tensor.dtype = property(_tensor_dtype)
Tensor.__repr__ = _repr
Tensor.__array__ = _array
Tensor.__float__ = lambda self: _scalar(self, float)
Tensor.__int__ = lambda self: _scalar(self, int)
Tensor.__bool__ = lambda self: _scalar(self, bool)
Tensor.__len__ = lambda self: self.shape[0]
Tensor.__getitem__ = lambda self, key: convert_to_tensor(_to_numpy(self, "indexing")[key])
Tensor.size = property(lambda self: int(np.prod(self.shape)))


class Variable(Tensor):
    """A mutable tensor: model weights. Trainable variables are watched by every GradientTape.

    >>> v = Variable([1.0, 2.0], name="v")
    >>> v.assign_sub([0.5, 0.5]).numpy()
    array([0.5, 1.5], dtype=float32)
    """

    regularizer = None  # add_weight's: its penalty joins the layer's losses
    constraint = None   # add_weight's: applied after each optimizer update

    def __init__(self, initial_value, trainable=True, name=None, dtype=None):
        value = initial_value() if callable(initial_value) else initial_value
        if isinstance(value, Tensor):
            value = value.numpy()
        dtype = np.float32 if dtype is None else np.dtype(getattr(dtype, "name", dtype))
        super().__init__(np.require(np.asarray(value, dtype=dtype), requirements="C"))
        self._trainable = bool(trainable)
        self.name = name or "Variable"
        self.path = self.name

    @classmethod
    def _view(cls, tensor, name, path):
        """A non-trainable Variable over `tensor`'s C++ memory, not a copy (optimizer state)."""
        v = cls.__new__(cls)
        Tensor.__init__(v, shares=tensor)
        v.name, v.path = name, path
        return v

    @property
    def trainable(self):
        return self._trainable

    def assign(self, value):
        """Sets the value. Inside a traced call (fit, evaluate, predict) the assignment is also
        recorded, and the compiled program repeats it after every step (moving averages)."""
        state = _tracing.current()
        if state is not None and isinstance(value, Tensor):
            if tuple(value.shape) != tuple(self.shape) or value.dtype_name != self.dtype_name:
                raise ValueError(f"assign: expected a value of {self.dtype_name} {self.shape} for variable "
                                 f"'{self.path}', got {value.dtype_name} {value.shape}")
            state.tape.record_assign(self, value)
        value = _raw_numpy(value) if isinstance(value, Tensor) else value
        self._assign(np.require(np.asarray(value, dtype=np.dtype(self.dtype_name)), requirements="C"))
        return self

    def assign_add(self, delta):
        return self.assign(self._arith(delta, 1.0))

    def assign_sub(self, delta):
        return self.assign(self._arith(delta, -1.0))

    def _arith(self, delta, sign):
        if self.dtype_name == "float32":  # through ops, so a traced call records it
            from . import ops
            return ops.add(self, ops.multiply(delta, sign))
        return _raw_numpy(self) + sign * np.asarray(delta)

    def value(self):
        return convert_to_tensor(_to_numpy(self, "Variable.value()"))

    def __repr__(self):
        return f"<Variable path={self.path}, shape={self.shape}, dtype={self.dtype_name}, value={_raw_numpy(self)}>"
