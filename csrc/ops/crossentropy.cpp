// Per-sample losses (reduction is a separate op): sparse, categorical and binary crossentropy, squared
// error. On logits, softmax is fused in and p kept for the backward, which is then (p - onehot) * g. On
// probabilities they follow Keras 3: (categorical) normalise, then clip to [eps, 1 - eps].
#include <algorithm>
#include <limits>

#include "autograd/grad_ops.h"
#include "ops/op.h"

namespace fastfit {
namespace {

constexpr int64_t kNoClass = std::numeric_limits<int64_t>::min();  // ignore_class unset: no label equals it

// Sparse: labels (B) or (B, 1), integer class ids; pred (B, C). Rows labelled `ignore_class` lose 0.
struct SparseCrossentropy final : Op {
  bool logits_;
  int64_t ignore_;
  Tensor p_;  // softmax(logits) or the clipped probabilities, kept for the backward
  SparseCrossentropy(bool logits, int64_t ignore) : logits_(logits), ignore_(ignore) {}
  int arity() const override { return 2; }
  bool rowwise(const Tensor* const*, const bool* b) const override { return b[0] == b[1]; }
  bool differentiable(int i) const override { return i == 1; }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    const Tensor &y = *in[0], &p = *in[1];
    expect_dtype("sparse_categorical_crossentropy", "y_pred", p, DType::f32);
    FF_CHECK(p.rank() >= 1, "sparse_categorical_crossentropy: `y_pred` must have a class axis, got " + p.desc());
    Shape want = p.shape;
    want.rank -= 1;
    Shape with_one = want;
    with_one.push(1);
    FF_CHECK(y.shape == want || y.shape == with_one,
             "sparse_categorical_crossentropy: `y_true` must have shape " + want.str() + " to match `y_pred` " +
                 p.shape.str() + ", got " + y.shape.str());
    s = want;
    d = DType::f32;
  }
  static Labels labels(const Tensor& y) { return {y.data, y.dtype == DType::i32}; }
  void forward(const ExecCtx&, const Tensor* const* in, Tensor& out) override {
    const Tensor &y = *in[0], &x = *in[1];
    const int64_t C = x.cols();
    resize_scratch(p_, out.device, x.shape);
    const int64_t bad = FF_DISPATCH(out.device, sparse_crossentropy_forward)(labels(y), ignore_, x.f(), x.rows(), C,
                                                                             logits_, p_.f(), out.f());
    FF_CHECK(bad < 0, "sparse_categorical_crossentropy: labels must be in [0, " + std::to_string(C) + "), got " +
                          std::to_string(int_at(y, bad)) + " at position " + std::to_string(bad));
  }
  void backward(const ExecCtx&, const Tensor* const* in, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    const Tensor &y = *in[0], &x = *in[1];
    if (din[1])
      FF_DISPATCH(out.device, sparse_crossentropy_backward)(labels(y), ignore_, x.f(), p_.f(), g.f(), x.rows(),
                                                            x.cols(), logits_, din[1]->f(), acc[1]);
  }
  std::vector<TensorPtr> vjp_ops(const std::vector<TensorPtr>& in, const TensorPtr& out, const TensorPtr& g,
                                 const std::vector<char>& need) const override {
    if (!logits_ || ignore_ != kNoClass) return Op::vjp_ops(in, out, g, need);
    using namespace grad;  // (softmax(x) - onehot(y)) g, per row
    const TensorPtr& x = in[1];
    const int64_t C = x->cols();
    auto classes = Tensor::make(Shape{C});
    for (int64_t c = 0; c < C; ++c) classes->f()[c] = float(c);
    Shape column = x->shape;
    column.d[column.rank - 1] = 1;
    const TensorPtr ids = reshape(op("cast", {in[0]}, {{"dtype", std::string("float32")}}), column);
    const TensorPtr onehot = op("equal", {ids, classes});
    return {nullptr, mul(sub(op("softmax", {x}), onehot), reshape(g, column))};
  }
};

// Categorical: one-hot (or soft) targets of the same shape as pred.
struct Crossentropy final : Op {
  bool logits_;
  Tensor p_;
  explicit Crossentropy(bool logits) : logits_(logits) {}
  int arity() const override { return 2; }
  bool rowwise(const Tensor* const*, const bool* b) const override { return b[0] == b[1]; }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    const Tensor &y = *in[0], &p = *in[1];
    expect_dtype("categorical_crossentropy", "y_true", y, DType::f32);
    expect_dtype("categorical_crossentropy", "y_pred", p, DType::f32);
    FF_CHECK(p.rank() >= 1 && y.shape == p.shape, "categorical_crossentropy: `y_true` and `y_pred` must have the same "
                                                  "shape, got " + y.shape.str() + " and " + p.shape.str());
    s = p.shape;
    s.rank -= 1;
    d = DType::f32;
  }
  void forward(const ExecCtx&, const Tensor* const* in, Tensor& out) override {
    const Tensor &y = *in[0], &x = *in[1];
    resize_scratch(p_, out.device, x.shape);
    FF_DISPATCH(out.device, crossentropy_forward)(y.f(), x.f(), x.rows(), x.cols(), logits_, p_.f(), out.f());
  }
  void backward(const ExecCtx&, const Tensor* const* in, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    const Tensor &y = *in[0], &x = *in[1];
    if (din[1])
      FF_DISPATCH(out.device, crossentropy_backward)(y.f(), x.f(), p_.f(), g.f(), x.rows(), x.cols(), logits_,
                                                     din[1]->f(), acc[1]);
    if (din[0])  // soft targets computed by the model (TensorFlow differentiates them too)
      FF_DISPATCH(out.device, crossentropy_target_backward)(x.f(), p_.f(), g.f(), x.rows(), x.cols(), logits_,
                                                            din[0]->f(), acc[0]);
  }
  std::vector<TensorPtr> vjp_ops(const std::vector<TensorPtr>& in, const TensorPtr& out, const TensorPtr& g,
                                 const std::vector<char>& need) const override {
    if (!logits_) return Op::vjp_ops(in, out, g, need);
    using namespace grad;  // (softmax(x) sum(y) - y) g, per row
    const TensorPtr &y = in[0], &x = in[1];
    Shape column = x->shape;
    column.d[column.rank - 1] = 1;
    return {nullptr, mul(sub(mul(op("softmax", {x}), sum(y, {-1}, true)), y), reshape(g, column))};
  }
};

