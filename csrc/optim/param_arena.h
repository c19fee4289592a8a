// ParamArena: float32 variables packed into one 64-byte aligned buffer, each variable a view of its slice.
#pragma once
#include <memory>
#include <vector>

#include "core/tensor.h"

namespace fastfit {

// Where each of a list of tensors starts when packed back to back. Every slice starts on a 64-byte
// boundary (16 floats): variables keep the alignment of their own blocks, and a flat range cut at
// multiples of 16 splits between threads without sharing a cache line. The padding stays zero.
struct Layout {
  std::vector<int64_t> offsets;  // in floats
  int64_t size = 0;              // floats, padding included

  static int64_t padded(int64_t n) { return (n + 15) / 16 * 16; }
  int64_t append(int64_t n) {
    offsets.push_back(size);
    size += padded(n);
    return offsets.back();
  }
};

// Layers, tapes and traced Programs hold each variable's Tensor, not its memory: adopting re-points
// the Tensor (data, owner, capacity), so they all see the arena without knowing it. The buffer lives
// while the arena or any variable in it does.
class ParamArena {
 public:
  // Appends `vars` in order (float32, none already here): copies their values in (a Tensor with no
  // memory yet gets zeros) and re-points them at their slices. The buffer grows by reallocation; the
  // variables already here move with it and keep their offsets. A variable in another arena leaves it.
  void adopt(const std::vector<TensorPtr>& vars);

  // The variables whose memory is still here (one moved to another arena is not), with their offsets.
  std::vector<TensorPtr> variables() const;
  std::vector<int64_t> offsets() const;
  int64_t size() const { return layout_.size; }
  Device device() const { return device_; }  // where the buffer lives: its first variable's device
  const std::shared_ptr<float>& buffer() const { return buffer_; }

 private:
  bool holds(size_t i) const { return vars_[i]->data == buffer_.get() + layout_.offsets[i]; }

  std::shared_ptr<float> buffer_;
  std::vector<TensorPtr> vars_;  // everything ever adopted, in order: offsets never change
  Layout layout_;
  Device device_ = Device::cpu;
};

// Whether `ts` (at least one) lie in one buffer back to back, each where Layout puts it after the
// first: then they are one flat range of floats, as in the ParamArena that packed them.
bool packed(const std::vector<const Tensor*>& ts);

}  // namespace fastfit
