"""MonitorCallback: what EarlyStopping and ReduceLROnPlateau share: a monitored quantity, whether it
should go down or up, and what counts as an improvement."""
import operator
import warnings

from .callback import Callback, check_number


def monitor_direction(owner, monitor, mode, model):
    """operator.lt when lower values of the log `monitor` are better, operator.gt when higher are: as
    `mode` says ("min", "max"), or in "auto" a loss (the total or an output's) goes down and a compiled
    metric goes its own way; ValueError when auto cannot tell."""
    if mode != "auto":
        return operator.lt if mode == "min" else operator.gt
    name = monitor.removeprefix("val_")
    op = operator.lt if name == "loss" or name.endswith("_loss") else None
    for metric in getattr(model, "metrics", None) or []:
        direction = getattr(metric, "_direction", None)
        if getattr(metric, "log_name", metric.name) == name and direction is not None:
            op = operator.gt if direction == "up" else operator.lt
    if op is None:
        raise ValueError(f"{owner} callback received monitor={monitor}, but Keras isn't able to automatically "
                         "determine whether that metric should be maximized or minimized. Pass `mode='max'` in "
                         "order to monitor based on the highest metric value, or pass `mode='min'` in order to "
                         "use the lowest value.")
    return op


class MonitorCallback(Callback):
    """Watches `logs[monitor]` at the end of each epoch.

    Args:
        monitor: the log to watch, e.g. "val_loss" or "val_accuracy".
        mode: "min" (lower is better), "max", or "auto": "min" for a loss, else the direction of the
            compiled metric of that name (accuracies, AUC, ... go up; errors and crossentropies go
            down); a name auto cannot place raises ValueError. Another value warns and means "auto".
        baseline: a reference value the monitored one must beat.
        min_delta: the smallest change that counts as an improvement (its sign is ignored).
    """

    def __init__(self, monitor="val_loss", mode="auto", baseline=None, min_delta=0):
        super().__init__()
        owner = type(self).__name__
        if not isinstance(monitor, str):
            raise TypeError(f"{owner}: `monitor` must be the name of a log (a str), got {monitor!r}")
        check_number(owner, "min_delta", min_delta)
        check_number(owner, "baseline", baseline, optional=True)
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"{type(self).__name__} mode '{mode}' is unknown, fallback to auto mode.", stacklevel=2)
            mode = "auto"
        self.monitor = monitor
        self.mode = mode
        self.best = baseline
        self.min_delta = abs(min_delta)
        self.monitor_op = None

    def _set_monitor_op(self):
        self.monitor_op = monitor_direction(type(self).__name__, self.monitor, self.mode, self.model)
        if self.monitor_op is operator.lt:
            self.min_delta *= -1  # an improvement is a fall of more than min_delta

    def _is_improvement(self, value, reference):
        return reference is None or self.monitor_op(value - self.min_delta, reference)
