"""model.summary(): Keras 3's table of layers, output shapes and parameter counts, in plain text."""
import math
import re
import shutil
import sys

import numpy as np

from ..layers.layer import dtype_name, unique
from . import model_graph


def print_summary(model, line_length=None, positions=None, print_fn=None, expand_nested=False, show_trainable=False,
                  layer_range=None):
    """Prints the summary of `model` (see `Model.summary`)."""
    entries = model_graph.model_layers(model)
    chain = model_graph.is_sequential_like(model)
    if chain:
        default_length, default_positions = 88, [0.45, 0.8, 1.0]
        header, align = ["Layer (type)", "Output Shape", "Param #"], ["left", "left", "right"]
    else:
        default_length, default_positions = 108, [0.3, 0.56, 0.74, 1.0]
        header, align = ["Layer (type)", "Output Shape", "Param #", "Connected to"], ["left", "left", "right", "left"]
    positions = list(positions or default_positions)
    if len(positions) != len(header):
        raise ValueError(f"summary: `positions` must have {len(header)} entries (one per column), got {positions}")
    if show_trainable:
        default_length += 12
        positions = [p * 0.9 for p in positions] + [1.0]
        header.append("Trainable")
        align.append("center")
    line_length = line_length or min(default_length, shutil.get_terminal_size().columns - 4)
    widths = _column_widths(positions, line_length)

    rows = []
    lo, hi = _layer_range(entries, layer_range)
    for entry in entries[lo:hi]:
        rows += _rows(entry, chain, show_trainable, expand_nested, 0)

    lines = [f'Model: "{model.name}"'] + _table(header, align, widths, rows)
    lines += [f" {label}: {count:,} ({readable_memory_size(size)})" for label, count, size in _counts(model)]
    text = "\n".join(lines)
    if print_fn is None:
        print(_printable(text, sys.stdout))
    else:
        print_fn(text)


# Box drawing for a stream that cannot encode it (a C locale, a cp1252 console), as rich falls back.
_ASCII = str.maketrans("┏┳┓┡╇┩├┼┤└┴┘━─┃│…", "++++++++++++=-||~")


def _printable(text, stream):
    try:
        text.encode(getattr(stream, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return text.translate(_ASCII)
    return text


def _column_widths(positions, line_length):
    widths, current = [], 0
    for pos in positions:
        width = int(pos * line_length) - current
        if width < 4:
            raise ValueError("Insufficient console width to print summary.")
        widths.append(width)
        current += width
    return widths


def _layer_range(entries, layer_range):
    """[first, last + 1) of the layers to show: `layer_range` is two regular expressions matching the
    first and the last layer's names."""
    if layer_range is None:
        return 0, len(entries)
    if len(layer_range) != 2:
        raise ValueError(f"layer_range must be a list or tuple of length 2. Received: layer_range = {layer_range} "
                         f"of length {len(layer_range)}")
    if not all(isinstance(p, str) for p in layer_range):
        raise ValueError(f"layer_range should contain string type only. Received: {layer_range}")
    lower = [i for i, e in enumerate(entries) if re.match(layer_range[0], e.layer.name)]
    upper = [i for i, e in enumerate(entries) if re.match(layer_range[1], e.layer.name)]
    if not lower or not upper:
        raise ValueError(f"Passed layer_names do not match the layer names in the model. Received: {layer_range}")
    if min(lower) > max(upper):
        return min(upper), max(lower) + 1
    return min(lower), max(upper) + 1


def format_shape(shape):
    """'(None, 64)' as Keras prints shapes (a 1-d shape as '(None)'); '?' where unknown."""
    return "?" if shape is None else f"({', '.join(str(d) for d in shape)})"


def _rows(entry, chain, show_trainable, expand_nested, level):
    layer = entry.layer
    prefix = "   " * level + "└ " if level else ""
    params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
    row = [f"{prefix}{layer.name} ({type(layer).__name__})", format_shape(entry.output_shape), params]
    if not chain:
        row.append(", ".join(f"{source.name}[{node}][{tensor}]" for source, node, tensor in entry.inbound()) or "-")
    if show_trainable:
        row.append(("Y" if layer.trainable else "N") if layer.weights else "-")
    rows = [row]
    if expand_nested and getattr(layer, "layers", None):
        for inner in model_graph.model_layers(layer):
            rows += _rows(inner, chain, show_trainable, expand_nested, level + 1)
    return rows


def _counts(model):
    """(label, parameter count, bytes) of the summary's last lines."""
    trainable, non_trainable = unique(model.trainable_weights), unique(model.non_trainable_weights)
    groups = [("Trainable params", trainable), ("Non-trainable params", non_trainable)]
    optimizer = getattr(model, "optimizer", None)
    if getattr(model, "compiled", False) and optimizer is not None and optimizer.built:
        groups.append(("Optimizer params", list(optimizer.variables)))
    sized = [(label, _count(ws), _size(ws)) for label, ws in groups]
    total = ("Total params", sum(c for _, c, _ in sized), sum(s for _, _, s in sized))
    return [total] + sized


def _count(weights):
    return int(sum(math.prod(w.shape) for w in weights))


def _size(weights):
    return sum(math.prod(w.shape) * np.dtype(dtype_name(w.dtype)).itemsize for w in weights)


def readable_memory_size(size):
    """'215.04 KB' for 220200 bytes: Keras' units of 1024."""
    for unit in ["B", "KB", "MB", "GB", "TB"]:
        if size < 1024:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} PB"


# -- the table, drawn as Keras' (rich's) heavy-headed box ---------------------------------------
def _table(header, align, widths, rows):
    """Lines of a table whose columns take `widths` characters (with their borders and one space of
    padding each side); cells wrap at spaces and cut words too long with '…'."""
    inner = [w - 3 for w in widths]
    inner[-1] -= 1  # room for the right border

    def rule(left, mid, right, fill):
        return left + mid.join(fill * (w + 2) for w in inner) + right

    def body(cells, edge):
        wrapped = [_wrap(str(c), w) for c, w in zip(cells, inner)]
        height = max(len(w) for w in wrapped)
        out = []
        for i in range(height):
            parts = [_justify(w[i] if i < len(w) else "", width, a) for w, width, a in zip(wrapped, inner, align)]
            out.append(edge + edge.join(f" {p} " for p in parts) + edge)
        return out
    lines = [rule("┏", "┳", "┓", "━")] + body(header, "┃") + [rule("┡", "╇", "┩", "━")]
    for i, row in enumerate(rows):
        if i:
            lines.append(rule("├", "┼", "┤", "─"))
        lines += body(row, "│")
    lines.append(rule("└", "┴", "┘", "─"))
    return lines


def _wrap(text, width):
    words = text.lstrip(" ").split(" ")
    words[0] = text[:len(text) - len(text.lstrip(" "))] + words[0]  # a nested layer's indent stays
    lines, line = [], ""
    for word in words:
        if len(word) > width:
            word = word[:width - 1] + "…"
        if line and len(line) + 1 + len(word) <= width:
            line += " " + word
        else:
            if line:
                lines.append(line)
            line = word
    return lines + [line]


def _justify(text, width, align):
    if align == "right":
        return text.rjust(width)
    if align == "center":
        return text.center(width)
    return text.ljust(width)
