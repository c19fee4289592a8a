// Sum and mean over a set of axes (all axes when none are given), with keepdims.
#include <algorithm>

#include "ops/op.h"

namespace fastfit {
namespace {

struct Reduce final : Op {
  bool mean_;
  std::vector<int64_t> axes_;  // as given; normalised against the input's rank in reduced_axes
  bool keepdims_;
  Reduce(bool mean, std::vector<int64_t> axes, bool keep) : mean_(mean), axes_(std::move(axes)), keepdims_(keep) {}
  int arity() const override { return 1; }
  bool rowwise(const Tensor* const* in, const bool* b) const override {
    if (!b[0]) return true;
    if (axes_.empty()) return false;
    for (int64_t a : axes_)
      if (a == 0 || a == -in[0]->rank()) return false;
    return true;
  }
  int reduces_all() const override { return axes_.empty() && !keepdims_ ? (mean_ ? 2 : 1) : 0; }

  // Bit i set when axis i of x is reduced; count = number of elements folded into each output.
  uint32_t reduced_axes(const Tensor& x, int64_t& count) const {
    uint32_t bits = axes_.empty() ? (1u << x.rank()) - 1 : 0;
    for (int64_t a : axes_) {
      FF_CHECK(a >= -x.rank() && a < x.rank(), std::string(registry_name()) + ": axis " + std::to_string(a) +
                                                   " is out of range for input of rank " + std::to_string(x.rank()));
      bits |= 1u << (a < 0 ? a + x.rank() : a);
    }
    count = 1;
    for (int i = 0; i < x.rank(); ++i)
      if (bits >> i & 1) count *= x.shape[i];
    return bits;
  }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    const Tensor& x = *in[0];
    expect_dtype(registry_name(), "input_tensor", x, DType::f32);
    int64_t count;
    const uint32_t axes = reduced_axes(x, count);
    s = Shape{};
    for (int i = 0; i < x.rank(); ++i) {
      if (!(axes >> i & 1)) s.push(x.shape[i]);
      else if (keepdims_) s.push(1);
    }
    d = DType::f32;
  }
  void forward(const ExecCtx&, const Tensor* const* in, Tensor& out) override {
    int64_t count;
    const uint32_t axes = reduced_axes(*in[0], count);
    const double scale = mean_ ? 1.0 / double(std::max<int64_t>(count, 1)) : 1.0;
    FF_DISPATCH(out.device, reduce_forward)(in[0]->f(), in[0]->shape, axes, scale, out.f());
  }
  void backward(const ExecCtx&, const Tensor* const* in, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    if (!din[0]) return;
    int64_t count;
    const uint32_t axes = reduced_axes(*in[0], count);
    const float scale = mean_ ? 1.f / float(std::max<int64_t>(count, 1)) : 1.f;
    FF_DISPATCH(out.device, reduce_backward)(g.f(), in[0]->shape, axes, scale, din[0]->f(), acc[0]);
  }
};

template <bool Mean>
OpPtr make_reduce(const Attrs& a) {
  return std::make_shared<Reduce>(Mean, a.get<std::vector<int64_t>>("axes"), a.get<bool>("keepdims"));
}

const OpRegistrar kSum({"reduce_sum", "Sum", {{"axes", std::vector<int64_t>{}}, {"keepdims", false}},
                        make_reduce<false>});
const OpRegistrar kMean({"reduce_mean", "Mean", {{"axes", std::vector<int64_t>{}}, {"keepdims", false}},
                         make_reduce<true>});

}  // namespace
}  // namespace fastfit
