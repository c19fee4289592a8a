"""Python generators feed fit/evaluate/predict through the C++ batch queue: a producer thread
converts each batch while the Program trains on the previous one."""
import numpy as np
import pytest

import fastfit as keras
from conftest import guide_model


def batches(x, y=None, batch_size=32, repeat=False):
    while True:
        for i in range(0, len(x), batch_size):
            yield (x[i:i + batch_size], y[i:i + batch_size]) if y is not None else x[i:i + batch_size]
        if not repeat:
            return


def compiled(seed=0):
    model = guide_model(seed)
    model.compile(keras.optimizers.RMSprop(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_fit_on_a_generator_matches_arrays(small_data):
    x, y = small_data
    from_arrays = compiled().fit(x, y, batch_size=40, epochs=3, shuffle=False, verbose=0).history
    model = compiled()
    from_gen = model.fit(batches(x, y, 40, repeat=True), steps_per_epoch=5, epochs=3, verbose=0).history
    assert from_gen == from_arrays
    assert model.evaluate(batches(x, y, 40), verbose=0) == compiled_eval(model, x, y, 40)


def compiled_eval(model, x, y, batch_size):
    return model.evaluate(x, y, batch_size=batch_size, verbose=0)


def test_evaluate_and_predict_with_steps(small_data):
    x, y = small_data
    model = compiled()
    model.fit(x, y, epochs=1, verbose=0)
    got = model.evaluate(batches(x, y, 32, repeat=True), steps=3, verbose=0)
    want = model.evaluate(x[:96], y[:96], batch_size=32, verbose=0)
    assert got == pytest.approx(want, rel=1e-6)
    preds = model.predict(batches(x, batch_size=32, repeat=True), steps=4, verbose=0)
    np.testing.assert_allclose(preds, model.predict(x[:128], verbose=0), rtol=1e-5, atol=1e-7)
    all_preds = model.predict(batches(x, y, batch_size=48), verbose=0)  # (x, y) batches: y ignored
    np.testing.assert_allclose(all_preds, model.predict(x, verbose=0), rtol=1e-5, atol=1e-7)
    assert model.evaluate(x, y, steps=2, batch_size=50, verbose=0) == pytest.approx(
        model.evaluate(x[:100], y[:100], batch_size=50, verbose=0), rel=1e-6)
    np.testing.assert_allclose(model.predict(x, steps=2, batch_size=50, verbose=0), model.predict(x[:100], verbose=0))


def test_validation_on_a_generator(small_data):
    x, y = small_data
    model = compiled()
    h = model.fit(x, y, epochs=2, verbose=0, validation_data=batches(x, y, 50, repeat=True), validation_steps=2)
    assert list(h.history) == ["accuracy", "loss", "val_accuracy", "val_loss"]  # sorted, as Keras 3
    # each validation continues the generator: the second epoch validates on its batches 3 and 4
    assert h.history["val_loss"][-1] == pytest.approx(model.evaluate(x[100:], y[100:], batch_size=50, verbose=0)[0],
                                                      rel=1e-6)


def test_a_generator_without_steps_runs_until_it_ends(small_data):
    x, y = small_data
    model = compiled()
    with pytest.warns(UserWarning, match="ran out of data"):
        h = model.fit(batches(x, y, 50), epochs=3, verbose=0).history
    assert len(h["loss"]) == 1  # the second epoch finds the generator exhausted and stops training


def test_running_out_within_steps_per_epoch_stops_training(small_data):
    x, y = small_data
    model = compiled()
    with pytest.warns(UserWarning, match="ran out of data"):
        h = model.fit(batches(x, y, 50), steps_per_epoch=3, epochs=3, verbose=0).history
    assert len(h["loss"]) == 2  # 3 batches, then 1 of 3


def test_the_generators_exception_reaches_the_caller(small_data):
    x, y = small_data

    class Broken(Exception):
        pass

    def gen():
        yield x[:32], y[:32]
        yield x[32:64], y[32:64]
        raise Broken("disk on fire")

    with pytest.raises(Broken, match="disk on fire"):
        compiled().fit(gen(), steps_per_epoch=5, epochs=1, verbose=0)


def test_a_batch_of_the_wrong_shape_is_a_clear_error(small_data):
    x, y = small_data

    def gen():
        yield x[:32], y[:32]
        yield x[32:64, :700], y[32:64]

    with pytest.raises(ValueError, match=r"input 0: expected samples of float32 \(\d+, 784\).*got float32 \(32, 700\)"):
        compiled().fit(gen(), steps_per_epoch=2, epochs=1, verbose=0)


def test_generator_arguments_are_checked(small_data):
    x, y = small_data
    model = compiled()
    with pytest.raises(ValueError, match="`y` must not be given"):
        model.fit(batches(x, y), y, verbose=0)
    with pytest.raises(ValueError, match="`batch_size` must not be given"):
        model.fit(batches(x, y), batch_size=32, verbose=0)
    with pytest.raises(ValueError, match="yielded no batches"):
        model.fit(iter([]), verbose=0)
    with pytest.raises(ValueError, match=r"need batches of \(x, y\)"):
        model.fit(batches(x), steps_per_epoch=2, verbose=0)
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(batches(x, y), validation_split=0.2, verbose=0)


def test_a_small_first_batch_runs_eagerly_then_a_larger_one_compiles(small_data):
    x, y = small_data
    model = compiled()
    model.fit(batches(x[:100], y[:100], 4), steps_per_epoch=5, epochs=1, verbose=0)  # 4 rows: too few to check
    assert not model._programs
    model.fit(batches(x, y, 32), steps_per_epoch=5, epochs=1, verbose=0)
    assert [k[:3] for k in model._programs] == [("train", (((784,), "<f4"), ((), "<i4")), None)]  # then the device


EXIT_SCRIPT = r"""
import numpy as np, fastfit as keras
from fastfit import layers
x = np.random.rand(4096, 32).astype("float32"); y = np.random.randint(0, 3, 4096)
m = keras.Sequential([keras.Input(shape=(32,)), layers.Dense(3, activation="softmax")])
m.compile("sgd", "sparse_categorical_crossentropy")
def gen():
    while True:
        for i in range(0, 4096, 64):
            yield x[i:i + 64], y[i:i + 64]
m.fit(gen(), steps_per_epoch=20, epochs=2, verbose=0)
"""


def test_exiting_right_after_fit_on_a_generator_is_clean():
    """The producer thread is stopped and joined before fit returns: none is left blocked in C++ when
    the interpreter exits (it would be killed there: 'terminate called without an active exception')."""
    import subprocess
    import sys
    for _ in range(4):
        proc = subprocess.run([sys.executable, "-c", EXIT_SCRIPT], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0 and "terminate" not in proc.stderr, proc.stderr[-2000:]
