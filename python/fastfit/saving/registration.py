"""Custom objects: the classes and functions of your own that saved configs name, as Keras 3 keeps them.

A saved config names a custom class by its registered name (`"package>Name"`, from
`register_keras_serializable`) or its class name; loading finds it in, in order, the `custom_objects`
argument, an enclosing `custom_object_scope`, and the global registry.
"""
import inspect
import threading

_GLOBAL_CUSTOM_OBJECTS = {}  # registered name -> object
_GLOBAL_CUSTOM_NAMES = {}    # object -> registered name
_scope = threading.local()


class CustomObjectScope:
    """Makes custom classes and functions visible to deserialization inside a `with` block.

    >>> with custom_object_scope({"MyLayer": MyLayer}):
    ...     model = keras.models.load_model("model.keras")
    """

    def __init__(self, custom_objects=None, *more):
        objects = dict(custom_objects or {})
        for extra in more:  # Keras 2 took several dicts
            objects.update(extra)
        self.custom_objects = objects
        self._saved = None

    def __enter__(self):
        self._saved = current_scope_objects()
        _scope.objects = {**self._saved, **self.custom_objects}
        return self

    def __exit__(self, *exc):
        _scope.objects = self._saved


custom_object_scope = CustomObjectScope


def current_scope_objects():
    """The objects of the enclosing custom_object_scope blocks (of this thread)."""
    return dict(getattr(_scope, "objects", {}))


def get_custom_objects():
    """The live global dict of registered custom objects (name -> object); you may edit it.

    >>> get_custom_objects()["MyLayer"] = MyLayer
    """
    return _GLOBAL_CUSTOM_OBJECTS


def register_keras_serializable(package="Custom", name=None):
    """Decorator: registers a class (which must have `get_config`) or a function under
    `"package>name"` (name defaults to its own), so saved files that use it load without
    `custom_objects`.

    >>> @keras.saving.register_keras_serializable(package="my_package")
    ... class MyDense(keras.layers.Dense):
    ...     pass
    >>> keras.saving.get_registered_name(MyDense)
    'my_package>MyDense'
    """
    def decorator(obj):
        key = f"{package}>{name if name is not None else obj.__name__}"
        if inspect.isclass(obj) and not hasattr(obj, "get_config"):
            raise ValueError("Cannot register a class that does not have a get_config() method.")
        _GLOBAL_CUSTOM_OBJECTS[key] = obj
        _GLOBAL_CUSTOM_NAMES[obj] = key
        return obj
    return decorator


def get_registered_name(obj):
    """The name `obj` is registered under, or its own `__name__` when it is not registered."""
    return _GLOBAL_CUSTOM_NAMES.get(obj, getattr(obj, "__name__", None))


def get_registered_object(name, custom_objects=None, module_objects=None):
    """The object registered as `name`, looked up in `custom_objects`, then the enclosing scopes,
    then the global registry, then `module_objects`; None when none has it."""
    for table in (custom_objects or {}, current_scope_objects(), _GLOBAL_CUSTOM_OBJECTS, module_objects or {}):
        if name in table:
            return table[name]
    return None
