// MatMul, Dense (matmul + bias + activation in one op) and BiasAdd.
#include "ops/op.h"

namespace fastfit {
namespace {

// C = op(A) op(B), A and B 2-D.
struct MatMul final : Op {
  bool ta_, tb_;
  MatMul(bool ta, bool tb) : ta_(ta), tb_(tb) {}
  int arity() const override { return 2; }
  bool rowwise(const Tensor* const*, const bool* b) const override { return !b[1] && (!b[0] || !ta_); }
  void dims(const Tensor& a, const Tensor& b, int64_t& M, int64_t& N, int64_t& K) const {
    M = ta_ ? a.shape[1] : a.shape[0];
    K = ta_ ? a.shape[0] : a.shape[1];
    N = tb_ ? b.shape[0] : b.shape[1];
  }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    const Tensor &a = *in[0], &b = *in[1];
    expect_dtype("matmul", "a", a, DType::f32);
    expect_dtype("matmul", "b", b, DType::f32);
    FF_CHECK(a.rank() == 2 && b.rank() == 2, "matmul: `a` and `b` must be 2-D, got " + a.desc() + " and " + b.desc());
    int64_t M, N, K;
    dims(a, b, M, N, K);
    int64_t Kb = tb_ ? b.shape[1] : b.shape[0];
    FF_CHECK(K == Kb, "matmul: inner dimensions differ: a " + a.shape.str() + " and b " + b.shape.str());
    s = Shape{M, N};
    d = DType::f32;
  }
  void forward(const ExecCtx& ctx, const Tensor* const* in, Tensor& out) override {
    int64_t M, N, K;
    dims(*in[0], *in[1], M, N, K);
    FF_DISPATCH(out.device, gemm)(ctx.threads, ta_, tb_, M, N, K, 1.f, in[0]->f(), in[1]->f(), 0.f, out.f());
  }
  void backward(const ExecCtx& ctx, const Tensor* const* in, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    const Tensor &a = *in[0], &b = *in[1];
    const auto gemm = FF_DISPATCH(out.device, gemm);
    int64_t M, N, K;
    dims(a, b, M, N, K);
    if (din[0]) {  // dop(A) = G op(B)^T, stored transposed when ta
      float beta = acc[0] ? 1.f : 0.f;
      if (!ta_) gemm(ctx.threads, false, !tb_, M, K, N, 1.f, g.f(), b.f(), beta, din[0]->f());
      else gemm(ctx.threads, tb_, true, K, M, N, 1.f, b.f(), g.f(), beta, din[0]->f());
    }
    if (din[1]) {  // dop(B) = op(A)^T G, stored transposed when tb
      float beta = acc[1] ? 1.f : 0.f;
      if (!tb_) gemm(ctx.threads, !ta_, false, K, N, M, 1.f, a.f(), g.f(), beta, din[1]->f());
      else gemm(ctx.threads, true, ta_, N, K, M, 1.f, g.f(), a.f(), beta, din[1]->f());
    }
  }
};

// y = act(x W + b): x (..., I), W (I, O), b (O); bias and activation fused into the product (kernels/cpu).
struct Dense final : Op {
  Act act_;
  bool bias_;
  Tensor dz_;  // scratch for the pre-activation gradient, reused across steps
  Dense(Act act, bool bias) : act_(act), bias_(bias) {}
  int arity() const override { return bias_ ? 3 : 2; }
  bool rowwise(const Tensor* const*, const bool* b) const override { return !b[1] && !(bias_ && b[2]); }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    const Tensor &x = *in[0], &w = *in[1];
    expect_dtype("Dense", "inputs", x, DType::f32);
    expect_rank_at_least("Dense", "inputs", x, 1);
    FF_CHECK(w.rank() == 2 && w.shape[0] == x.cols(),
             "Dense: expected inputs with last dimension " + std::to_string(w.rank() == 2 ? w.shape[0] : -1) +
                 " (kernel " + w.shape.str() + "), got inputs of shape " + x.shape.str());
    if (bias_) FF_CHECK(in[2]->rank() == 1 && in[2]->shape[0] == w.shape[1],
                        "Dense: bias must have shape (" + std::to_string(w.shape[1]) + ",), got " + in[2]->shape.str());
    s = x.shape;
    s[-1] = w.shape[1];
    d = DType::f32;
  }
  void forward(const ExecCtx& ctx, const Tensor* const* in, Tensor& out) override {
    const Tensor &x = *in[0], &w = *in[1];
    FF_DISPATCH(out.device, dense_forward)(ctx.threads, x.rows(), w.shape[1], x.cols(), x.f(), w.f(),
                                           bias_ ? in[2]->f() : nullptr, act_, out.f());
  }
  void backward(const ExecCtx& ctx, const Tensor* const* in, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    const Tensor &x = *in[0], &w = *in[1];
    const auto gemm = FF_DISPATCH(out.device, gemm);
    const int64_t M = x.rows(), K = x.cols(), N = w.shape[1];
    const float* dz = g.f();
    if (act_ != Act::linear) {
      resize_scratch(dz_, out.device, out.shape);
      FF_DISPATCH(out.device, act_backward)(act_, out.f(), g.f(), M * N, dz_.f(), false);
      dz = dz_.f();
    }
    if (din[0]) gemm(ctx.threads, false, true, M, K, N, 1.f, dz, w.f(), acc[0] ? 1.f : 0.f, din[0]->f());  // dz W^T
    if (din[1]) gemm(ctx.threads, true, false, K, N, M, 1.f, x.f(), dz, acc[1] ? 1.f : 0.f, din[1]->f());  // x^T dz
    if (bias_ && din[2]) FF_DISPATCH(out.device, column_sum)(dz, M, N, din[2]->f(), acc[2]);  // db = sum_rows dz
  }
};

