// MatMul, Dense (matmul + bias + activation in one op), BiasAdd and BatchDot (Keras' Dot).
#include <algorithm>

#include "autograd/grad_ops.h"
#include "ops/op.h"

namespace fastfit {
namespace {

using Gemm = decltype(&cpu::gemm);

// The vjp of C = op(A) op(B) (M x N, inner size K) given G = dC: dA and dB stored as A and B are; null
// when not wanted.
void matmul_grads(Gemm gemm, int threads, bool ta, bool tb, int64_t M, int64_t N, int64_t K, const float* a,
                  const float* b, const float* g, float* da, bool acc_a, float* db, bool acc_b) {
  if (da) {  // dop(A) = G op(B)^T, stored transposed when ta
    const float beta = acc_a ? 1.f : 0.f;
    if (!ta) gemm(threads, false, !tb, M, K, N, 1.f, g, b, beta, da);
    else gemm(threads, tb, true, K, M, N, 1.f, b, g, beta, da);
  }
  if (db) {  // dop(B) = op(A)^T G, stored transposed when tb
    const float beta = acc_b ? 1.f : 0.f;
    if (!tb) gemm(threads, !ta, false, K, N, M, 1.f, a, g, beta, db);
    else gemm(threads, true, ta, N, K, M, 1.f, g, a, beta, db);
  }
}

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
    int64_t M, N, K;
    dims(*in[0], *in[1], M, N, K);
    matmul_grads(FF_DISPATCH(out.device, gemm), ctx.threads, ta_, tb_, M, N, K, in[0]->f(), in[1]->f(), g.f(),
                 din[0] ? din[0]->f() : nullptr, acc[0], din[1] ? din[1]->f() : nullptr, acc[1]);
  }
  std::vector<TensorPtr> vjp_ops(const std::vector<TensorPtr>& in, const TensorPtr&, const TensorPtr& g,
                                 const std::vector<char>& need) const override {
    const TensorPtr &a = in[0], &b = in[1];  // as matmul_grads: each stored as its input is
    TensorPtr da, db;
    if (need[0]) da = ta_ ? grad::matmul(b, g, tb_, true) : grad::matmul(g, b, false, !tb_);
    if (need[1]) db = tb_ ? grad::matmul(g, a, true, ta_) : grad::matmul(a, g, !ta_, false);
    return {da, db};
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
  std::vector<TensorPtr> vjp_ops(const std::vector<TensorPtr>& in, const TensorPtr& out, const TensorPtr& g,
                                 const std::vector<char>& need) const override {
    using namespace grad;  // as backward, on (rows, columns) views of x and dz
    const TensorPtr &x = in[0], &w = in[1];
    const TensorPtr dz = reshape(act(act_, out, g), Shape{x->rows(), w->shape[1]});
    std::vector<TensorPtr> d(in.size());
    if (need[0]) d[0] = reshape(matmul(dz, w, false, true), x->shape);
    if (need[1]) d[1] = matmul(reshape(x, Shape{x->rows(), x->cols()}), dz, true, false);
    if (bias_ && need[2]) d[2] = sum(dz, {0}, false);
    return d;
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
  std::vector<TensorPtr> vjp_ops(const std::vector<TensorPtr>& in, const TensorPtr&, const TensorPtr& g,
                                 const std::vector<char>& need) const override {
    return {g, need[1] ? grad::sum(grad::reshape(g, Shape{in[0]->rows(), in[0]->cols()}), {0}, false) : nullptr};
  }
};

// Keras' batch_dot (the Dot layer): for each row r, contracts axis `axes[0]` of x[r] with axis `axes[1]`
// of y[r]. The output holds x's other axes, then y's (batch axis not repeated); a lone batch axis becomes
// (B, 1). A contracted axis must be axis 1 or the last (the Dot layer moves others there first), so each
// row is one matrix product: x[r] is (M, K) or, contracted on axis 1, (K, M) transposed; likewise y[r].
struct BatchDot final : Op {
  std::vector<int64_t> axes_;
  explicit BatchDot(std::vector<int64_t> axes) : axes_(std::move(axes)) {
    FF_CHECK(axes_.size() == 2, "batch_dot: `axes` must hold an axis of x and an axis of y, got " + ints_str(axes_));
  }
  struct Dims {
    int64_t B, M, N, K;
    bool ta, tb;
  };
  Dims dims(const Tensor& x, const Tensor& y) const {
    const int ax = normalize_axis("batch_dot", "axes[0]", axes_[0], x.rank());
    const int ay = normalize_axis("batch_dot", "axes[1]", axes_[1], y.rank());
    Dims d{x.shape[0], 0, 0, x.shape[ax], ax != x.rank() - 1, ay != 1};
    d.M = x.size() / std::max<int64_t>(d.B * d.K, 1);
    d.N = y.size() / std::max<int64_t>(d.B * d.K, 1);
    return d;
  }
  int arity() const override { return 2; }
  bool rowwise(const Tensor* const*, const bool* b) const override { return b[0] && b[1]; }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    const Tensor &x = *in[0], &y = *in[1];
    expect_dtype("batch_dot", "x", x, DType::f32);
    expect_dtype("batch_dot", "y", y, DType::f32);
    expect_rank_at_least("batch_dot", "x", x, 2);
    expect_rank_at_least("batch_dot", "y", y, 2);
    const int ax = normalize_axis("batch_dot", "axes[0]", axes_[0], x.rank());
    const int ay = normalize_axis("batch_dot", "axes[1]", axes_[1], y.rank());
    FF_CHECK((ax == 1 || ax == x.rank() - 1) && (ay == 1 || ay == y.rank() - 1),
             "batch_dot: each of `axes` " + ints_str(axes_) + " must be axis 1 or the last axis of its input, for x " +
                 x.shape.str() + " and y " + y.shape.str());
    FF_CHECK(x.shape[0] == y.shape[0] && x.shape[ax] == y.shape[ay],
             "batch_dot: x " + x.shape.str() + " and y " + y.shape.str() + " must have the same batch size and the "
             "same size on `axes` " + ints_str(axes_));
    s = Shape{};
    for (int k = 0; k < x.rank(); ++k)
      if (k != ax) s.push(x.shape[k]);
    for (int k = 1; k < y.rank(); ++k)
      if (k != ay) s.push(y.shape[k]);
    if (s.rank == 1) s.push(1);
    d = DType::f32;
  }
  void forward(const ExecCtx& ctx, const Tensor* const* in, Tensor& out) override {
    const Dims d = dims(*in[0], *in[1]);
    const auto gemm = FF_DISPATCH(out.device, gemm);
    for (int64_t r = 0; r < d.B; ++r)
      gemm(ctx.threads, d.ta, d.tb, d.M, d.N, d.K, 1.f, in[0]->f() + r * d.M * d.K, in[1]->f() + r * d.K * d.N, 0.f,
           out.f() + r * d.M * d.N);
  }
  void backward(const ExecCtx& ctx, const Tensor* const* in, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    const Dims d = dims(*in[0], *in[1]);
    const auto gemm = FF_DISPATCH(out.device, gemm);
    for (int64_t r = 0; r < d.B; ++r) {
      const int64_t xo = r * d.M * d.K, yo = r * d.K * d.N;
      matmul_grads(gemm, ctx.threads, d.ta, d.tb, d.M, d.N, d.K, in[0]->f() + xo, in[1]->f() + yo,
                   g.f() + r * d.M * d.N, din[0] ? din[0]->f() + xo : nullptr, acc[0],
                   din[1] ? din[1]->f() + yo : nullptr, acc[1]);
    }
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
const OpRegistrar kBatchDot({"batch_dot", "BatchDot", {{"axes", std::vector<int64_t>{-1, -1}}},
                             [](const Attrs& a) -> OpPtr {
                               return std::make_shared<BatchDot>(a.get<std::vector<int64_t>>("axes"));
                             }});

}  // namespace
}  // namespace fastfit