// Binary crossentropy per element of y_pred (probabilities or logits), targets of the same shape.
struct BinaryCrossentropy final : Op {
  bool logits_;
  explicit BinaryCrossentropy(bool logits) : logits_(logits) {}
  int arity() const override { return 2; }
  bool rowwise(const Tensor* const*, const bool* b) const override { return b[0] == b[1]; }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    expect_dtype("binary_crossentropy", "y_true", *in[0], DType::f32);
    expect_dtype("binary_crossentropy", "y_pred", *in[1], DType::f32);
    FF_CHECK(in[0]->shape == in[1]->shape, "binary_crossentropy: `y_true` and `y_pred` must have the same shape, "
                                           "got " + in[0]->shape.str() + " and " + in[1]->shape.str());
    s = in[1]->shape;
    d = DType::f32;
  }
  void forward(const ExecCtx&, const Tensor* const* in, Tensor& out) override {
    FF_DISPATCH(out.device, binary_crossentropy_forward)(in[0]->f(), in[1]->f(), out.size(), logits_, out.f());
  }
  void backward(const ExecCtx&, const Tensor* const* in, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    if (din[1])
      FF_DISPATCH(out.device, binary_crossentropy_backward)(in[0]->f(), in[1]->f(), g.f(), out.size(), logits_,
                                                            din[1]->f(), acc[1]);
    if (din[0])
      FF_DISPATCH(out.device, binary_crossentropy_target_backward)(in[1]->f(), g.f(), out.size(), logits_,
                                                                   din[0]->f(), acc[0]);
  }
  std::vector<TensorPtr> vjp_ops(const std::vector<TensorPtr>& in, const TensorPtr& out, const TensorPtr& g,
                                 const std::vector<char>& need) const override {
    if (!logits_) return Op::vjp_ops(in, out, g, need);
    using namespace grad;  // (sigmoid(x) - y) g
    return {nullptr, mul(sub(op("sigmoid", {in[1]}), in[0]), g)};
  }
};

