"""Objects to and from JSON-able configs, in Keras 3's format.

An object becomes ``{"module", "class_name", "config", "registered_name"}`` (plus "build_config" and
"compile_config" for layers and models). fastfit's built-ins are written under Keras' public modules
("keras.layers", "keras.optimizers", ...), so Keras 3 reads them, and Keras' files name classes
fastfit resolves the same way. Classes and functions of your own are found through
`custom_objects`, `custom_object_scope` and `register_keras_serializable` (see registration.py).
"""
import base64
import inspect
import marshal
import threading
import types
import warnings

import numpy as np

from . import registration

_KERAS_MODULE = {  # fastfit package -> the Keras module its public objects are written under
    "layers": "keras.layers", "initializers": "keras.initializers", "losses": "keras.losses",
    "metrics": "keras.metrics", "optimizers": "keras.optimizers", "schedules": "keras.optimizers.schedules",
    "activations": "keras.activations", "regularizers": "keras.regularizers", "constraints": "keras.constraints",
}
_tables = {}


def builtin_tables():
    """{family: {public name: object}} of fastfit's built-ins, built once."""
    if not _tables:
        from .. import activations, constraints, initializers, layers, losses, metrics, optimizers, regularizers
        from ..layers.op_layer import OpLayer
        from ..models import Model, Sequential
        from ..optimizers import schedules
        models = {"Model": Model, "Functional": Model, "Sequential": Sequential}
        _tables.update({
            "layers": {**{n: getattr(layers, n) for n in dir(layers) if inspect.isclass(getattr(layers, n))},
                       **models, "TFOpLambda": OpLayer},
            "models": models, "keras": models,
            "initializers": dict(initializers._BY_NAME),
            "losses": dict(losses.ALL_OBJECTS_DICT),
            "metrics": {**losses.ALL_OBJECTS_DICT, **metrics.ALL_OBJECTS_DICT,
                        **{f.__name__: f for f in metrics._CLASS_OF}},
            "optimizers": {cls.__name__: cls for cls in optimizers._BY_NAME.values()},
            "schedules": dict(schedules._BUILT_IN),
            "activations": dict(activations._BY_NAME),
            "regularizers": dict(regularizers._BY_NAME),
            "constraints": dict(constraints._BY_NAME),
        })
    return _tables


def _family(module):
    """"keras.src.layers.core.dense", "keras.layers", "fastfit.layers.core" -> "layers"; None for a
    module outside Keras and fastfit."""
    parts = (module or "").split(".")
    if parts[0] not in ("keras", "fastfit", "tf_keras"):
        return None
    parts = [p for p in parts[1:] if p not in ("src", "api", "_tf_keras", "keras")]
    if parts[:2] == ["optimizers", "schedules"]:
        return "schedules"
    if parts and parts[0] in ("engine", "saving"):
        return "models"
    return parts[0] if parts else "keras"


def keras_public_name(obj):
    """(Keras module, class name, registered name) fastfit writes for one of its built-ins, else None."""
    from ..layers.op_layer import OpLayer
    from ..models import Model, Sequential
    cls = obj if inspect.isclass(obj) or isinstance(obj, types.FunctionType) else type(obj)
    if cls is Sequential:
        return "keras", "Sequential", None
    if cls is Model:
        return ("keras.src.models.functional", "Functional", "Functional") if obj._graph is not None else None
    if cls is OpLayer:
        return "fastfit.layers", "TFOpLambda", None
    module = getattr(cls, "__module__", "") or ""
    if not module.startswith("fastfit."):
        return None
    family, name = _family(module), cls.__name__
    if builtin_tables().get(family, {}).get(name) is not cls:
        return None
    return _KERAS_MODULE.get(family, "keras"), name, (name if isinstance(obj, types.FunctionType) else None)


