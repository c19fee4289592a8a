// Sum, mean, max and min over a set of axes (all axes when none are given), with keepdims; argmax and
// argmin along one axis; Keras' L1/L2 regularization penalty.
#include <algorithm>

#include "autograd/grad_ops.h"
#include "ops/op.h"

namespace fastfit {
namespace {

enum class ReduceKind { sum, mean, max, min };

struct Reduce final : Op {
  ReduceKind kind_;
  std::vector<int64_t> axes_;  // as given; normalised against the input's rank in reduced_axes
  bool keepdims_;
  Reduce(ReduceKind kind, std::vector<int64_t> axes, bool keep) : kind_(kind), axes_(std::move(axes)), keepdims_(keep) {}
  bool extreme() const { return kind_ == ReduceKind::max || kind_ == ReduceKind::min; }
  int arity() const override { return 1; }
  bool rowwise(const Tensor* const* in, const bool* b) const override {
    if (!b[0]) return true;
    if (axes_.empty()) return false;
    for (int64_t a : axes_)
      if (a == 0 || a == -in[0]->rank()) return false;
    return true;
  }
  int reduces_all() const override {
    if (!axes_.empty() || keepdims_ || extreme()) return 0;
    return kind_ == ReduceKind::mean ? 2 : 1;
  }

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
    FF_CHECK(!extreme() || count > 0, std::string(registry_name()) + ": cannot reduce an empty axis, got " +
                                          in[0]->desc());
    if (extreme()) {
      FF_DISPATCH(out.device, reduce_extreme_forward)(in[0]->f(), in[0]->shape, axes, kind_ == ReduceKind::max, out.f());
      return;
    }
    const double scale = kind_ == ReduceKind::mean ? 1.0 / double(std::max<int64_t>(count, 1)) : 1.0;
    FF_DISPATCH(out.device, reduce_forward)(in[0]->f(), in[0]->shape, axes, scale, out.f());
  }
  void backward(const ExecCtx&, const Tensor* const* in, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    if (!din[0]) return;
    int64_t count;
    const uint32_t axes = reduced_axes(*in[0], count);
    if (extreme()) {
      FF_DISPATCH(out.device, reduce_extreme_backward)(in[0]->f(), out.f(), g.f(), in[0]->shape, axes, din[0]->f(),
                                                       acc[0]);
      return;
    }
    const float scale = kind_ == ReduceKind::mean ? 1.f / float(std::max<int64_t>(count, 1)) : 1.f;
    FF_DISPATCH(out.device, reduce_backward)(g.f(), in[0]->shape, axes, scale, din[0]->f(), acc[0]);
  }
  std::vector<TensorPtr> vjp_ops(const std::vector<TensorPtr>& in, const TensorPtr& out, const TensorPtr& g,
                                 const std::vector<char>& need) const override {
    if (extreme()) return Op::vjp_ops(in, out, g, need);
    int64_t count;
    const uint32_t axes = reduced_axes(*in[0], count);
    Shape kept = in[0]->shape;  // the output with its reduced axes kept as 1: g broadcasts from there
    for (int i = 0; i < kept.rank; ++i)
      if (axes >> i & 1) kept.d[i] = 1;
    TensorPtr d = grad::broadcast_to(grad::reshape(g, kept), in[0]->shape);
    if (kind_ == ReduceKind::mean) d = grad::mul(d, grad::scalar(1.f / float(std::max<int64_t>(count, 1))));
    return {d};
  }
};

// The index of the max (min) along `axis`, as int32; not differentiable.
struct ArgExtreme final : Op {
  bool max_;
  int64_t axis_;
  ArgExtreme(bool max, int64_t axis) : max_(max), axis_(axis) {}
  int arity() const override { return 1; }
  bool differentiable(int) const override { return false; }
  bool rowwise(const Tensor* const* in, const bool* b) const override { return !b[0] || normalize(*in[0]) != 0; }
  int normalize(const Tensor& x) const { return int(axis_ < 0 ? axis_ + x.rank() : axis_); }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    const Tensor& x = *in[0];
    expect_dtype(registry_name(), "input", x, DType::f32);
    const int axis = normalize(x);
    FF_CHECK(axis >= 0 && axis < x.rank() && x.shape[axis] > 0,
             std::string(registry_name()) + ": `axis` " + std::to_string(axis_) + " must name a non-empty axis of " +
                 x.desc());
    s = Shape{};
    for (int i = 0; i < x.rank(); ++i)
      if (i != axis) s.push(x.shape[i]);
    d = DType::i32;
  }
  void forward(const ExecCtx&, const Tensor* const* in, Tensor& out) override {
    FF_DISPATCH(out.device, arg_extreme)(in[0]->f(), in[0]->shape, normalize(*in[0]), max_, out.i32());
  }
  void backward(const ExecCtx&, const Tensor* const*, const Tensor&, const Tensor&, Tensor* const*,
                const bool*) override {}
};

