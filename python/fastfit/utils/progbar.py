"""Keras-format progress bar: `782/782 [======] - 1s 1ms/step - loss: 0.4 - ...`.

Redraws in place on a terminal at most every `interval` seconds; in a file or CI log it stays calm
and writes only the finished line of each epoch."""
import sys
import time

import numpy as np


def _format_value(v):
    return f"{v:.4f}" if abs(v) > 1e-3 else f"{v:.4e}"


def _format_time(seconds, unit):
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


class Progbar:
    """Displays progress; `update(current, values)` with values a list of (name, number)."""

    def __init__(self, target, width=30, verbose=1, interval=0.05, unit_name="step", stream=None):
        self.target, self.width, self.verbose, self.interval = target, width, verbose, interval
        self.unit_name = unit_name
        self.stream = stream or sys.stdout
        self._dynamic = (hasattr(self.stream, "isatty") and self.stream.isatty()) or "ipykernel" in sys.modules
        self._start = time.time()
        self._last_update = 0.0
        self._prev_width = 0
        self._values = {}

    def update(self, current, values=None, finalize=None):
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for k, v in values or []:
            self._values[k] = float(np.mean(v))  # a metric of several values (per class, ...) shows their mean
        now = time.time()
        if self.verbose == 1:
            if not finalize and (not self._dynamic or now - self._last_update < self.interval):
                return
            line = self._bar(current) + self._timing(current, now, finalize) + self._metrics()
            if self._dynamic:
                pad = max(0, self._prev_width - len(line))
                self.stream.write("\r" + line + " " * pad)
                self._prev_width = len(line)
            else:
                self.stream.write(line)
            if finalize:
                self.stream.write("\n")
            self.stream.flush()
        elif self.verbose == 2 and finalize:
            elapsed = now - self._start
            per = elapsed / max(current, 1)
            total = f"{self.target}/{self.target}" if self.target else f"{current}"
            self.stream.write(f"{total} - {elapsed:.0f}s{self._metrics()} - {_format_time(elapsed, 'epoch')}"
                              f" - {_format_time(per, self.unit_name)}\n")
            self.stream.flush()
        self._last_update = now

    def _bar(self, current):
        if self.target is None:
            return f"{current:7d}/Unknown"
        digits = len(str(self.target))
        done = int(self.width * current / self.target) if self.target else self.width
        bar = "=" * max(done - 1, 0)
        if current < self.target:
            bar += ">" if done > 0 else ""
        else:
            bar += "=" if done > 0 else ""
        return f"{current:{digits}d}/{self.target} [{bar}{'.' * (self.width - len(bar))}]"

    def _timing(self, current, now, finalize):
        elapsed = now - self._start
        per = elapsed / current if current else 0.0
        if finalize:
            return f" - {elapsed:.0f}s {_format_time(per, self.unit_name)}"
        eta = per * (self.target - current) if self.target else 0
        if eta > 3600:
            eta_s = f"{int(eta // 3600)}:{int(eta % 3600) // 60:02d}:{int(eta % 60):02d}"
        elif eta > 60:
            eta_s = f"{int(eta // 60)}:{int(eta % 60):02d}"
        else:
            eta_s = f"{eta:.0f}s"
        return f" - ETA: {eta_s}"

    def _metrics(self):
        return "".join(f" - {k}: {_format_value(v)}" for k, v in self._values.items())
