// ParamArena: packing variables into one buffer and re-pointing their Tensors at their slices.
#include "optim/param_arena.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <unordered_set>

#include "kernels/kernels.h"

namespace fastfit {
namespace {

std::shared_ptr<float> zeroed_buffer(int64_t floats, Device device) {
  const size_t bytes = size_t(floats) * sizeof(float);  // a multiple of 64: Layout pads every slice
  if (device == Device::cuda) {
    auto p = std::static_pointer_cast<float>(cuda::alloc(bytes ? bytes : 64));
    FF_DISPATCH(device, fill)(p.get(), floats, 0.f);
    return p;
  }
  void* p = std::aligned_alloc(64, bytes ? bytes : 64);
  if (!p) throw std::bad_alloc();
  std::memset(p, 0, bytes);
  return std::shared_ptr<float>(static_cast<float*>(p), [](float* q) { std::free(q); });
}

void point_at(Tensor& t, const std::shared_ptr<float>& buffer, int64_t offset) {
  float* slice = buffer.get() + offset;
  t.owner = std::shared_ptr<void>(buffer, slice);  // shares the buffer's lifetime
  t.data = slice;
  t.capacity = t.nbytes();  // a larger resize reallocates instead of overrunning the next slice
}

bool same_block(const Tensor& a, const Tensor& b) {
  return !a.owner.owner_before(b.owner) && !b.owner.owner_before(a.owner);
}

}  // namespace

void ParamArena::adopt(const std::vector<TensorPtr>& vars) {
  std::unordered_set<const Tensor*> seen;
  for (size_t i = 0; i < vars_.size(); ++i)
    if (holds(i)) seen.insert(vars_[i].get());
  if (vars_.empty() && !vars.empty() && vars[0]) device_ = vars[0]->device;
  for (size_t i = 0; i < vars.size(); ++i) {
    const std::string which = "ParamArena.adopt: variables[" + std::to_string(i) + "]";
    FF_CHECK(vars[i], which + " is None; expected a float32 variable");
    FF_CHECK(vars[i]->dtype == DType::f32, which + " must be float32, got " + vars[i]->desc());
    FF_CHECK(seen.insert(vars[i].get()).second, which + " is already in this arena");
    FF_CHECK(vars[i]->device == device_, which + " is on the " + device_name(vars[i]->device) +
                                             ", the arena's variables on the " + device_name(device_) +
                                             ": an arena holds the variables of one device");
  }
  if (vars.empty()) return;
  Layout grown = layout_;
  for (auto& v : vars) grown.append(v->size());
  std::shared_ptr<float> buffer = zeroed_buffer(grown.size, device_);
  if (layout_.size) copy_on(device_, buffer.get(), buffer_.get(), size_t(layout_.size) * sizeof(float));
  for (size_t i = 0; i < vars_.size(); ++i)
    if (holds(i)) point_at(*vars_[i], buffer, layout_.offsets[i]);
  for (size_t i = 0; i < vars.size(); ++i) {
    const int64_t offset = grown.offsets[vars_.size() + i];
    if (vars[i]->data) copy_on(device_, buffer.get() + offset, vars[i]->data, vars[i]->nbytes());
    point_at(*vars[i], buffer, offset);
  }
  vars_.insert(vars_.end(), vars.begin(), vars.end());
  layout_ = std::move(grown);
  buffer_ = std::move(buffer);
}

std::vector<TensorPtr> ParamArena::variables() const {
  std::vector<TensorPtr> out;
  for (size_t i = 0; i < vars_.size(); ++i)
    if (holds(i)) out.push_back(vars_[i]);
  return out;
}

std::vector<int64_t> ParamArena::offsets() const {
  std::vector<int64_t> out;
  for (size_t i = 0; i < vars_.size(); ++i)
    if (holds(i)) out.push_back(layout_.offsets[i]);
  return out;
}

bool packed(const std::vector<const Tensor*>& ts) {
  if (ts.empty()) return false;
  const Tensor& first = *ts[0];
  int64_t at = 0;
  for (const Tensor* t : ts) {
    if (t->data != first.f() + at || !same_block(*t, first)) return false;
    at += Layout::padded(t->size());
  }
  return true;
}

}  // namespace fastfit
