"""Where a fit continues after an interruption (BackupAndRestore): the epoch, the batches of it already
run, that epoch's shuffle seed and the metrics accumulated so far."""
import numpy as np


class ResumePoint:
    """Where a fit continues: at `epoch`, after `batch` batches of it (their shuffle order drawn from
    `shuffle_seed`, the metrics then at `metric_states`). A callback sets `model._resume` to one in
    on_train_begin (BackupAndRestore); fit otherwise starts at `initial_epoch`."""

    def __init__(self, epoch, batch=0, shuffle_seed=None, metric_states=None):
        self.epoch, self.batch, self.shuffle_seed = int(epoch), int(batch), shuffle_seed
        self.metric_states = metric_states

    @staticmethod
    def save_metrics(model):
        """The model's metrics' state now, JSON-able: [total, count, acc, folded] per C++ state, the
        variables' values per metric that keeps its state in variables."""
        return {"states": [[m._state.total, m._state.count, list(m._state.acc), m._state.folded]
                           for m in model._state_metrics()],
                "variables": [[v.numpy().tolist() for v in m.variables] for m in model._variable_metrics()]}

    def restore_metrics(self, model):
        saved = self.metric_states
        if saved is None:
            return
        for m, (total, count, acc, folded) in zip(model._state_metrics(), saved["states"]):
            m._state.restore(total, count, acc, m._accumulator if folded else None)
        for m, values in zip(model._variable_metrics(), saved["variables"]):
            for v, value in zip(m.variables, values):
                v.assign(np.asarray(value, v.numpy().dtype))