// mean((y_pred - y_true)^2, axis=-1), as keras.losses.mean_squared_error.
struct SquaredError final : Op {
  int arity() const override { return 2; }
  bool rowwise(const Tensor* const*, const bool* b) const override { return b[0] == b[1]; }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    expect_dtype("mean_squared_error", "y_true", *in[0], DType::f32);
    expect_dtype("mean_squared_error", "y_pred", *in[1], DType::f32);
    FF_CHECK(in[0]->shape == in[1]->shape, "mean_squared_error: `y_true` and `y_pred` must have the same shape, got " +
                                               in[0]->shape.str() + " and " + in[1]->shape.str());
    s = in[1]->shape;
    if (s.rank) s.rank -= 1;
    d = DType::f32;
  }
  void forward(const ExecCtx&, const Tensor* const* in, Tensor& out) override {
    FF_DISPATCH(out.device, squared_error_forward)(in[0]->f(), in[1]->f(), in[1]->rows(), in[1]->cols(), out.f());
  }
  void backward(const ExecCtx&, const Tensor* const* in, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    for (int k = 0; k < 2; ++k)  // d/dy_pred = +2/C (p - y) g, d/dy_true the negative
      if (din[k])
        FF_DISPATCH(out.device, squared_error_backward)(in[0]->f(), in[1]->f(), g.f(), in[1]->rows(), in[1]->cols(),
                                                        k == 1 ? 1.f : -1.f, din[k]->f(), acc[k]);
  }
  std::vector<TensorPtr> vjp_ops(const std::vector<TensorPtr>& in, const TensorPtr&, const TensorPtr& g,
                                 const std::vector<char>& need) const override {
    using namespace grad;  // d/dy_pred = 2/C (p - y) g, per row; d/dy_true its negative
    const TensorPtr &y = in[0], &p = in[1];
    Shape column = p->shape;
    if (column.rank) column.d[column.rank - 1] = 1;
    const TensorPtr d = mul(mul(sub(p, y), reshape(g, column)), scalar(2.f / float(std::max<int64_t>(p->cols(), 1))));
    return {need[0] ? neg(d) : nullptr, need[1] ? d : nullptr};
  }
};

template <class T>
OpPtr make_crossentropy(const Attrs& a) {
  return std::make_shared<T>(a.get<bool>("from_logits"));
}

const OpRegistrar kSparse({"sparse_categorical_crossentropy", "SparseCategoricalCrossentropy",
                           {{"from_logits", false}, {"ignore_class", kNoClass}}, [](const Attrs& a) -> OpPtr {
                             return std::make_shared<SparseCrossentropy>(a.get<bool>("from_logits"),
                                                                         a.get<int64_t>("ignore_class"));
                           }});
const OpRegistrar kCategorical({"categorical_crossentropy", "CategoricalCrossentropy", {{"from_logits", false}},
                                make_crossentropy<Crossentropy>});
const OpRegistrar kBinary({"binary_crossentropy", "BinaryCrossentropy", {{"from_logits", false}},
                           make_crossentropy<BinaryCrossentropy>});
const OpRegistrar kSquaredError({"mean_squared_error", "MeanSquaredError", {},
                                 [](const Attrs&) -> OpPtr { return std::make_shared<SquaredError>(); }});

}  // namespace
}  // namespace fastfit
