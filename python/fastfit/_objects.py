"""Keras' lookup of small configurable objects (regularizers, constraints): `get` takes None, a name,
a config dict, a class or an instance; `serialize`/`deserialize` write and read Keras 3's config
format (saving/serialization.py, the one place for it)."""
import inspect


class Registry:
    """The named classes of one kind ('regularizer', 'constraint'), with Keras' get/serialize/deserialize."""

    def __init__(self, kind, by_name):
        self.kind, self.by_name = kind, by_name

    def serialize(self, obj):
        """Keras 3's {'module', 'class_name', 'config', 'registered_name'} of `obj` (None for None)."""
        from .saving.serialization import serialize_keras_object
        return None if obj is None else serialize_keras_object(obj)

    def deserialize(self, config, custom_objects=None):
        """The object `serialize` described; `custom_objects` maps other class names to classes."""
        from .saving.serialization import deserialize_keras_object
        if not isinstance(config, dict) or "class_name" not in config:
            raise ValueError(f"Could not interpret {self.kind} identifier: {config}")
        try:
            return deserialize_keras_object(config, custom_objects, module_objects=self.by_name)
        except (TypeError, ValueError) as e:
            raise ValueError(f"Could not interpret {self.kind} identifier: {config} ({e})") from e

    def get(self, identifier):
        """An object from None, a name, a config dict, a class (instantiated with its defaults), an
        instance or any callable."""
        if identifier is None:
            return None
        obj = identifier
        if isinstance(identifier, dict):
            obj = self.deserialize(identifier)
        elif isinstance(identifier, str):
            obj = self.by_name.get(identifier)
        if inspect.isclass(obj):
            obj = obj()
        if not callable(obj):
            raise ValueError(f"Could not interpret {self.kind} identifier: {identifier}")
        return obj
