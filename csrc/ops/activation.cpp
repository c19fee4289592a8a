// Elementwise activations (relu, sigmoid, tanh, linear) and softmax over the last axis.
#include "ops/op.h"

namespace fastfit {
namespace {

struct Activation final : Op {
  cpu::Act act_;
  explicit Activation(cpu::Act a) : act_(a) {}
  const char* name() const override { return "Activation"; }
  int arity() const override { return 1; }
  OpPtr clone() const override { return std::make_shared<Activation>(act_); }
  bool rowwise(const Tensor* const*, const bool*) const override { return true; }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    expect_dtype("activation", "x", *in[0], DType::f32);
    s = in[0]->shape;
    d = DType::f32;
  }
  void forward(const Tensor* const* in, Tensor& out) override {
    cpu::act_forward(act_, in[0]->f(), in[0]->size(), out.f());
  }
  void backward(const Tensor* const*, const Tensor& out, const Tensor& g, Tensor* const* din, const bool* acc) override {
    if (din[0]) cpu::act_backward(act_, out.f(), g.f(), out.size(), din[0]->f(), acc[0]);
  }
};

struct Softmax final : Op {
  const char* name() const override { return "Softmax"; }
  int arity() const override { return 1; }
  OpPtr clone() const override { return std::make_shared<Softmax>(); }
  bool rowwise(const Tensor* const*, const bool*) const override { return true; }
  bool is_softmax() const override { return true; }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    expect_dtype("softmax", "x", *in[0], DType::f32);
    expect_rank_at_least("softmax", "x", *in[0], 1);
    s = in[0]->shape;
    d = DType::f32;
  }
  void forward(const Tensor* const* in, Tensor& out) override {
    cpu::softmax_rows(in[0]->f(), in[0]->rows(), in[0]->cols(), out.f());
  }
  void backward(const Tensor* const*, const Tensor& out, const Tensor& g, Tensor* const* din, const bool* acc) override {
    if (din[0]) cpu::softmax_backward(out.f(), g.f(), out.rows(), out.cols(), din[0]->f(), acc[0]);
  }
};

}  // namespace

OpPtr make_activation(cpu::Act act) { return std::make_shared<Activation>(act); }
OpPtr make_softmax() { return std::make_shared<Softmax>(); }

}  // namespace fastfit
