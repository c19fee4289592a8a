"""Arguments and small pieces the training and the evaluation loops share."""
import numbers

from .. import callbacks as callbacks_module

STOP_FLAG = {"train": "stop_training", "test": "stop_evaluating", "predict": "stop_predicting"}

def callback_list(callbacks, model, add_history, verbose, epochs, steps):
    """The CallbackList of a call: the user's own CallbackList as it is (as Keras), else one made of
    the callbacks with a History (fit) and a progress bar (verbose) added."""
    if isinstance(callbacks, callbacks_module.CallbackList):
        return callbacks
    return callbacks_module.CallbackList(callbacks, add_history=add_history, add_progbar=verbose != 0, model=model,
                                         verbose=verbose, epochs=epochs, steps=steps)


def check_count(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}, got {value!r}")


def verbose_arg(v):
    if v == "auto":
        return 1
    if v not in (0, 1, 2):
        raise ValueError(f"`verbose` must be 0, 1, 2 or 'auto', got {v!r}")
    return v


def flatten_logs(logs, config):
    """evaluate's list, in Keras 3's order (a scalar with no metrics): see CompileConfig.log_order."""
    first = list(dict.fromkeys(k for k in config.log_order() if k in logs))
    values = [logs[k] for k in first] + [logs[k] for k in sorted(logs) if k not in first]
    return values[0] if len(values) == 1 else values

