// Elementwise activations (relu, sigmoid, tanh) and softmax over the last axis.
#include "autograd/grad_ops.h"
#include "ops/op.h"

namespace fastfit {
namespace {

struct Activation final : Op {
  Act act_;
  explicit Activation(Act a) : act_(a) {}
  int arity() const override { return 1; }
  bool keeps_logits() const override { return act_ == Act::sigmoid; }  // for binary crossentropy, as Keras
  bool rowwise(const Tensor* const*, const bool*) const override { return true; }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    expect_dtype(registry_name(), "x", *in[0], DType::f32);
    s = in[0]->shape;
    d = DType::f32;
  }
  void forward(const ExecCtx&, const Tensor* const* in, Tensor& out) override {
    FF_DISPATCH(out.device, act_forward)(act_, in[0]->f(), in[0]->size(), out.f());
  }
  void backward(const ExecCtx&, const Tensor* const*, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    if (din[0]) FF_DISPATCH(out.device, act_backward)(act_, out.f(), g.f(), out.size(), din[0]->f(), acc[0]);
  }
  std::vector<TensorPtr> vjp_ops(const std::vector<TensorPtr>&, const TensorPtr& out, const TensorPtr& g,
                                 const std::vector<char>&) const override {
    return {grad::act(act_, out, g)};
  }
};

struct Softmax final : Op {
  int arity() const override { return 1; }
  bool rowwise(const Tensor* const*, const bool*) const override { return true; }
  bool keeps_logits() const override { return true; }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    expect_dtype("softmax", "x", *in[0], DType::f32);
    expect_rank_at_least("softmax", "x", *in[0], 1);
    s = in[0]->shape;
    d = DType::f32;
  }
  void forward(const ExecCtx&, const Tensor* const* in, Tensor& out) override {
    FF_DISPATCH(out.device, softmax_forward)(in[0]->f(), in[0]->rows(), in[0]->cols(), out.f());
  }
  void backward(const ExecCtx&, const Tensor* const*, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    if (din[0]) FF_DISPATCH(out.device, softmax_backward)(out.f(), g.f(), out.rows(), out.cols(), din[0]->f(), acc[0]);
  }
  std::vector<TensorPtr> vjp_ops(const std::vector<TensorPtr>&, const TensorPtr& out, const TensorPtr& g,
                                 const std::vector<char>&) const override {
    using namespace grad;  // s (g - sum(s g)) over the last axis
    return {mul(out, sub(g, sum(mul(g, out), {-1}, true)))};
  }
};

template <Act A>
OpPtr make_activation(const Attrs&) {
  return std::make_shared<Activation>(A);
}

const OpRegistrar kRelu({"relu", "Relu", {}, make_activation<Act::relu>});
const OpRegistrar kSigmoid({"sigmoid", "Sigmoid", {}, make_activation<Act::sigmoid>});
const OpRegistrar kTanh({"tanh", "Tanh", {}, make_activation<Act::tanh>});
const OpRegistrar kSoftmax({"softmax", "Softmax", {},
                            [](const Attrs&) -> OpPtr { return std::make_shared<Softmax>(); }});

}  // namespace
}  // namespace fastfit