// Keras' L1L2 regularizer in one op: l1 * sum(|x|) + l2 * sum(x^2), a scalar, summed in float64.
struct L1L2Penalty final : Op {
  double l1_, l2_;
  L1L2Penalty(double l1, double l2) : l1_(l1), l2_(l2) {
    FF_CHECK(l1 >= 0 && l2 >= 0, "l1_l2_penalty: `l1` and `l2` must be >= 0, got " + std::to_string(l1) + " and " +
                                     std::to_string(l2));
  }
  int arity() const override { return 1; }
  bool rowwise(const Tensor* const*, const bool* b) const override { return !b[0]; }
  int reduces_all() const override { return 1; }  // a sum over every element: an activity penalty splits
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    expect_dtype("l1_l2_penalty", "x", *in[0], DType::f32);
    s = Shape{};
    d = DType::f32;
  }
  void forward(const ExecCtx&, const Tensor* const* in, Tensor& out) override {
    FF_DISPATCH(out.device, l1_l2_penalty_forward)(in[0]->f(), in[0]->size(), l1_, l2_, out.f());
  }
  void backward(const ExecCtx&, const Tensor* const* in, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    if (din[0])
      FF_DISPATCH(out.device, l1_l2_penalty_backward)(in[0]->f(), in[0]->size(), l1_, l2_, g.f(), din[0]->f(),
                                                      acc[0]);
  }
};

template <ReduceKind K>
OpPtr make_reduce(const Attrs& a) {
  return std::make_shared<Reduce>(K, a.get<std::vector<int64_t>>("axes"), a.get<bool>("keepdims"));
}
template <bool Max>
OpPtr make_arg(const Attrs& a) {
  return std::make_shared<ArgExtreme>(Max, a.get<int64_t>("axis"));
}

const OpRegistrar kSum({"reduce_sum", "Sum", {{"axes", std::vector<int64_t>{}}, {"keepdims", false}},
                        make_reduce<ReduceKind::sum>});
const OpRegistrar kMean({"reduce_mean", "Mean", {{"axes", std::vector<int64_t>{}}, {"keepdims", false}},
                         make_reduce<ReduceKind::mean>});
const OpRegistrar kMax({"reduce_max", "Max", {{"axes", std::vector<int64_t>{}}, {"keepdims", false}},
                        make_reduce<ReduceKind::max>});
const OpRegistrar kMin({"reduce_min", "Min", {{"axes", std::vector<int64_t>{}}, {"keepdims", false}},
                        make_reduce<ReduceKind::min>});
const OpRegistrar kPenalty({"l1_l2_penalty", "L1L2Penalty", {{"l1", 0.0}, {"l2", 0.0}},
                            [](const Attrs& a) -> OpPtr {
                              return std::make_shared<L1L2Penalty>(a.get<double>("l1"), a.get<double>("l2"));
                            }});
const OpRegistrar kArgMax({"argmax", "ArgMax", {{"axis", int64_t(-1)}}, make_arg<true>});
const OpRegistrar kArgMin({"argmin", "ArgMin", {{"axis", int64_t(-1)}}, make_arg<false>});

}  // namespace
}  // namespace fastfit
