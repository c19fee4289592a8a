"""model.summary() (its table as Keras 3 prints it), model.to_dot(), keras.utils.model_to_dot and
plot_model (a PNG through pydot and Graphviz), and their errors."""
import contextlib
import importlib.util
import io
import shutil
import struct
import sys

import numpy as np
import pytest

import fastfit as keras
import summary_cases
from fastfit import layers
from conftest import needs_tensorflow


@pytest.fixture(scope="module")
def cases():
    return summary_cases.summaries(keras, layers)


def table(text):
    """(title, header cells, rows of cells (a wrapped cell's lines joined), the count lines) of a summary."""
    lines = text.strip("\n").splitlines()
    header, rows, current = None, [], None
    for line in lines[1:]:
        cells = [c.strip() for c in line[1:-1].split(line[0])] if line[:1] in ("┃", "│") else None
        if line.startswith("┃"):
            header = cells
        elif line.startswith("│"):
            current = cells if current is None else [f"{a} {b}".strip() for a, b in zip(current, cells)]
        elif line.startswith(("├", "└")) and current is not None:
            rows.append(current)
            current = None
    counts = [line.strip() for line in lines if line.startswith(" ")]
    return lines[0], header, rows, counts


def test_sequential_summary(cases):
    title, header, rows, counts = table(cases[0]["seq"])
    assert title == 'Model: "seq"' and header == ["Layer (type)", "Output Shape", "Param #"]
    assert rows == [["dense_a (Dense)", "(None, 64)", "50,240"], ["dense_b (Dense)", "(None, 64)", "4,160"],
                    ["dense_c (Dense)", "(None, 10)", "650"]]
    assert counts == ["Total params: 55,050 (215.04 KB)", "Trainable params: 55,050 (215.04 KB)",
                      "Non-trainable params: 0 (0.00 B)"]
    assert all(len(line) == 200 for line in cases[0]["seq"].splitlines()[1:10])


def test_functional_multi_io_summary(cases):
    _, header, rows, counts = table(cases[0]["multi"])
    assert header[-1] == "Connected to"
    # inputs first, then by depth, as Keras orders a graph's operations
    assert [r[0] for r in rows] == ["img_input (InputLayer)", "ts_input (InputLayer)", "conv_2d (Conv2D)",
                                    "conv_1d (Conv1D)", "pool_2d (GlobalMaxPooling2D)", "pool_1d (GlobalMaxPooling1D)",
                                    "joined (Concatenate)", "score_output (Dense)", "class_output (Dense)"]
    assert rows[0][1:] == ["(None, 32, 32, 3)", "0", "-"]
    assert rows[6][1:] == ["(None, 6)", "0", "pool_2d[0][0], pool_1d[0][0]"]
    assert counts[0] == "Total params: 219 (876.00 B)"
    _, _, rows, _ = table(cases[0]["shared"])  # a layer called twice: its second node is [1]
    assert rows[2][3] == "a[0][0], b[0][0]" and rows[3][3] == "shared[0][0], shared[1][0]"


def test_summary_options(cases):
    texts = cases[0]
    assert [r[0] for r in table(texts["nested_expanded"])[2]] == ["outer_in (InputLayer)", "inner (Sequential)",
                                                                 "└ inner_dense (Dense)", "head (Dense)"]
    _, header, rows, counts = table(texts["trained"])
    assert header[-1] == "Trainable" and [r[-1] for r in rows] == ["Y", "Y"]
    assert counts[-1] == "Optimizer params: 40 (164.00 B)"  # Adam: step, rate, 2 slots per weight
    assert [r[0].split()[0] for r in table(texts["range"])[2]] == ["conv_1d", "pool_2d", "pool_1d", "joined"]
    narrow = texts["narrow"].splitlines()
    assert all(len(line) == 60 for line in narrow[1:-3]) and "│ (InputLayer)    │" in texts["narrow"]
    printed = []
    cases[1]["seq"].summary(print_fn=printed.append)
    assert len(printed) == 1  # one call with the whole text, as Keras 3


def test_summary_on_a_stream_without_box_drawing(cases):
    stream = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    with contextlib.redirect_stdout(stream):
        cases[1]["seq"].summary(line_length=60)
    stream.seek(0)
    text = stream.read()
    lines = text.splitlines()
    assert lines[1] == "+" + "=" * 26 + "+" + "=" * 20 + "+" + "=" * 10 + "+"
    assert lines[4].startswith("| dense_a (Dense)") and all(len(line) == 60 for line in lines[1:-3])


