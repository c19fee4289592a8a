"""The Program interface (train / test / predict over a DataFeed) run op by op from Python: the
fallback for a model whose call cannot be traced into a C++ Program."""
from ..autodiff import GradientTape


class EagerProgram:
    """The Program interface run op by op from Python, for a model whose call cannot be traced."""

    def __init__(self, model, num_inputs):
        self.model, self.num_inputs = model, num_inputs

    def _batches(self, feed, max_steps):
        for _ in range(max_steps):
            if feed.position >= feed.num_samples:
                return
            idx = feed.take()
            arrays = [a[idx] for a in feed.source]
            xs = arrays[:self.num_inputs]
            yield (xs[0] if len(xs) == 1 else xs), arrays[self.num_inputs:], len(idx)

    def _forward(self, x, ys):
        out = self.model(x)
        return out, self.model.loss(ys[0], out)

    def _account(self, ys, out, loss, n):
        m = self.model
        m._loss_tracker._state.total += float(loss) * n
        m._loss_tracker._state.count += n
        for metric in m._compile_metrics:
            metric.update_state(ys[0], out)

    def train(self, feed, max_steps):
        m, done = self.model, 0
        for x, ys, n in self._batches(feed, max_steps):
            with GradientTape() as tape:
                out, loss = self._forward(x, ys)
            grads = tape.gradient(loss, m.trainable_weights)
            m.optimizer.apply_gradients(zip(grads, m.trainable_weights))
            self._account(ys, out, loss, n)
            done += 1
        return done

    def test(self, feed, max_steps):
        done = 0
        for x, ys, n in self._batches(feed, max_steps):
            self._account(ys, *self._forward(x, ys), n)
            done += 1
        return done

    def predict(self, feed, max_steps, results):
        done, start = 0, feed.position
        for x, _, n in self._batches(feed, max_steps):
            out = self.model(x)
            outs = list(out) if isinstance(out, (list, tuple)) else [out]
            for r, o in zip(results, outs):
                r.numpy_target[start:start + n] = o.numpy()
            start += n
            done += 1
        return done
