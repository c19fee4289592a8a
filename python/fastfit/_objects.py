"""Keras' lookup of small configurable objects (regularizers, constraints): `get` takes None, a name,
a config dict, a class or an instance; `serialize`/`deserialize` turn one into a config dict and back."""
import inspect


class Registry:
    """The named classes of one kind ('regularizer', 'constraint'), with Keras' get/serialize/deserialize."""

    def __init__(self, kind, by_name):
        self.kind, self.by_name = kind, by_name

    def serialize(self, obj):
        """{'class_name': ..., 'config': ...} of `obj` (None for None)."""
        if obj is None:
            return None
        return {"class_name": type(obj).__name__, "config": obj.get_config()}

    def deserialize(self, config, custom_objects=None):
        """The object `serialize` described; `custom_objects` maps other class names to classes."""
        classes = {**self.by_name, **(custom_objects or {})}
        if not isinstance(config, dict) or config.get("class_name") not in classes:
            raise ValueError(f"Could not interpret {self.kind} identifier: {config}")
        return classes[config["class_name"]].from_config(config.get("config", {}))

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
