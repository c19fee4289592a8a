// In-memory arrays cut into batches: a permutation per pass, batches as index ranges into it.
#include <random>

#include "data/batch_source.h"

namespace fastfit {

ArraySource::ArraySource(std::vector<TensorPtr> arrays, int64_t batch_size, bool drop_remainder)
    : arrays_(std::move(arrays)), batch_size_(batch_size), drop_(drop_remainder) {
  FF_CHECK(!arrays_.empty(), "no arrays to cut into batches");
  for (auto& t : arrays_) t = Tensor::on(Device::cpu, t);  // batches are cut from host memory
  FF_CHECK(batch_size > 0, "batch_size must be a positive integer, got " + std::to_string(batch_size));
  n_ = arrays_[0]->rank() ? arrays_[0]->shape[0] : 0;
  for (auto& t : arrays_)
    FF_CHECK(t->rank() >= 1 && t->shape[0] == n_, "all arrays must have the same number of samples: got " +
                                                      std::to_string(n_) + " and " + t->shape.str());
  start_pass(false, 0);
}

void ArraySource::start_pass(bool shuffle, uint64_t seed, int64_t buffer_size) {
  pos_ = 0;
  order_.resize(n_);
  for (int64_t i = 0; i < n_; ++i) order_[i] = i;
  if (!shuffle) return;
  std::mt19937_64 rng(seed);
  auto below = [&](int64_t k) { return std::uniform_int_distribution<int64_t>(0, k - 1)(rng); };
  if (buffer_size <= 0 || buffer_size >= n_) {  // Fisher-Yates: every permutation equally likely
    for (int64_t i = n_ - 1; i > 0; --i) std::swap(order_[i], order_[below(i + 1)]);
    return;
  }
  buffered_shuffle(order_.data(), n_, buffer_size, below);
}

bool ArraySource::next(Batch& b) {
  if (end() - pos_ <= 0) return false;
  b.arrays = arrays_;
  b.rows = order_.data() + pos_;
  b.count = std::min(batch_size_, end() - pos_);
  b.first = pos_;
  pos_ += b.count;
  return true;
}

}  // namespace fastfit
