// Elementwise binary ops with numpy broadcasting, unary math ops. The eager/tf-math path, not the hot path.
#include <algorithm>

#include "ops/op.h"

namespace fastfit {
namespace {

struct BinaryOp final : Op {
  Binary kind_;
  explicit BinaryOp(Binary k) : kind_(k) {}
  int arity() const override { return 2; }
  bool rowwise(const Tensor* const* in, const bool* b) const override { return broadcast_rowwise(in, b); }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    expect_dtype(registry_name(), "x", *in[0], DType::f32);
    expect_dtype(registry_name(), "y", *in[1], DType::f32);
    s = broadcast_shapes(registry_name(), in[0]->shape, in[1]->shape);
    d = DType::f32;
  }
  void forward(const ExecCtx&, const Tensor* const* in, Tensor& out) override {
    FF_DISPATCH(out.device, binary_forward)(kind_, in[0]->f(), in[0]->shape, in[1]->f(), in[1]->shape, out.shape,
                                            out.f());
  }
  void backward(const ExecCtx&, const Tensor* const* in, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    FF_DISPATCH(out.device, binary_backward)(kind_, in[0]->f(), in[0]->shape, in[1]->f(), in[1]->shape, g.f(),
                                             out.shape, din[0] ? din[0]->f() : nullptr, acc[0],
                                             din[1] ? din[1]->f() : nullptr, acc[1]);
  }
};

struct UnaryOp final : Op {
  Unary kind_;
  explicit UnaryOp(Unary k) : kind_(k) {}
  int arity() const override { return 1; }
  bool differentiable(int) const override {  // step functions: no gradient (None), as in TensorFlow
    return kind_ != Unary::floor && kind_ != Unary::ceil && kind_ != Unary::round && kind_ != Unary::sign;
  }
  bool rowwise(const Tensor* const*, const bool*) const override { return true; }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    expect_dtype(registry_name(), "x", *in[0], DType::f32);
    s = in[0]->shape;
    d = DType::f32;
  }
  void forward(const ExecCtx&, const Tensor* const* in, Tensor& out) override {
    FF_DISPATCH(out.device, unary_forward)(kind_, in[0]->f(), out.size(), out.f());
  }
  void backward(const ExecCtx&, const Tensor* const* in, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    if (din[0])
      FF_DISPATCH(out.device, unary_backward)(kind_, in[0]->f(), out.f(), g.f(), out.size(), din[0]->f(), acc[0]);
  }
};

template <Binary K>
OpPtr make_binary(const Attrs&) {
  return std::make_shared<BinaryOp>(K);
}
template <Unary K>
OpPtr make_unary(const Attrs&) {
  return std::make_shared<UnaryOp>(K);
}

const OpRegistrar kAdd({"add", "AddV2", {}, make_binary<Binary::add>});
const OpRegistrar kSubtract({"subtract", "Sub", {}, make_binary<Binary::sub>});
const OpRegistrar kMultiply({"multiply", "Mul", {}, make_binary<Binary::mul>});
const OpRegistrar kDivide({"divide", "RealDiv", {}, make_binary<Binary::div>});
const OpRegistrar kMaximum({"maximum", "Maximum", {}, make_binary<Binary::max>});
const OpRegistrar kPow({"pow", "Pow", {}, make_binary<Binary::pow>});
const OpRegistrar kMinimum({"minimum", "Minimum", {}, make_binary<Binary::min>});
const OpRegistrar kNegative({"negative", "Neg", {}, make_unary<Unary::neg>});
const OpRegistrar kSquare({"square", "Square", {}, make_unary<Unary::square>});
const OpRegistrar kSqrt({"sqrt", "Sqrt", {}, make_unary<Unary::sqrt>});
const OpRegistrar kExp({"exp", "Exp", {}, make_unary<Unary::exp>});
const OpRegistrar kLog({"log", "Log", {}, make_unary<Unary::log>});
const OpRegistrar kAbs({"abs", "Abs", {}, make_unary<Unary::abs>});
const OpRegistrar kLog1p({"log1p", "Log1p", {}, make_unary<Unary::log1p>});
const OpRegistrar kExpm1({"expm1", "Expm1", {}, make_unary<Unary::expm1>});
const OpRegistrar kErf({"erf", "Erf", {}, make_unary<Unary::erf>});
const OpRegistrar kSoftplus({"softplus", "Softplus", {}, make_unary<Unary::softplus>});
const OpRegistrar kFloor({"floor", "Floor", {}, make_unary<Unary::floor>});
const OpRegistrar kCeil({"ceil", "Ceil", {}, make_unary<Unary::ceil>});
const OpRegistrar kRound({"round", "Round", {}, make_unary<Unary::round>});
const OpRegistrar kSign({"sign", "Sign", {}, make_unary<Unary::sign>});

}  // namespace
}  // namespace fastfit
