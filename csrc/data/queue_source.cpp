// The bounded producer/consumer queue behind generator inputs.
#include "data/batch_source.h"

#include <stdexcept>

namespace fastfit {

QueueSource::QueueSource(int num_arrays, int capacity, int64_t steps)
    : num_arrays_(num_arrays), capacity_(size_t(std::max(capacity, 1))), steps_(steps) {
  FF_CHECK(num_arrays > 0, "a batch queue needs at least one array per batch");
}

bool QueueSource::push(std::vector<TensorPtr> arrays) {
  FF_CHECK(int(arrays.size()) == num_arrays_, "batch queue: expected " + std::to_string(num_arrays_) +
                                                  " arrays per batch, got " + std::to_string(arrays.size()));
  std::unique_lock<std::mutex> lk(m_);
  cv_.wait(lk, [this] { return queue_.size() < capacity_ || stopped_; });
  if (stopped_) return false;
  queue_.push_back(std::move(arrays));
  cv_.notify_all();
  return true;
}

void QueueSource::close() {
  std::lock_guard<std::mutex> lk(m_);
  closed_ = true;
  cv_.notify_all();
}

void QueueSource::fail(const std::string& error) {
  std::lock_guard<std::mutex> lk(m_);
  error_ = error;
  closed_ = true;
  cv_.notify_all();
}

void QueueSource::stop() {
  std::lock_guard<std::mutex> lk(m_);
  stopped_ = true;
  queue_.clear();
  cv_.notify_all();
}

bool QueueSource::more() {
  std::unique_lock<std::mutex> lk(m_);
  cv_.wait(lk, [this] { return !queue_.empty() || closed_ || stopped_; });
  return !queue_.empty() || !error_.empty();  // an error is raised by next()
}

int64_t QueueSource::position() const {
  std::lock_guard<std::mutex> lk(m_);
  return handed_;
}

bool QueueSource::next(Batch& b) {
  b.arrays.clear();
  std::vector<TensorPtr> done;  // the previous batch: released after the lock (a numpy view takes the GIL)
  std::unique_lock<std::mutex> lk(m_);
  done.swap(current_);
  cv_.wait(lk, [this] { return !queue_.empty() || closed_ || stopped_; });
  if (queue_.empty()) {
    if (!error_.empty()) throw std::runtime_error(error_);
    return false;
  }
  current_ = std::move(queue_.front());
  queue_.pop_front();
  cv_.notify_all();
  const Tensor& first = *current_[0];
  b.count = first.rank() ? first.shape[0] : 0;
  for (auto& t : current_)
    FF_CHECK(t->rank() >= 1 && t->shape[0] == b.count,
             "a batch's arrays must have the same number of rows, got " + first.shape.str() + " and " + t->shape.str());
  b.arrays = current_;
  b.rows = nullptr;
  b.first = handed_;
  handed_ += b.count;
  return true;
}

}  // namespace fastfit
