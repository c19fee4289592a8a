// Concat: any number of inputs joined along one axis (tf.concat, Keras' Concatenate). Each input is a
// window of the output, so the forward and the backward are window copies (kernels/cpu/shape.cpp).
#include "ops/op.h"

namespace fastfit {
namespace {

struct Concat final : Op {
  int64_t axis_;
  int n_;
  Concat(int64_t axis, int64_t n) : axis_(axis), n_(int(n)) {
    FF_CHECK(n >= 1, "concat: `n` (the number of inputs) must be >= 1, got " + std::to_string(n));
  }
  int arity() const override { return n_; }
  // Joining along a non-batch axis keeps rows apart when every input carries the batch.
  bool rowwise(const Tensor* const* in, const bool* b) const override {
    for (int i = 0; i < n_; ++i)
      if (!b[i]) return false;
    return normalize_axis("concat", "axis", axis_, in[0]->rank()) != 0;
  }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    const Tensor& x = *in[0];
    expect_rank_at_least("concat", "values[0]", x, 1);
    const int axis = normalize_axis("concat", "axis", axis_, x.rank());
    s = x.shape;
    s.d[axis] = 0;
    for (int i = 0; i < n_; ++i) {
      Shape want = x.shape;
      want.d[axis] = in[i]->shape[axis];
      FF_CHECK(in[i]->dtype == DType::f32 && in[i]->shape == want,
               "concat: `values[" + std::to_string(i) + "]` must be float32 and match `values[0]` " + x.shape.str() +
                   " on every axis but axis " + std::to_string(axis) + ", got " + in[i]->desc());
      s.d[axis] += in[i]->shape[axis];
    }
    d = DType::f32;
  }
  void forward(const ExecCtx&, const Tensor* const* in, Tensor& out) override {
    const int axis = normalize_axis("concat", "axis", axis_, out.rank());
    Shape at, origin;  // where input i starts in the output; every input starts at its origin
    at.rank = origin.rank = out.rank();
    for (int i = 0; i < n_; ++i) {
      const Tensor& x = *in[i];
      FF_DISPATCH(out.device, copy_window)(x.f(), x.shape, origin, out.f(), out.shape, at, x.shape, false);
      at.d[axis] += x.shape[axis];
    }
  }
  void backward(const ExecCtx&, const Tensor* const* in, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    const int axis = normalize_axis("concat", "axis", axis_, out.rank());
    Shape at, origin;
    at.rank = origin.rank = out.rank();
    for (int i = 0; i < n_; ++i) {
      const Tensor& x = *in[i];
      if (din[i])
        FF_DISPATCH(out.device, copy_window)(g.f(), g.shape, at, din[i]->f(), x.shape, origin, x.shape, acc[i]);
      at.d[axis] += x.shape[axis];
    }
  }
};

const OpRegistrar kConcat({"concat", "ConcatV2", {{"axis", int64_t(-1)}, {"n", int64_t(2)}},
                           [](const Attrs& a) -> OpPtr {
                             return std::make_shared<Concat>(a.get<int64_t>("axis"), a.get<int64_t>("n"));
                           }});

}  // namespace
}  // namespace fastfit