// y = x + b, b broadcast along the last axis.
struct BiasAdd final : Op {
  int arity() const override { return 2; }
  bool rowwise(const Tensor* const*, const bool* b) const override { return !b[1]; }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    expect_dtype("bias_add", "value", *in[0], DType::f32);
    expect_rank_at_least("bias_add", "value", *in[0], 1);
    FF_CHECK(in[1]->rank() == 1 && in[1]->shape[0] == in[0]->cols(),
             "bias_add: bias must have shape (" + std::to_string(in[0]->cols()) + ",), got " + in[1]->shape.str());
    s = in[0]->shape;
    d = DType::f32;
  }
  void forward(const ExecCtx&, const Tensor* const* in, Tensor& out) override {
    FF_DISPATCH(out.device, bias_add_forward)(in[0]->f(), in[1]->f(), in[0]->rows(), in[0]->cols(), out.f());
  }
  void backward(const ExecCtx&, const Tensor* const* in, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    if (din[0]) FF_DISPATCH(out.device, axpy_store)(1.f, g.f(), g.size(), din[0]->f(), acc[0]);
    if (din[1]) FF_DISPATCH(out.device, column_sum)(g.f(), in[0]->rows(), in[0]->cols(), din[1]->f(), acc[1]);
  }
};

const OpRegistrar kMatMul({"matmul", "MatMul", {{"transpose_a", false}, {"transpose_b", false}},
                           [](const Attrs& a) -> OpPtr {
                             return std::make_shared<MatMul>(a.get<bool>("transpose_a"), a.get<bool>("transpose_b"));
                           }});
const OpRegistrar kDense({"dense", "Dense", {{"activation", "linear"}, {"use_bias", true}},
                          [](const Attrs& a) -> OpPtr {
                            return std::make_shared<Dense>(activation_named("dense", a.get<std::string>("activation")),
                                                           a.get<bool>("use_bias"));
                          }});
const OpRegistrar kBiasAdd({"bias_add", "BiasAdd", {},
                            [](const Attrs&) -> OpPtr { return std::make_shared<BiasAdd>(); }});

}  // namespace
}  // namespace fastfit