def serialize_keras_object(obj):
    """The config of `obj` (a layer, model, loss, metric, optimizer, schedule, initializer, function,
    or a plain value, list or dict of them), as Keras 3's `serialize_keras_object` gives it.

    >>> serialize_keras_object(keras.layers.Dense(2))["class_name"]
    'Dense'
    """
    from ..tensor import Tensor
    if obj is None or isinstance(obj, (str, int, float, bool)):
        return obj
    if isinstance(obj, (list, tuple)):
        return [serialize_keras_object(x) for x in obj]
    if isinstance(obj, dict):
        return {k: serialize_keras_object(v) for k, v in obj.items()}
    if isinstance(obj, bytes):
        return {"class_name": "__bytes__", "config": {"value": obj.decode("utf-8")}}
    if isinstance(obj, slice):
        return {"class_name": "__slice__", "config": {"start": serialize_keras_object(obj.start),
                                                     "stop": serialize_keras_object(obj.stop),
                                                     "step": serialize_keras_object(obj.step)}}
    if obj is Ellipsis:
        return {"class_name": "__ellipsis__", "config": {}}
    if isinstance(obj, Tensor):
        value = obj.numpy()
        return {"class_name": "__tensor__", "config": {"value": value.tolist(), "dtype": value.dtype.name}}
    if isinstance(obj, (np.ndarray, np.generic)):
        if isinstance(obj, np.ndarray) and obj.ndim > 0:
            return {"class_name": "__numpy__", "config": {"value": obj.tolist(), "dtype": obj.dtype.name}}
        return obj.item()
    if isinstance(obj, types.FunctionType) and obj.__name__ == "<lambda>":
        return {"class_name": "__lambda__", "config": {"value": _dump_function(obj)}}
    public = keras_public_name(obj)
    if isinstance(obj, (types.FunctionType, types.BuiltinFunctionType)):
        if public is not None:
            module, name, _ = public
            return {"module": module, "class_name": "function", "config": name, "registered_name": name}
        registered = registration.get_registered_name(obj)
        return {"module": obj.__module__, "class_name": "function", "config": registered,
                "registered_name": registered}
    if not hasattr(obj, "get_config"):
        raise TypeError(f"Cannot serialize object {obj!r} of type {type(obj).__name__}: to be serializable, a class "
                        "must implement `get_config()`.")
    config = obj.get_config()
    if not isinstance(config, dict):
        raise TypeError(f"The `get_config()` method of {obj!r} should return a dict. It returned: {config!r}")
    if public is not None:
        module, class_name, registered = public
    else:
        module, class_name = type(obj).__module__, type(obj).__name__
        registered = registration.get_registered_name(type(obj))
    out = {"module": module, "class_name": class_name, "config": serialize_keras_object(config),
           "registered_name": registered}
    for key in ("build_config", "compile_config"):
        method = getattr(obj, f"get_{key}", None)
        value = method() if method is not None else None
        if value is not None:
            out[key] = serialize_keras_object(value)
    return out


def deserialize_keras_object(config, custom_objects=None, safe_mode=True, module_objects=None):
    """The object `serialize_keras_object` described (or a Keras 3 config of one of the classes
    fastfit has). `custom_objects` maps names to your own classes and functions; `module_objects`
    is where bare names are looked up (e.g. an activation's). A `__lambda__` is only loaded with
    `safe_mode=False` (loading it runs its code)."""
    if config is None or isinstance(config, (int, float, bool)):
        return config
    if isinstance(config, str):  # a name stays a name ("accuracy" is resolved by compile), unless it is yours
        found = registration.get_registered_object(config, custom_objects)
        return config if found is None else found
    if isinstance(config, (list, tuple)):
        return [deserialize_keras_object(c, custom_objects, safe_mode, module_objects) for c in config]
    if not isinstance(config, dict):
        raise TypeError(f"Could not parse config: {config!r}")
    if "class_name" not in config or "config" not in config:
        return {k: deserialize_keras_object(v, custom_objects, safe_mode, module_objects) for k, v in config.items()}
    class_name, inner = config["class_name"], config["config"]
    inner = {} if inner is None else inner
    special = _special(class_name, inner, custom_objects, safe_mode)
    if special is not _NOT_SPECIAL:
        return special
    if class_name == "function":
        return _locate(inner, config.get("registered_name") or inner, config.get("module"), custom_objects,
                       module_objects, config, "function")
    if not isinstance(inner, dict):
        raise TypeError(f"Expected 'config' to be a dict for {class_name}, got {type(inner).__name__}. "
                        f"Full config: {config}")
    cls = _locate(class_name, config.get("registered_name") or class_name, config.get("module"), custom_objects,
                  module_objects, config, "class")
    if isinstance(cls, types.FunctionType):
        return cls
    if not hasattr(cls, "from_config"):
        raise TypeError(f"Unable to reconstruct an instance of '{class_name}': the class has no `from_config()`.")
    with registration.CustomObjectScope(custom_objects), _SafeMode(safe_mode):
        try:
            instance = _from_config(cls, inner, custom_objects)
        except TypeError as e:
            raise TypeError(f"{cls.__name__} could not be deserialized from its config: {e}. Objects that "
                            f"get_config() returns (layers, models, ...) must be deserialized by the class's "
                            f"from_config(). Config: {config}") from e
        build_config = config.get("build_config")
        if build_config and not getattr(instance, "built", True) and hasattr(instance, "build_from_config"):
            instance.build_from_config(build_config)
        compile_config = config.get("compile_config")
        if compile_config and hasattr(instance, "compile_from_config"):
            instance.compile_from_config(compile_config)
    return instance


