"""Loss and metric cases run the same way in fastfit and in Keras 3 (TensorFlow, in a subprocess):
`run(keras, tf, cases, arrays)` uses only the API both share, so one code path computes both sides.

A case: {"kind": "loss" | "metric", "cls": class name in keras.losses / keras.metrics, "kwargs": {...},
"activation": None | "sigmoid" | "softmax" (applied to y_pred first, so it carries its logits),
"batches": update_state calls the data is split into (metrics)}; its arrays are
arrays[f"{i}_y_true"], arrays[f"{i}_y_pred"] and, if weighted, arrays[f"{i}_sw"]. A loss gives its value
and the gradient of sum(value) w.r.t. y_pred (before the activation); a metric its result."""
import json
import os
import subprocess
import sys

import numpy as np

KERAS_SCRIPT = r"""
import os, sys
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
os.environ["CUDA_VISIBLE_DEVICES"] = ""
import json, warnings
import numpy as np, keras, tensorflow as tf
sys.path.insert(0, sys.argv[1])
import keras_cases
warnings.simplefilter("ignore")
cases = json.load(open(sys.argv[2]))
arrays = dict(np.load(sys.argv[3]))
np.savez(sys.argv[4], **keras_cases.run(keras, tf, cases, arrays))
"""


def run(keras, tf, cases, arrays):
    """{f"{i}_value": ..., f"{i}_grad": ...} for every case."""
    out = {}
    for i, case in enumerate(cases):
        y_true, y_pred = arrays[f"{i}_y_true"], arrays[f"{i}_y_pred"]
        sw = arrays.get(f"{i}_sw")
        module = keras.losses if case["kind"] == "loss" else keras.metrics
        obj = getattr(module, case["cls"])(**case["kwargs"])
        act = getattr(keras.activations, case["activation"]) if case.get("activation") else (lambda t: t)
        if case["kind"] == "loss":
            x = tf.constant(y_pred)
            with tf.GradientTape() as tape:
                tape.watch(x)
                value = obj(y_true, act(x), sample_weight=sw)
                total = tf.reduce_sum(value)
            out[f"{i}_value"] = np.asarray(value)
            out[f"{i}_grad"] = np.asarray(tape.gradient(total, x))
        else:
            parts = np.array_split(np.arange(len(y_true)), case.get("batches", 1))
            for rows in parts:
                weights = None if sw is None else sw[rows]
                obj.update_state(y_true[rows], act(tf.constant(y_pred[rows])), sample_weight=weights)
            out[f"{i}_value"] = np.asarray(obj.result())
    return out


def keras_results(cases, arrays, workdir):
    """run() in Keras 3 on TensorFlow, in a subprocess (TensorFlow never enters this process)."""
    (workdir / "cases.json").write_text(json.dumps(cases))
    np.savez(workdir / "arrays.npz", **arrays)
    script = workdir / "keras_run.py"
    script.write_text(KERAS_SCRIPT)
    proc = subprocess.run([sys.executable, str(script), os.path.dirname(__file__), str(workdir / "cases.json"),
                           str(workdir / "arrays.npz"), str(workdir / "out.npz")], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return dict(np.load(workdir / "out.npz"))