def test_summary_errors(cases):
    model = cases[1]["multi"]
    with pytest.raises(ValueError, match="Insufficient console width"):
        model.summary(line_length=10)
    with pytest.raises(ValueError, match="do not match the layer names"):
        model.summary(layer_range=["nope", "joined"])
    with pytest.raises(ValueError, match="layer_range must be a list or tuple of length 2"):
        model.summary(layer_range=["joined"])
    with pytest.raises(ValueError, match="`positions` must have 4 entries"):
        model.summary(positions=[0.5, 1.0])


@needs_tensorflow
def test_summaries_match_keras(cases, keras_callback_reference):
    theirs = keras_callback_reference[0]["summaries"]
    for key, text in cases[0].items():
        if key != "narrow":  # rich divides a narrow width between the columns a little differently
            assert table(text) == table(theirs[key]), key


# -- DOT and pictures ----------------------------------------------------------------------------
def test_to_dot_has_the_layers_and_edges(cases):
    text = cases[1]["multi"].to_dot(show_shapes=True)
    assert text.startswith("digraph G {") and "rankdir=TB" in text and "dpi=200" in text
    for name in ("img_input", "ts_input", "conv_2d", "joined", "score_output", "class_output"):
        assert f'"{name}" [label=<' in text
    for edge in ('"img_input" -> "conv_2d"', '"pool_2d" -> "joined"', '"pool_1d" -> "joined"',
                 '"joined" -> "score_output"', '"joined" -> "class_output"'):
        assert edge + " [penwidth=2];" in text
    assert "Output shape: <b>(None, 30, 30, 3)</b>" in text and "Input shape: <b>[(None, 3), (None, 3)]</b>" in text
    seq = cases[1]["seq"].to_dot(show_layer_names=False, rankdir="LR")
    assert '"dense_a" -> "dense_b"' in seq and "<b>Dense</b>" in seq and "dense_a</b>" not in seq
    nested = cases[1]["nested"].to_dot(expand_nested=True)
    assert 'subgraph "cluster_inner/"' in nested and '"outer_in" -> "inner/inner_dense"' in nested
    assert '"inner/inner_dense" -> "head"' in nested
    assert text.count(" -> ") == 8


def test_to_dot_errors():
    model = keras.Sequential([layers.Dense(2)])
    with pytest.raises(ValueError, match="has not yet been built"):
        model.to_dot()
    model.build((None, 3))
    with pytest.raises(ValueError, match="`rankdir` must be 'TB', 'LR', 'BT' or 'RL', got 'XY'"):
        model.to_dot(rankdir="XY")


def test_model_to_dot_gives_a_pydot_graph(cases):
    import pydot  # a test dependency (the plot extra)
    dot = keras.utils.model_to_dot(cases[1]["shared"])
    assert isinstance(dot, pydot.Dot)
    assert {(e.get_source(), e.get_destination()) for e in dot.get_edges()} == {
        ('"a"', '"shared"'), ('"b"', '"shared"'), ('"shared"', '"added"')}


@pytest.mark.skipif(shutil.which("dot") is None or importlib.util.find_spec("pydot") is None,
                    reason="needs pydot and Graphviz' dot")
def test_plot_model_writes_a_png_of_a_multi_input_model(cases, tmp_path):
    path = tmp_path / "multi_input_and_output_model.png"
    keras.utils.plot_model(cases[1]["multi"], path, show_shapes=True, show_dtype=True, show_layer_activations=True,
                           show_trainable=True, dpi=60)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert width > 800 and height > 300  # seven rows of boxes, two columns of them
    keras.utils.plot_model(cases[1]["nested"], tmp_path / "nested.svg", expand_nested=True)
    assert (tmp_path / "nested.svg").read_text().lstrip().startswith("<?xml")


def test_missing_pydot_or_dot_is_named(cases, tmp_path, monkeypatch):
    model = cases[1]["seq"]
    assert "->" in model.to_dot()  # needs neither
    monkeypatch.setitem(sys.modules, "pydot", None)
    with pytest.raises(ImportError, match=r"install pydot \(`pip install pydot`.*for plot_model"):
        keras.utils.plot_model(model, tmp_path / "m.png")
    with pytest.raises(ImportError, match=r"install pydot .*for model_to_dot"):
        keras.utils.model_to_dot(model)
    monkeypatch.undo()
    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(ImportError, match=r"install graphviz .*`dot` program.*apt-get install graphviz"):
        keras.utils.plot_model(model, tmp_path / "m.png")


def test_layers_without_a_graph(tmp_path):
    class Sub(keras.Model):
        def __init__(self):
            super().__init__(name="sub")
            self.dense = layers.Dense(2, name="inside")

        def call(self, x):
            return self.dense(x)
    model = Sub()
    model(np.zeros((1, 3), "float32"))
    text = []
    model.summary(print_fn=text.append)
    assert table(text[0])[2] == [["inside (Dense)", "?", "8"]]
    assert '"sub" [label=<' in model.to_dot()
