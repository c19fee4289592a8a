// MatMul, Dense (matmul + bias + activation in one op) and BiasAdd.
#include "ops/op.h"

namespace fastfit {

void expect_dtype(const char* op, const char* arg, const Tensor& t, DType d) {
  FF_CHECK(t.dtype == d, std::string(op) + ": `" + arg + "` must be " + dtype_name(d) + ", got " + t.desc());
}
void expect_rank_at_least(const char* op, const char* arg, const Tensor& t, int r) {
  FF_CHECK(t.rank() >= r, std::string(op) + ": `" + arg + "` must have rank >= " + std::to_string(r) + ", got " +
                              t.desc());
}

namespace {

using cpu::gemm;

// C = op(A) op(B), A and B 2-D.
struct MatMul final : Op {
  bool ta_, tb_;
  MatMul(bool ta, bool tb) : ta_(ta), tb_(tb) {}
  const char* name() const override { return "MatMul"; }
  int arity() const override { return 2; }
  OpPtr clone() const override { return std::make_shared<MatMul>(ta_, tb_); }
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
  void forward(const Tensor* const* in, Tensor& out) override {
    int64_t M, N, K;
    dims(*in[0], *in[1], M, N, K);
    gemm(ta_, tb_, M, N, K, 1.f, in[0]->f(), in[1]->f(), 0.f, out.f());
  }
  void backward(const Tensor* const* in, const Tensor&, const Tensor& g, Tensor* const* din, const bool* acc) override {
    const Tensor &a = *in[0], &b = *in[1];
    int64_t M, N, K;
    dims(a, b, M, N, K);
    if (din[0]) {  // dop(A) = G op(B)^T, stored transposed when ta
      float beta = acc[0] ? 1.f : 0.f;
      if (!ta_) gemm(false, !tb_, M, K, N, 1.f, g.f(), b.f(), beta, din[0]->f());
      else gemm(tb_, true, K, M, N, 1.f, b.f(), g.f(), beta, din[0]->f());
    }
    if (din[1]) {  // dop(B) = op(A)^T G, stored transposed when tb
      float beta = acc[1] ? 1.f : 0.f;
      if (!tb_) gemm(!ta_, false, K, N, M, 1.f, a.f(), g.f(), beta, din[1]->f());
      else gemm(true, ta_, N, K, M, 1.f, g.f(), a.f(), beta, din[1]->f());
    }
  }
};

// y = act(x W + b): x (..., I), W (I, O), b (O); bias and activation fused into the product (kernels/cpu).
struct Dense final : Op {
  cpu::Act act_;
  bool bias_;
  Tensor dz_;  // scratch for the pre-activation gradient, reused across steps
  Dense(cpu::Act act, bool bias) : act_(act), bias_(bias) {}
  const char* name() const override { return "Dense"; }
  int arity() const override { return bias_ ? 3 : 2; }
  OpPtr clone() const override { return std::make_shared<Dense>(act_, bias_); }
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
  void forward(const Tensor* const* in, Tensor& out) override {
    const Tensor &x = *in[0], &w = *in[1];
    cpu::dense_forward(x.rows(), w.shape[1], x.cols(), x.f(), w.f(), bias_ ? in[2]->f() : nullptr, act_, out.f());
  }
  void backward(const Tensor* const* in, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    const Tensor &x = *in[0], &w = *in[1];
    const int64_t M = x.rows(), K = x.cols(), N = w.shape[1];
    const float* dz = g.f();
    if (act_ != cpu::Act::linear) {
      dz_.resize(out.shape, DType::f32);
      cpu::act_backward(act_, out.f(), g.f(), M * N, dz_.f(), false);
      dz = dz_.f();
    }
    if (din[0]) gemm(false, true, M, K, N, 1.f, dz, w.f(), acc[0] ? 1.f : 0.f, din[0]->f());  // dx = dz W^T
    if (din[1]) gemm(true, false, K, N, M, 1.f, x.f(), dz, acc[1] ? 1.f : 0.f, din[1]->f());  // dW = x^T dz
    if (bias_ && din[2]) cpu::column_sum(dz, M, N, din[2]->f(), acc[2]);                      // db = sum_rows dz
  }
};

// y = x + b, b broadcast along the last axis.
struct BiasAdd final : Op {
  const char* name() const override { return "BiasAdd"; }
  int arity() const override { return 2; }
  OpPtr clone() const override { return std::make_shared<BiasAdd>(); }
  bool rowwise(const Tensor* const*, const bool* b) const override { return !b[1]; }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    expect_dtype("bias_add", "value", *in[0], DType::f32);
    expect_rank_at_least("bias_add", "value", *in[0], 1);
    FF_CHECK(in[1]->rank() == 1 && in[1]->shape[0] == in[0]->cols(),
             "bias_add: bias must have shape (" + std::to_string(in[0]->cols()) + ",), got " + in[1]->shape.str());
    s = in[0]->shape;
    d = DType::f32;
  }
  void forward(const Tensor* const* in, Tensor& out) override {
    const int64_t M = in[0]->rows(), N = in[0]->cols();
    const float *x = in[0]->f(), *b = in[1]->f();
    float* y = out.f();
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) y[i * N + j] = x[i * N + j] + b[j];
  }
  void backward(const Tensor* const* in, const Tensor&, const Tensor& g, Tensor* const* din, const bool* acc) override {
    if (din[0]) cpu::axpy_store(1.f, g.f(), g.size(), din[0]->f(), acc[0]);
    if (din[1]) cpu::column_sum(g.f(), in[0]->rows(), in[0]->cols(), din[1]->f(), acc[1]);
  }
};

}  // namespace

OpPtr make_matmul(bool ta, bool tb) { return std::make_shared<MatMul>(ta, tb); }
OpPtr make_dense(cpu::Act act, bool use_bias) { return std::make_shared<Dense>(act, use_bias); }
OpPtr make_bias_add() { return std::make_shared<BiasAdd>(); }

}  // namespace fastfit
