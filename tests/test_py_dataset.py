"""keras.utils.PyDataset / Sequence and pandas inputs to fit, evaluate and predict."""
import threading

import numpy as np
import pytest

import fastfit as keras
from conftest import guide_model


class Batches(keras.utils.PyDataset):
    def __init__(self, x, y=None, batch_size=40, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y, self.batch_size = x, y, batch_size
        self.requested, self.epochs_ended, self.epochs_begun = [], 0, 0
        self.lock = threading.Lock()

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, i):
        with self.lock:
            self.requested.append(i)
        s = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return (self.x[s], self.y[s]) if self.y is not None else self.x[s]

    def on_epoch_begin(self):
        self.epochs_begun += 1

    def on_epoch_end(self):
        self.epochs_ended += 1


def compiled(seed=0):
    model = guide_model(seed)
    model.compile(keras.optimizers.RMSprop(1e-3), "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.parametrize("workers", [1, 3])
def test_fit_on_a_py_dataset_matches_arrays(small_data, workers):
    x, y = small_data
    ds = Batches(x, y, workers=workers)
    h = compiled().fit(ds, epochs=3, shuffle=False, verbose=0).history
    assert h == compiled().fit(x, y, batch_size=40, epochs=3, shuffle=False, verbose=0).history
    assert ds.epochs_ended == 3 and ds.epochs_begun == 3


def test_a_py_dataset_is_shuffled_by_batch_each_epoch(small_data):
    x, y = small_data
    ds = Batches(x, y)
    compiled().fit(ds, epochs=3, verbose=0)
    epochs = [ds.requested[i:i + 5] for i in range(len(ds.requested) - 15, len(ds.requested), 5)]
    assert all(sorted(e) == [0, 1, 2, 3, 4] for e in epochs)
    assert len({tuple(e) for e in epochs}) > 1


def test_evaluate_and_predict_on_a_py_dataset(small_data):
    x, y = small_data
    model = compiled()
    model.fit(x, y, epochs=1, verbose=0)
    assert model.evaluate(Batches(x, y), verbose=0) == pytest.approx(model.evaluate(x, y, batch_size=40, verbose=0))
    np.testing.assert_allclose(model.predict(Batches(x), verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    seen = []

    class Count(keras.callbacks.Callback):
        def set_params(self, params):
            super().set_params(params)
            seen.append(params.get("steps"))

    model.evaluate(Batches(x, y), verbose=0, callbacks=[Count()])
    assert seen == [5]


def test_sequence_is_the_old_name_and_errors():
    assert keras.utils.Sequence is keras.utils.PyDataset
    x = np.zeros((80, 784), "float32")
    with pytest.raises(NotImplementedError, match="use_multiprocessing"):
        compiled().predict(Batches(x, use_multiprocessing=True), verbose=0)
    with pytest.raises(ValueError, match="workers"):
        Batches(x, workers=0)
    with pytest.raises(ValueError, match="batch_size"):
        compiled().predict(Batches(x), batch_size=8, verbose=0)


def test_pandas_dataframes_and_series(small_data):
    pd = pytest.importorskip("pandas")
    x, y = small_data
    frame, labels = pd.DataFrame(x), pd.Series(y)
    h = compiled().fit(frame, labels, epochs=2, shuffle=False, verbose=0).history
    assert h == compiled().fit(x, y, epochs=2, shuffle=False, verbose=0).history
    model = compiled()
    np.testing.assert_allclose(model.predict(frame, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    w = pd.Series(np.linspace(0.5, 1.5, len(y)))
    assert model.evaluate(frame, labels, sample_weight=w, verbose=0) == pytest.approx(
        model.evaluate(x, y, sample_weight=w.to_numpy(), verbose=0))
