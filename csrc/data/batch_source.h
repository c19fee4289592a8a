// Batch sources: what a Program pulls its batches from. In-memory arrays are cut into batches here
// (shuffled by index, rows viewed in place where they lie contiguous); Python generators, Datasets
// and other iterables arrive through a bounded queue that a Python producer thread fills.
#pragma once
#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace fastfit {

// One batch: rows of `arrays` (inputs, then targets). An in-memory source hands out its whole arrays
// and the batch's row indices, so each shard of a split batch gathers its own rows on its own thread;
// a queue hands out the batch's own arrays (rows 0..count-1).
struct Batch {
  std::vector<TensorPtr> arrays;
  const int64_t* rows = nullptr;  // indices into the arrays' first axis; null: rows [0, count)
  int64_t count = 0;
  int64_t first = 0;  // how many samples this pass handed out before this batch
};

class BatchSource {
 public:
  virtual ~BatchSource() = default;
  // The next batch, or false when this pass over the data is done.
  virtual bool next(Batch& batch) = 0;
  // Whether next() would give a batch (waits for a producer to decide).
  virtual bool more() = 0;
  virtual int64_t steps() const = 0;  // batches per pass; -1 when unknown
  virtual int num_arrays() const = 0;
  virtual int64_t position() const = 0;  // samples handed out (this pass)
};

// tf.data's buffered shuffle of order[0..n), in place: hold the next `buffer_size` items, hand out
// a random one and refill its slot from the stream; when the stream ends, drain the buffer at random.
// below(k) draws uniformly from [0, k); n draws in all.
template <class Below>
void buffered_shuffle(int64_t* order, int64_t n, int64_t buffer_size, Below&& below) {
  buffer_size = std::min(buffer_size, n);
  std::vector<int64_t> buffer(order, order + buffer_size);
  int64_t out = 0;
  for (int64_t next = buffer_size; next < n; ++next) {  // order[next] is read before `out` reaches it
    const int64_t j = below(buffer_size);
    order[out++] = buffer[j];
    buffer[j] = order[next];
  }
  for (int64_t left = buffer_size; left > 0; --left) {
    const int64_t j = below(left);
    order[out++] = buffer[j];
    buffer[j] = buffer[left - 1];
  }
}

// Arrays whose first axis is the sample axis, cut into batches of `batch_size` in order or reshuffled
// each pass. drop_remainder: a last batch smaller than batch_size is not handed out.
class ArraySource final : public BatchSource {
 public:
  ArraySource(std::vector<TensorPtr> arrays, int64_t batch_size, bool drop_remainder = false);
  // Back to the first batch. shuffle: a new order drawn from `seed`, uniform over all permutations
  // (buffer_size 0 or >= the sample count), or tf.data's buffered shuffle with a buffer of
  // `buffer_size` samples (a small buffer gives a local shuffle).
  void start_pass(bool shuffle, uint64_t seed, int64_t buffer_size = 0);
  bool next(Batch& batch) override;
  bool more() override { return end() - pos_ > 0; }
  int64_t steps() const override { return drop_ ? n_ / batch_size_ : (n_ + batch_size_ - 1) / batch_size_; }
  int num_arrays() const override { return int(arrays_.size()); }
  int64_t num_samples() const { return n_; }
  const std::vector<int64_t>& order() const { return order_; }
  int64_t batch_size() const { return batch_size_; }
  int64_t position() const override { return pos_; }

 private:
  int64_t end() const { return drop_ ? n_ / batch_size_ * batch_size_ : n_; }  // samples a pass hands out

  std::vector<TensorPtr> arrays_;
  int64_t n_ = 0, batch_size_ = 0, pos_ = 0;
  bool drop_ = false;
  std::vector<int64_t> order_;
};

// A bounded queue of batches. A producer (a Python thread iterating a generator) pushes each batch's
// arrays and finally closes the queue, or fails it with a message; the consumer (a Program, with the
// GIL released) pops. Both sides block while the queue is full or empty.
class QueueSource final : public BatchSource {
 public:
  QueueSource(int num_arrays, int capacity, int64_t steps);
  // Producer side. push returns false once the consumer has stopped (the producer should quit).
  bool push(std::vector<TensorPtr> arrays);
  void close();                         // no more batches
  void fail(const std::string& error);  // the producer raised: the consumer raises this message
  // Consumer side.
  bool next(Batch& batch) override;
  bool more() override;
  void stop();  // the consumer is done: unblock and refuse the producer
  int64_t steps() const override { return steps_; }
  int num_arrays() const override { return num_arrays_; }
  int64_t position() const override;

 private:
  const int num_arrays_;
  const size_t capacity_;
  const int64_t steps_;
  mutable std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::vector<TensorPtr>> queue_;
  std::vector<TensorPtr> current_;  // the batch handed out last: alive while the consumer uses it
  int64_t handed_ = 0;              // samples handed out
  bool closed_ = false, stopped_ = false;
  std::string error_;
};

}  // namespace fastfit
