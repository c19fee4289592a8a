// Comparisons (0 or 1 in float32, fastfit's bool; not differentiable), cast, stop_gradient.
#include "autograd/grad_ops.h"
#include "ops/op.h"

namespace fastfit {
namespace {

// where(condition, x, y): x where the condition (float 0/1, fastfit's bool) is nonzero, else y, with
// numpy broadcasting of the three. Unlike c * x + (1 - c) * y, an inf or nan in the branch not taken
// stays out of the result.
struct SelectOp final : Op {
  int arity() const override { return 3; }
  bool differentiable(int i) const override { return i > 0; }
  bool rowwise(const Tensor* const* in, const bool* b) const override { return broadcast_rowwise(in, b, 3); }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    for (int i = 0; i < 3; ++i) expect_dtype("where", i == 0 ? "condition" : i == 1 ? "x" : "y", *in[i], DType::f32);
    s = broadcast_shapes("where", broadcast_shapes("where", in[0]->shape, in[1]->shape), in[2]->shape);
    d = DType::f32;
  }
  void forward(const ExecCtx&, const Tensor* const* in, Tensor& out) override {
    FF_DISPATCH(out.device, select_forward)(in[0]->f(), in[0]->shape, in[1]->f(), in[1]->shape, in[2]->f(),
                                            in[2]->shape, out.shape, out.f());
  }
  void backward(const ExecCtx&, const Tensor* const* in, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    for (int k = 1; k < 3; ++k)
      if (din[k])
        FF_DISPATCH(out.device, select_backward)(in[0]->f(), in[0]->shape, g.f(), out.shape, k == 1, din[k]->f(),
                                                 in[k]->shape, acc[k]);
  }
};

// equal, not_equal, greater, ... with numpy broadcasting; int32 inputs are compared as floats
// (exact for ids below 2^24).
struct CompareOp final : Op {
  Compare kind_;
  Tensor scratch_[2];  // int32 inputs as float32
  explicit CompareOp(Compare k) : kind_(k) {}
  int arity() const override { return 2; }
  bool differentiable(int) const override { return false; }
  bool rowwise(const Tensor* const* in, const bool* b) const override { return broadcast_rowwise(in, b); }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    s = broadcast_shapes(registry_name(), in[0]->shape, in[1]->shape);
    d = DType::f32;
  }
  const float* as_float(const Tensor& t, Tensor& scratch, Device device) {
    if (t.dtype == DType::f32) return t.f();
    resize_scratch(scratch, device, t.shape);
    FF_DISPATCH(device, cast_i32_f32)(t.i32(), t.size(), scratch.f());
    return scratch.f();
  }
  void forward(const ExecCtx&, const Tensor* const* in, Tensor& out) override {
    const float* a = as_float(*in[0], scratch_[0], out.device);
    const float* b = as_float(*in[1], scratch_[1], out.device);
    FF_DISPATCH(out.device, compare_forward)(kind_, a, in[0]->shape, b, in[1]->shape, out.shape, out.f());
  }
  void backward(const ExecCtx&, const Tensor* const*, const Tensor&, const Tensor&, Tensor* const*,
                const bool*) override {}
};

// tf.cast to float32, int32 or bool (0/1 in float32). float32 to float32 (or bool of a comparison)
// passes the gradient through; casts through integers are not differentiable, as in TensorFlow.
struct Cast final : Op {
  std::string to_;
  explicit Cast(std::string to) : to_(std::move(to)) {
    FF_CHECK(to_ == "float32" || to_ == "int32" || to_ == "bool",
             "cast: `dtype` must be float32, int32 or bool, got '" + to_ + "'");
  }
  int arity() const override { return 1; }
  bool rowwise(const Tensor* const*, const bool*) const override { return true; }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    s = in[0]->shape;
    d = to_ == "int32" ? DType::i32 : DType::f32;
  }
  void forward(const ExecCtx&, const Tensor* const* in, Tensor& out) override {
    const Tensor& x = *in[0];
    const int64_t n = x.size();
    if (to_ == "int32" && x.dtype == DType::f32) FF_DISPATCH(out.device, cast_f32_i32)(x.f(), n, out.i32());
    else if (to_ != "int32" && x.dtype == DType::i32) FF_DISPATCH(out.device, cast_i32_f32)(x.i32(), n, out.f());
    else copy_on(out.device, out.data, x.data, x.nbytes());
    if (to_ == "bool") FF_DISPATCH(out.device, cast_to_bool)(out.f(), n, out.f());
  }
  void backward(const ExecCtx&, const Tensor* const* in, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    if (din[0] && in[0]->dtype == DType::f32 && to_ == "float32")
      FF_DISPATCH(out.device, axpy_store)(1.f, g.f(), g.size(), din[0]->f(), acc[0]);
    else if (din[0] && !acc[0])
      FF_DISPATCH(out.device, fill)(din[0]->f(), din[0]->size(), 0.f);
  }
  std::vector<TensorPtr> vjp_ops(const std::vector<TensorPtr>& in, const TensorPtr&, const TensorPtr& g,
                                 const std::vector<char>&) const override {
    return {in[0]->dtype == DType::f32 && to_ == "float32" ? g : Tensor::zeros(in[0]->shape)};
  }
};

// The identity, with no gradient: what tf.stop_gradient computes.
struct StopGradient final : Op {
  int arity() const override { return 1; }
  bool differentiable(int) const override { return false; }
  bool rowwise(const Tensor* const*, const bool*) const override { return true; }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    s = in[0]->shape;
    d = in[0]->dtype;
  }
  void forward(const ExecCtx&, const Tensor* const* in, Tensor& out) override {
    copy_on(out.device, out.data, in[0]->data, in[0]->nbytes());
  }
  void backward(const ExecCtx&, const Tensor* const*, const Tensor&, const Tensor&, Tensor* const*,
                const bool*) override {}
};

template <Compare K>
OpPtr make_compare(const Attrs&) {
  return std::make_shared<CompareOp>(K);
}

const OpRegistrar kEqual({"equal", "Equal", {}, make_compare<Compare::equal>});
const OpRegistrar kNotEqual({"not_equal", "NotEqual", {}, make_compare<Compare::not_equal>});
const OpRegistrar kGreater({"greater", "Greater", {}, make_compare<Compare::greater>});
const OpRegistrar kGreaterEqual({"greater_equal", "GreaterEqual", {}, make_compare<Compare::greater_equal>});
const OpRegistrar kLess({"less", "Less", {}, make_compare<Compare::less>});
const OpRegistrar kLessEqual({"less_equal", "LessEqual", {}, make_compare<Compare::less_equal>});
const OpRegistrar kCast({"cast", "Cast", {{"dtype", std::string("float32")}},
                         [](const Attrs& a) -> OpPtr { return std::make_shared<Cast>(a.get<std::string>("dtype")); }});
const OpRegistrar kStopGradient({"stop_gradient", "StopGradient", {},
                                 [](const Attrs&) -> OpPtr { return std::make_shared<StopGradient>(); }});
const OpRegistrar kSelect({"select", "SelectV2", {}, [](const Attrs&) -> OpPtr { return std::make_shared<SelectOp>(); }});

}  // namespace
}  // namespace fastfit
