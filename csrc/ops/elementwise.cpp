// Elementwise binary ops with numpy broadcasting, unary math ops. The eager/tf-math path, not the hot path.
#include <algorithm>

#include "autograd/grad_ops.h"
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
  std::vector<TensorPtr> vjp_ops(const std::vector<TensorPtr>& in, const TensorPtr& out, const TensorPtr& g,
                                 const std::vector<char>& need) const override {
    using namespace grad;
    const TensorPtr &a = in[0], &b = in[1];
    TensorPtr ga, gb;
    switch (kind_) {  // as binary_backward
      case Binary::add: ga = gb = g; break;
      case Binary::sub: ga = g, gb = neg(g); break;
      case Binary::mul: ga = mul(g, b), gb = mul(g, a); break;
      case Binary::div: ga = div(g, b), gb = neg(div(mul(g, out), b)); break;
      case Binary::max:
      case Binary::min:
        ga = mul(g, op(kind_ == Binary::max ? "greater_equal" : "less_equal", {a, b}));
        gb = sub(g, ga);
        break;
      case Binary::pow: {  // log a taken as 0 where a <= 0
        ga = mul(g, mul(b, op("pow", {a, sub(b, scalar(1.f))})));
        const TensorPtr log_a = mul(op("log", {op("maximum", {a, scalar(1e-30f)})}), op("greater", {a, scalar(0.f)}));
        gb = mul(g, mul(out, log_a));
        break;
      }
    }
    return {need[0] ? sum_to(ga, a->shape) : nullptr, need[1] ? sum_to(gb, b->shape) : nullptr};
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
  std::vector<TensorPtr> vjp_ops(const std::vector<TensorPtr>& in, const TensorPtr& out, const TensorPtr& g,
                                 const std::vector<char>&) const override {
    using namespace grad;
    const TensorPtr& x = in[0];
    switch (kind_) {  // as unary_backward
      case Unary::neg: return {neg(g)};
      case Unary::square: return {mul(g, mul(x, scalar(2.f)))};
      case Unary::sqrt: return {div(g, mul(out, scalar(2.f)))};
      case Unary::exp: return {mul(g, out)};
      case Unary::log: return {div(g, x)};
      case Unary::abs:
        return {mul(g, sub(op("greater", {x, scalar(0.f)}), op("less", {x, scalar(0.f)})))};  // sign(x), 0 at 0
      case Unary::log1p: return {div(g, add(x, scalar(1.f)))};
      case Unary::expm1: return {mul(g, add(out, scalar(1.f)))};
      case Unary::erf: return {mul(g, mul(scalar(1.1283791670955126f), op("exp", {neg(op("square", {x}))})))};
      case Unary::softplus: return {mul(g, op("sigmoid", {x}))};
      case Unary::floor: case Unary::ceil: case Unary::round: case Unary::sign: break;  // not differentiable
    }
    return {nullptr};
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
