// Crossentropy losses, per sample (reduction is a separate op). Softmax is fused in: the logits path
// computes log-softmax and keeps p for the backward, which is then (p - onehot) * g.
// On probabilities it follows Keras 3: clip to [eps, 1 - eps], then (categorical) normalise.
#include <algorithm>
#include <cmath>

#include "ops/op.h"

namespace fastfit {
namespace {

constexpr float kEps = 1e-7f;  // keras.backend.epsilon()

int32_t label_at(const Tensor& y, int64_t i) {
  return y.dtype == DType::i32 ? y.i32()[i] : static_cast<int32_t>(y.f()[i]);
}

using cpu::softmax_row;  // p = softmax(x) for a row of logits; returns logsumexp

// Sparse: labels (B) or (B, 1), integer class ids; pred (B, C).
struct SparseCrossentropy final : Op {
  bool logits_;
  Tensor p_;  // softmax(logits) or the clipped probabilities, kept for the backward
  explicit SparseCrossentropy(bool logits) : logits_(logits) {}
  const char* name() const override { return "SparseCategoricalCrossentropy"; }
  int arity() const override { return 2; }
  OpPtr clone() const override { return std::make_shared<SparseCrossentropy>(logits_); }
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
  void forward(const Tensor* const* in, Tensor& out) override {
    const Tensor &y = *in[0], &x = *in[1];
    const int64_t B = x.rows(), C = x.cols();
    p_.resize(x.shape, DType::f32);
    float* loss = out.f();
    for (int64_t i = 0; i < B; ++i) {
      const int32_t t = label_at(y, i);
      FF_CHECK(t >= 0 && t < C, "sparse_categorical_crossentropy: labels must be in [0, " + std::to_string(C) +
                                    "), got " + std::to_string(t) + " at position " + std::to_string(i));
      const float* xr = x.f() + i * C;
      float* pr = p_.f() + i * C;
      if (logits_) {
        loss[i] = softmax_row(xr, C, pr) - xr[t];
      } else {  // Keras: log(clip(p)) then softmax-crossentropy on it, i.e. -log(pc_t) + log(sum pc)
        float s = 0.f;
        for (int64_t j = 0; j < C; ++j) s += (pr[j] = std::min(std::max(xr[j], kEps), 1.f - kEps));
        loss[i] = std::log(s) - std::log(pr[t]);
      }
    }
  }
  void backward(const Tensor* const* in, const Tensor&, const Tensor& g, Tensor* const* din, const bool* acc) override {
    if (!din[1]) return;
    const Tensor &y = *in[0], &x = *in[1];
    const int64_t B = x.rows(), C = x.cols();
    float* dx = din[1]->f();
    for (int64_t i = 0; i < B; ++i) {
      const int32_t t = label_at(y, i);
      const float gi = g.f()[i];
      const float* pr = p_.f() + i * C;
      const float* xr = x.f() + i * C;
      float* o = dx + i * C;
      float s = 0.f;
      if (!logits_)
        for (int64_t j = 0; j < C; ++j) s += pr[j];
      for (int64_t j = 0; j < C; ++j) {
        float v;
        if (logits_) {
          v = (pr[j] - (j == t ? 1.f : 0.f)) * gi;
        } else {  // d/dp of log(sum pc) - log(pc_t), zero where the clip is active
          const bool inside = xr[j] > kEps && xr[j] < 1.f - kEps;
          v = inside ? (1.f / s - (j == t ? 1.f / pr[j] : 0.f)) * gi : 0.f;
        }
        o[j] = acc[1] ? o[j] + v : v;
      }
    }
  }
};

// Categorical: one-hot (or soft) targets of the same shape as pred.
struct Crossentropy final : Op {
  bool logits_;
  Tensor p_;
  explicit Crossentropy(bool logits) : logits_(logits) {}
  const char* name() const override { return "CategoricalCrossentropy"; }
  int arity() const override { return 2; }
  OpPtr clone() const override { return std::make_shared<Crossentropy>(logits_); }
  bool rowwise(const Tensor* const*, const bool* b) const override { return b[0] == b[1]; }
  bool differentiable(int i) const override { return i == 1; }
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
  void forward(const Tensor* const* in, Tensor& out) override {
    const Tensor &y = *in[0], &x = *in[1];
    const int64_t B = x.rows(), C = x.cols();
    p_.resize(x.shape, DType::f32);
    for (int64_t i = 0; i < B; ++i) {
      const float *xr = x.f() + i * C, *yr = y.f() + i * C;
      float* pr = p_.f() + i * C;
      float l = 0.f;
      if (logits_) {
        const float lse = softmax_row(xr, C, pr);
        for (int64_t j = 0; j < C; ++j) l += yr[j] * (lse - xr[j]);
      } else {  // q = p / sum(p), clipped; -sum y log q
        float s = 0.f;
        for (int64_t j = 0; j < C; ++j) s += xr[j];
        for (int64_t j = 0; j < C; ++j) {
          pr[j] = std::min(std::max(xr[j] / s, kEps), 1.f - kEps);
          l -= yr[j] * std::log(pr[j]);
        }
      }
      out.f()[i] = l;
    }
  }
  void backward(const Tensor* const* in, const Tensor&, const Tensor& g, Tensor* const* din, const bool* acc) override {
    if (!din[1]) return;
    const Tensor &y = *in[0], &x = *in[1];
    const int64_t B = x.rows(), C = x.cols();
    for (int64_t i = 0; i < B; ++i) {
      const float *xr = x.f() + i * C, *yr = y.f() + i * C, *pr = p_.f() + i * C;
      float* o = din[1]->f() + i * C;
      const float gi = g.f()[i];
      float ysum = 0.f, s = 0.f, dot = 0.f;
      for (int64_t j = 0; j < C; ++j) ysum += yr[j];
      if (!logits_) {
        for (int64_t j = 0; j < C; ++j) s += xr[j];
        // dL/dq_j = -y_j / q_j inside the clip; dq_j/dp_k = (delta_jk - q_j) / s with q = p / s
        for (int64_t j = 0; j < C; ++j) {
          const float q = xr[j] / s;
          const float dq = (q > kEps && q < 1.f - kEps) ? -yr[j] / pr[j] : 0.f;
          dot += dq * q;
        }
      }
      for (int64_t j = 0; j < C; ++j) {
        float v;
        if (logits_) {
          v = (pr[j] * ysum - yr[j]) * gi;
        } else {
          const float q = xr[j] / s;
          const float dq = (q > kEps && q < 1.f - kEps) ? -yr[j] / pr[j] : 0.f;
          v = (dq - dot) / s * gi;
        }
        o[j] = acc[1] ? o[j] + v : v;
      }
    }
  }
};

// mean((y_pred - y_true)^2, axis=-1), as keras.losses.mean_squared_error.
struct SquaredError final : Op {
  const char* name() const override { return "MeanSquaredError"; }
  int arity() const override { return 2; }
  OpPtr clone() const override { return std::make_shared<SquaredError>(); }
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
  void forward(const Tensor* const* in, Tensor& out) override {
    const int64_t B = in[1]->rows(), C = in[1]->cols();
    const float *y = in[0]->f(), *p = in[1]->f();
    for (int64_t i = 0; i < B; ++i) {
      float s = 0.f;
      for (int64_t j = 0; j < C; ++j) {
        const float e = p[i * C + j] - y[i * C + j];
        s += e * e;
      }
      out.f()[i] = s / float(C);
    }
  }
  void backward(const Tensor* const* in, const Tensor&, const Tensor& g, Tensor* const* din, const bool* acc) override {
    const int64_t B = in[1]->rows(), C = in[1]->cols();
    const float *y = in[0]->f(), *p = in[1]->f();
    for (int k = 0; k < 2; ++k) {
      if (!din[k]) continue;
      const float sign = k == 1 ? 1.f : -1.f;
      float* o = din[k]->f();
      for (int64_t i = 0; i < B; ++i) {
        const float gi = g.f()[i] * 2.f / float(C) * sign;
        for (int64_t j = 0; j < C; ++j) {
          const float v = gi * (p[i * C + j] - y[i * C + j]);
          o[i * C + j] = acc[k] ? o[i * C + j] + v : v;
        }
      }
    }
  }
};

}  // namespace

OpPtr make_sparse_crossentropy(bool from_logits) { return std::make_shared<SparseCrossentropy>(from_logits); }
OpPtr make_crossentropy(bool from_logits) { return std::make_shared<Crossentropy>(from_logits); }
OpPtr make_squared_error() { return std::make_shared<SquaredError>(); }

}  // namespace fastfit
