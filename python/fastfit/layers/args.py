"""Keras' layer-argument rules, shared by the layers that take windows, sizes and data formats."""
import operator


def data_format_arg(data_format):
    """Keras' `data_format`: 'channels_last' (the default) or 'channels_first'."""
    value = "channels_last" if data_format is None else str(data_format).lower()
    if value not in ("channels_first", "channels_last"):
        raise ValueError("The `data_format` argument must be one of {'channels_first', 'channels_last'}. "
                         f"Received: data_format={data_format}")
    return value


def standardize_tuple(value, n, name, allow_zero=False):
    """An int or n ints as a tuple of n ints, each > 0 (>= 0 with allow_zero), with Keras' messages."""
    error = f"The `{name}` argument must be a tuple of {n} integers. Received {name}={value}"
    try:
        values = tuple(operator.index(v) for v in value) if isinstance(value, (tuple, list)) else \
            (operator.index(value),) * n
    except TypeError:
        values = ()
    if len(values) != n or any(isinstance(v, bool) for v in (value if isinstance(value, (tuple, list)) else [value])):
        raise ValueError(error)
    bad = {v for v in values if v < 0 or (v == 0 and not allow_zero)}
    if bad:
        raise ValueError(f"{error}, including values {bad} that do not satisfy `value {'>= 0' if allow_zero else '> 0'}`")
    return values


def standardize_padding(owner, padding, allowed=("valid", "same")):
    p = padding.lower() if isinstance(padding, str) else padding
    if p not in allowed:
        raise ValueError(f"{owner}: `padding` must be one of {', '.join(map(repr, allowed))}. Received "
                         f"padding={padding!r}")
    return p


def standardize_data_format(owner, data_format):
    """channels_last only: channels_first raises NotImplementedError."""
    value = data_format_arg(data_format)
    if value == "channels_first":
        raise NotImplementedError(f"{owner}: data_format='channels_first' is not supported yet (channels_last only)")
    return value


def not_supported(owner, **args):
    """NotImplementedError naming the first argument given that fastfit does not support yet."""
    for name, value in args.items():
        if value is not None:
            raise NotImplementedError(f"{owner}: `{name}` is not supported yet")


def check_rank(owner, input_shape, spatial_axes):
    if len(input_shape) != spatial_axes + 2:
        raise ValueError(f"{owner}: expected inputs of rank {spatial_axes + 2} (batch, "
                         f"{'height, width' if spatial_axes == 2 else 'steps'}, channels), got shape "
                         f"{tuple(input_shape)}")