def _from_config(cls, inner, custom_objects):
    params = inspect.signature(cls.from_config).parameters
    if "custom_objects" in params:
        return cls.from_config(inner, custom_objects=custom_objects)
    return cls.from_config(inner)


_NOT_SPECIAL = object()


def _special(class_name, inner, custom_objects, safe_mode):
    """The value of Keras' special configs (`__numpy__`, `__slice__`, ...), or _NOT_SPECIAL."""
    def load(c):
        return deserialize_keras_object(c, custom_objects, safe_mode)
    if class_name == "__numpy__":
        return np.array(inner["value"], dtype=inner["dtype"])
    if class_name == "__tensor__":
        from ..tensor import convert_to_tensor
        return convert_to_tensor(np.array(inner["value"], dtype=inner["dtype"]))
    if class_name == "__bytes__":
        return inner["value"].encode("utf-8")
    if class_name == "__ellipsis__":
        return Ellipsis
    if class_name == "__slice__":
        return slice(load(inner["start"]), load(inner["stop"]), load(inner["step"]))
    if class_name == "__lambda__":
        if _SafeMode.effective(safe_mode):
            raise ValueError("Requested the deserialization of a Python lambda. Loading it runs its code, so it is "
                             "disallowed by default. If you trust the file, pass `safe_mode=False` to the loading "
                             "function.")
        return _load_function(inner["value"])
    return _NOT_SPECIAL


def _locate(name, registered_name, module, custom_objects, module_objects, full_config, kind):
    """The class or function a config names: a custom object (by registered name, then name); else
    the fastfit built-in of the Keras (or fastfit) module named; else `module_objects`' (the context's
    table, for Keras 2 configs that name no module)."""
    found = registration.get_registered_object(registered_name, custom_objects)
    if found is None and name != registered_name:
        found = registration.get_registered_object(name, custom_objects)
    if found is not None:
        return found
    family = _family(module)
    tables = [builtin_tables()[family]] if family in builtin_tables() else []
    if kind == "function" and (family == "keras" or module == "builtins"):  # Keras' builtin function modules
        tables += [builtin_tables()[other] for other in ("losses", "metrics", "activations")]
    for table in tables + [module_objects or {}]:
        if name in table:
            return table[name]
    if family is not None:
        raise ValueError(f"Could not deserialize {kind} '{name}' of module '{module}': fastfit has no such "
                         f"{'layer or ' if family == 'layers' else ''}{kind} (yet); if it is one of your own, pass "
                         f"it in `custom_objects`. Full object config: {full_config}")
    raise TypeError(f"Could not locate {kind} '{name}'. Pass it in `custom_objects`, or decorate it with "
                    f"`@keras.saving.register_keras_serializable()` (and import it before loading). Full object "
                    f"config: {full_config}")


class _SafeMode:
    """The `safe_mode` of the outermost load, for the loads that from_config methods make inside it."""

    _local = threading.local()

    def __init__(self, safe_mode):
        self.safe_mode = safe_mode

    def __enter__(self):
        self._saved = getattr(self._local, "value", None)
        if self._saved is None:
            self._local.value = self.safe_mode

    def __exit__(self, *exc):
        self._local.value = self._saved

    @classmethod
    def effective(cls, safe_mode):
        outer = getattr(cls._local, "value", None)
        return safe_mode if outer is None else outer


def _dump_function(fn):
    """A lambda as Keras dumps it: (base64 of its marshalled code, defaults, closure values)."""
    warnings.warn("The object being serialized includes a `lambda`. Reloading it needs `safe_mode=False`; use a "
                  "named function registered with `register_keras_serializable` instead.", stacklevel=3)
    code = base64.encodebytes(marshal.dumps(fn.__code__)).decode("ascii")
    closure = [serialize_keras_object(c.cell_contents) for c in fn.__closure__] if fn.__closure__ else None
    return [code, serialize_keras_object(fn.__defaults__), closure]


def _load_function(value):
    """The lambda `_dump_function` wrote. Its globals are fastfit's names (`tf`, `keras`, `np`, ...)
    and the custom objects in scope."""
    import fastfit
    code, defaults, closure = value if isinstance(value, (list, tuple)) else (value, None, None)
    code = marshal.loads(base64.decodebytes(code.encode("ascii")))
    globs = {"tf": fastfit, "keras": fastfit, "K": fastfit.backend, "np": np, "layers": fastfit.layers,
             "ops": fastfit.ops, **registration.current_scope_objects()}
    cells = tuple(types.CellType(v) for v in closure) if closure else None
    return types.FunctionType(code, globs, code.co_name, tuple(defaults) if defaults else None, cells)
