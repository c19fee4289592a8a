// Per-sample losses with Keras 3's formulas: focal crossentropy (binary per element, categorical per
// row), the hinge losses' label conversion and the categorical hinge. Targets are not differentiated.
#include "ops/op.h"

namespace fastfit {
namespace {

void expect_f32(const char* op, const Tensor* const* in, int n) {
  static const char* names[] = {"y_true", "y_pred", "logits"};
  for (int i = 0; i < n; ++i) expect_dtype(op, names[i], *in[i], DType::f32);
  for (int i = 1; i < n; ++i)
    FF_CHECK(in[i]->shape == in[0]->shape, std::string(op) + ": `y_true` and `" + names[i] +
                                               "` must have the same shape, got " + in[0]->shape.str() + " and " +
                                               in[i]->shape.str());
}

// Inputs (y_true, p, x): p the probabilities (for p_t), x what the crossentropy reads: the logits, or p.
struct BinaryFocal final : Op {
  bool logits_, balanced_;
  float gamma_, alpha_;
  BinaryFocal(const Attrs& a)
      : logits_(a.get<bool>("from_logits")),
        balanced_(a.get<bool>("apply_class_balancing")),
        gamma_(float(a.get<double>("gamma"))),
        alpha_(float(a.get<double>("alpha"))) {}
  int arity() const override { return 3; }
  bool rowwise(const Tensor* const*, const bool* b) const override { return b[0] == b[1] && b[1] == b[2]; }
  bool differentiable(int i) const override { return i > 0; }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    expect_f32("binary_focal_crossentropy", in, 3);
    s = in[0]->shape;
    d = DType::f32;
  }
  void forward(const ExecCtx&, const Tensor* const* in, Tensor& out) override {
    FF_DISPATCH(out.device, binary_focal_forward)(in[0]->f(), in[1]->f(), in[2]->f(), out.size(), logits_, gamma_,
                                                  alpha_, balanced_, out.f());
  }
  void backward(const ExecCtx&, const Tensor* const* in, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    FF_DISPATCH(out.device, binary_focal_backward)(in[0]->f(), in[1]->f(), in[2]->f(), g.f(), out.size(), logits_,
                                                   gamma_, alpha_, balanced_, din[1] ? din[1]->f() : nullptr, acc[1],
                                                   din[2] ? din[2]->f() : nullptr, acc[2]);
  }
};

// Inputs (y_true, y_pred) of shape (..., C), y_pred probabilities or logits; output (...).
struct CategoricalFocal final : Op {
  bool logits_;
  float gamma_, alpha_;
  Tensor p_;  // the probabilities, kept for the backward
  CategoricalFocal(const Attrs& a)
      : logits_(a.get<bool>("from_logits")),
        gamma_(float(a.get<double>("gamma"))),
        alpha_(float(a.get<double>("alpha"))) {}
  int arity() const override { return 2; }
  bool rowwise(const Tensor* const*, const bool* b) const override { return b[0] == b[1]; }
  bool differentiable(int i) const override { return i == 1; }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    expect_f32("categorical_focal_crossentropy", in, 2);
    expect_rank_at_least("categorical_focal_crossentropy", "y_pred", *in[1], 1);
    s = in[1]->shape;
    s.rank -= 1;
    d = DType::f32;
  }
  void forward(const ExecCtx&, const Tensor* const* in, Tensor& out) override {
    const Tensor& x = *in[1];
    resize_scratch(p_, out.device, x.shape);
    FF_DISPATCH(out.device, categorical_focal_forward)(in[0]->f(), x.f(), x.rows(), x.cols(), logits_, gamma_, alpha_,
                                                       p_.f(), out.f());
  }
  void backward(const ExecCtx&, const Tensor* const* in, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    if (din[1])
      FF_DISPATCH(out.device, categorical_focal_backward)(in[0]->f(), p_.f(), g.f(), p_.rows(), p_.cols(), logits_,
                                                          gamma_, alpha_, din[1]->f(), acc[1]);
  }
};

// 0/1 labels to -1/1 when the whole batch is binary, as Keras' convert_binary_labels_to_hinge: a
// property of all rows, so batches are not split around it.
struct HingeLabels final : Op {
  int arity() const override { return 1; }
  bool rowwise(const Tensor* const*, const bool*) const override { return false; }
  bool differentiable(int) const override { return false; }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    expect_dtype("hinge", "y_true", *in[0], DType::f32);
    s = in[0]->shape;
    d = DType::f32;
  }
  void forward(const ExecCtx&, const Tensor* const* in, Tensor& out) override {
    FF_DISPATCH(out.device, hinge_labels)(in[0]->f(), out.size(), out.f());
  }
  void backward(const ExecCtx&, const Tensor* const*, const Tensor&, const Tensor&, Tensor* const*,
                const bool*) override {}
};

struct CategoricalHinge final : Op {
  int arity() const override { return 2; }
  bool rowwise(const Tensor* const*, const bool* b) const override { return b[0] == b[1]; }
  bool differentiable(int i) const override { return i == 1; }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    expect_f32("categorical_hinge", in, 2);
    expect_rank_at_least("categorical_hinge", "y_pred", *in[1], 1);
    s = in[1]->shape;
    s.rank -= 1;
    d = DType::f32;
  }
  void forward(const ExecCtx&, const Tensor* const* in, Tensor& out) override {
    FF_DISPATCH(out.device, categorical_hinge_forward)(in[0]->f(), in[1]->f(), in[1]->rows(), in[1]->cols(), out.f());
  }
  void backward(const ExecCtx&, const Tensor* const* in, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    if (din[1])
      FF_DISPATCH(out.device, categorical_hinge_backward)(in[0]->f(), in[1]->f(), g.f(), in[1]->rows(), in[1]->cols(),
                                                          din[1]->f(), acc[1]);
  }
};

template <class T>
OpPtr make(const Attrs& a) {
  return std::make_shared<T>(a);
}

const OpRegistrar kBinaryFocal({"binary_focal_crossentropy", "BinaryFocalCrossentropy",
                                {{"from_logits", false}, {"apply_class_balancing", false}, {"gamma", 2.0},
                                 {"alpha", 0.25}},
                                make<BinaryFocal>});
const OpRegistrar kCategoricalFocal({"categorical_focal_crossentropy", "CategoricalFocalCrossentropy",
                                     {{"from_logits", false}, {"gamma", 2.0}, {"alpha", 0.25}},
                                     make<CategoricalFocal>});
const OpRegistrar kHingeLabels({"hinge_labels", "HingeLabels", {},
                                [](const Attrs&) -> OpPtr { return std::make_shared<HingeLabels>(); }});
const OpRegistrar kCategoricalHinge({"categorical_hinge", "CategoricalHinge", {},
                                     [](const Attrs&) -> OpPtr { return std::make_shared<CategoricalHinge>(); }});

}  // namespace
}  // namespace fastfit
