"""The TensorBoard callback: event files read back with TensorBoard's EventAccumulator (scalars,
learning rate, histograms, images, the graph, train and validation runs), the same tags and steps
as Keras 3 writes, and its argument errors."""
import sys
import types

import numpy as np
import pytest

import callback_cases
import fastfit as keras
from fastfit import layers

pytest.importorskip("tensorboardX")
pytest.importorskip("tensorboard")

# TensorBoard's own switch to its TensorFlow stub: reading event files keeps TensorFlow out of this process.
sys.modules.setdefault("tensorboard.compat.notf", types.ModuleType("tensorboard.compat.notf"))
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from conftest import needs_tensorflow


def run(log_dir):
    keras.utils.set_random_seed(0)
    return callback_cases.tensorboard_fit(keras, log_dir)


def read(run_dir):
    """{tag: [(step, value or histogram or image)]} of a run, scalars and tensors alike."""
    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0, "histograms": 0, "images": 0, "tensors": 0})
    acc.Reload()
    tags = acc.Tags()
    out = {t: [(e.step, e.value) for e in acc.Scalars(t)] for t in tags["scalars"]}
    out.update({t: [(e.step, e.histogram_value) for e in acc.Histograms(t)] for t in tags["histograms"]})
    out.update({t: [(e.step, e) for e in acc.Images(t)] for t in tags["images"]})
    out.update({t: [(e.step, e.tensor_proto) for e in acc.Tensors(t)] for t in tags["tensors"]})
    return out, (acc.Graph() if tags["graph"] else None)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("tensorboard")
    scope = run(str(log_dir))
    return log_dir, scope["history"].history, scope["model"]


def test_epoch_scalars_and_learning_rate(written):
    log_dir, history, _ = written
    train, _ = read(log_dir / "train")
    val, _ = read(log_dir / "validation")
    for name in ("loss", "accuracy"):
        assert [s for s, _ in train[f"epoch_{name}"]] == [0, 1]
        np.testing.assert_allclose([v for _, v in train[f"epoch_{name}"]], history[name], rtol=1e-6)
        np.testing.assert_allclose([v for _, v in val[f"epoch_{name}"]], history[f"val_{name}"], rtol=1e-6)
    np.testing.assert_allclose([v for _, v in train["epoch_learning_rate"]], [1e-3, 1e-3], rtol=1e-6)
    assert all(v > 0 for _, v in train["epoch_steps_per_second"])
    # each validation also as a function of the optimizer's step count (4 batches an epoch)
    assert [s for s, _ in val["evaluation_loss_vs_iterations"]] == [4, 8]
    np.testing.assert_allclose([v for _, v in val["evaluation_loss_vs_iterations"]], history["val_loss"], rtol=1e-6)


def test_batch_scalars_every_update_freq_batches(written):
    train, _ = read(written[0] / "train")
    for tag in ("batch_loss", "batch_accuracy", "batch_steps_per_second"):
        assert [s for s, _ in train[tag]] == [2, 4, 6, 8]  # the batch count since fit began
    assert train["batch_loss"][1][1] == pytest.approx(train["epoch_loss"][0][1], rel=1e-6)  # the epoch's last


def test_weight_histograms_images_and_graph(written):
    log_dir, _, model = written
    train, graph = read(log_dir / "train")
    for weight in model.weights:
        steps = train[f"{weight.path}/histogram"]
        assert [s for s, _ in steps] == [0, 1] and steps[-1][1].num == weight.numpy().size
        assert steps[-1][1].min == pytest.approx(weight.numpy().min())
    image = train["dense_1/kernel/image"][-1][1]
    assert (image.width, image.height) == (8, 4)  # the longer side across
    nodes = {n.name: (n.op, list(n.input)) for n in graph.node}
    assert nodes == {"digits": ("InputLayer", []), "dense_1": ("Dense", ["digits"]),
                     "predictions": ("Dense", ["dense_1"])}
    dims = [d.size for d in graph.node[1].attr["_output_shapes"].list.shape[0].dim]
    assert dims == [-1, 4]


def test_evaluate_alone_and_no_graph(tmp_path):
    scope = {"keras": keras, "layers": layers, "np": np}
    exec(callback_cases.TENSORBOARD_MODEL, scope)
    model, x, y = scope["model"], scope["x"], scope["y"]
    model.fit(x, y, epochs=1, verbose=0)
    tensorboard = keras.callbacks.TensorBoard(tmp_path, write_graph=False)
    loss, _ = model.evaluate(x, y, verbose=0, callbacks=[tensorboard])
    model.fit(x, y, epochs=1, verbose=0, callbacks=[tensorboard])  # its end closes (and so completes) the files
    val, _ = read(tmp_path / "validation")
    assert val["evaluation_loss_vs_iterations"] == [(2, pytest.approx(loss, rel=1e-6))]
    train, graph = read(tmp_path / "train")
    assert graph is None and set(train) == {"epoch_loss", "epoch_accuracy", "epoch_learning_rate"}


def test_arguments_not_supported_are_refused(tmp_path):
    with pytest.raises(NotImplementedError, match="profile_batch=5"):
        keras.callbacks.TensorBoard(tmp_path, profile_batch=5)
    with pytest.raises(NotImplementedError, match="embeddings_freq=1"):
        keras.callbacks.TensorBoard(tmp_path, embeddings_freq=1)
    with pytest.raises(NotImplementedError, match="embeddings_metadata='meta.tsv'"):
        keras.callbacks.TensorBoard(tmp_path, embeddings_metadata="meta.tsv")
    with pytest.raises(ValueError, match="`update_freq` must be 'epoch', 'batch' or a positive integer, got 'often'"):
        keras.callbacks.TensorBoard(tmp_path, update_freq="often")
    with pytest.raises(ValueError, match="`histogram_freq` must be an integer >= 0, got -1"):
        keras.callbacks.TensorBoard(tmp_path, histogram_freq=-1)


def test_missing_tensorboardx_is_named(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "tensorboardX", None)
    with pytest.raises(ImportError, match=r"needs the tensorboardX package: `pip install tensorboardX`"):
        keras.callbacks.TensorBoard(tmp_path)


@needs_tensorflow
def test_same_tags_and_steps_as_keras(written, keras_callback_reference):
    keras_dir = keras_callback_reference[1] / "tensorboard"
    for run_name in ("train", "validation"):
        ours, _ = read(written[0] / run_name)
        theirs, _ = read(keras_dir / run_name)
        theirs.pop("keras", None)  # Keras' model config (JSON); fastfit writes the layer graph instead
        assert set(ours) == set(theirs)
        for tag in theirs:
            if not tag.startswith("evaluation_"):  # Keras' file keeps only the last of these
                assert [s for s, _ in ours[tag]] == [s for s, _ in theirs[tag]], tag
