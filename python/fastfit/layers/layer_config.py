"""What a layer's config is made of: Keras 3's dtype policies, shapes as JSON holds them, and the
auto-config of layers of your own (their constructor's arguments, when those are plain values)."""
import inspect


def dtype_policy(name):
    """A dtype policy as Keras 3's configs write it."""
    return {"module": "keras", "class_name": "DTypePolicy", "config": {"name": name}, "registered_name": None}


def policy_name(dtype):
    """A dtype policy as Keras 3 configs write it ({"class_name": "DTypePolicy", "config": {"name":
    "float32"}}) as its name; anything else as it is."""
    if isinstance(dtype, dict):
        return dtype.get("config", {}).get("name", dtype.get("class_name"))
    return dtype


def listed(shape):
    """A shape (or a list or dict of shapes) as JSON holds it: tuples as lists."""
    if isinstance(shape, dict):
        return {k: listed(v) for k, v in shape.items()}
    return [listed(d) for d in shape] if isinstance(shape, (list, tuple)) else shape


def shaped(shape):
    """The reverse of `listed`: a shape as a tuple; a list or dict of shapes as a list or dict of them."""
    if isinstance(shape, dict):
        return {k: shaped(v) for k, v in shape.items()}
    if all(d is None or isinstance(d, int) for d in shape):
        return tuple(shape)
    return [shaped(s) for s in shape]


def auto_config(cls, args, kwargs):
    """The constructor's arguments by name, when all are plain values (Keras' auto-config); else None."""
    try:
        signature = inspect.signature(cls.__init__)
        bound = signature.bind(None, *args, **kwargs)
    except (TypeError, ValueError):
        return None
    bound.apply_defaults()
    params = list(signature.parameters.values())
    config = {}
    for p in params[1:]:
        value = bound.arguments.get(p.name)
        if p.kind is p.VAR_POSITIONAL:
            if value:
                return None
        elif p.kind is p.VAR_KEYWORD:
            config.update(value or {})
        else:
            config[p.name] = value
    config.pop("name", None)

    def plain(v):
        if isinstance(v, (list, tuple)):
            return all(plain(x) for x in v)
        if isinstance(v, dict):
            return all(isinstance(k, str) and plain(x) for k, x in v.items())
        return v is None or isinstance(v, (str, int, float, bool))
    return config if plain(config) else None


def builtin(cls):
    """Whether `cls` is one of fastfit's own (they write their configs; no auto-config)."""
    return cls.__module__.split(".")[0] == "fastfit"


def default_config(method):
    """Marks a get_config that a subclass inherits unchanged: it then adds the auto-config."""
    method._is_default = True
    return method


def options(layer, *names):
    """The layer's initializer, regularizer and constraint arguments by name, serialized as Keras 3's
    configs hold them (None stays None)."""
    from .. import constraints, initializers, regularizers
    kinds = {"initializer": initializers, "regularizer": regularizers, "constraint": constraints}
    return {name: kinds[name.rsplit("_", 1)[-1]].serialize(getattr(layer, name)) for name in names}
