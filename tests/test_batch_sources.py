"""The C++ batch sources: in-memory arrays (orders, buffered shuffles, remainders) and the queue."""
import numpy as np
import pytest

from fastfit import _core


def source(n, batch_size=4, drop_remainder=False):
    return _core.ArraySource([_core.Tensor.view(np.arange(n, dtype=np.float32)[:, None])], batch_size,
                             drop_remainder)


@pytest.mark.parametrize("buffer_size", [2, 5, 17])
def test_a_buffered_shuffle_is_local_like_tf_data(buffer_size):
    n = 200
    s = source(n)
    orders = []
    for seed in range(20):
        s.start_pass(True, seed, buffer_size)
        order = np.array(s.order())
        assert sorted(order) == list(range(n))
        # sample i enters the buffer only after i - buffer_size + 1 samples came out
        assert np.all(np.argsort(order) >= np.arange(n) - buffer_size + 1)
        orders.append(tuple(order))
    assert len(set(orders)) == 20
    s.start_pass(True, 7, buffer_size)
    again = tuple(s.order())
    s.start_pass(True, 7, buffer_size)
    assert tuple(s.order()) == again  # the same seed, the same order


def test_buffer_of_one_keeps_the_order_and_a_full_buffer_moves_anything_anywhere():
    s = source(50)
    s.start_pass(True, 1, 1)
    assert s.order() == list(range(50))
    firsts = set()
    for seed in range(200):
        s.start_pass(True, seed, 0)
        firsts.add(s.order()[0])
    assert len(firsts) > 40  # the first sample is drawn from all of them


def test_drop_remainder():
    s = source(10, 4, drop_remainder=True)
    assert s.steps == 2
    assert s.next_batch()[0].ravel().tolist() == [0, 1, 2, 3]
    assert s.next_batch()[0].ravel().tolist() == [4, 5, 6, 7]
    assert s.next_batch() is None and not s.more()
    assert source(10, 4).steps == 3


def test_queue_source_hands_out_batches_in_order_then_ends():
    q = _core.QueueSource(1, 2, -1)
    assert q.push([_core.Tensor(np.ones((3, 2), np.float32))])
    q.close()
    assert q.more()
    assert q.next_batch()[0].shape == (3, 2)
    assert q.next_batch() is None and q.position == 3
    failed = _core.QueueSource(1, 2, -1)
    failed.fail("boom")
    with pytest.raises(RuntimeError, match="boom"):
        failed.next_batch()
