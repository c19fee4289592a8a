"""Models whose summaries fastfit and Keras 3 print, made by the same code from either library
(callback_cases.py runs them on Keras)."""
import numpy as np


def summaries(keras, layers):
    """{case: the text summary() gave print_fn}; also the models, by name."""
    rng = np.random.default_rng(0)
    seq = keras.Sequential([keras.Input((784,)), layers.Dense(64, activation="relu", name="dense_a"),
                            layers.Dense(64, activation="relu", name="dense_b"), layers.Dense(10, name="dense_c")],
                           name="seq")
    image = keras.Input(shape=(32, 32, 3), name="img_input")
    series = keras.Input(shape=(None, 10), name="ts_input")
    x1 = layers.GlobalMaxPooling2D(name="pool_2d")(layers.Conv2D(3, 3, name="conv_2d")(image))
    x2 = layers.GlobalMaxPooling1D(name="pool_1d")(layers.Conv1D(3, 3, name="conv_1d")(series))
    x = layers.concatenate([x1, x2], name="joined")
    multi = keras.Model(inputs=[image, series], outputs=[layers.Dense(1, name="score_output")(x),
                                                        layers.Dense(5, name="class_output")(x)], name="multi_io")
    a, b = keras.Input(shape=(6,), name="a"), keras.Input(shape=(6,), name="b")
    shared = layers.Dense(4, name="shared")
    shared_model = keras.Model([a, b], layers.add([shared(a), shared(b)], name="added"), name="shared_io")
    inner = keras.Sequential([keras.Input((6,)), layers.Dense(5, name="inner_dense")], name="inner")
    outer_in = keras.Input(shape=(6,), name="outer_in")
    nested = keras.Model(outer_in, layers.Dense(2, name="head")(inner(outer_in)), name="nested")
    trained = keras.Sequential([keras.Input((4,)), layers.Dense(3, name="d1"), layers.Dense(1, name="d2")],
                               name="trained")
    trained.compile(optimizer="adam", loss="mse")  # one step builds the optimizer: its state is counted
    trained.train_on_batch(rng.normal(size=(8, 4)).astype("float32"), rng.normal(size=(8, 1)).astype("float32"))
    cases = {"seq": (seq, {}), "multi": (multi, {}), "shared": (shared_model, {}), "nested": (nested, {}),
             "nested_expanded": (nested, {"expand_nested": True}), "trained": (trained, {"show_trainable": True}),
             "range": (multi, {"layer_range": ["conv_1d", "joined"]}), "narrow": (multi, {"line_length": 60})}
    texts = {}
    for key, (model, kwargs) in cases.items():
        out = []
        model.summary(print_fn=out.append, **{"line_length": 200, **kwargs})
        texts[key] = "\n".join(out)
    return texts, {"seq": seq, "multi": multi, "shared": shared_model, "nested": nested, "trained": trained}

