// Elementwise binary ops with numpy broadcasting, unary math ops. The eager/tf-math path, not the hot path.
#include <algorithm>
#include <cmath>

#include "ops/op.h"

namespace fastfit {
namespace {

// Walks an output shape and yields, per element, the offsets into two broadcast inputs.
struct BroadcastWalk {
  Shape out;
  int64_t sa[Shape::kMaxRank] = {0}, sb[Shape::kMaxRank] = {0};
  BroadcastWalk(const Shape& a, const Shape& b, const Shape& o) : out(o) {
    int64_t ma = 1, mb = 1;
    for (int i = o.rank - 1; i >= 0; --i) {
      const int ia = i - (o.rank - a.rank), ib = i - (o.rank - b.rank);
      const int64_t da = ia >= 0 ? a.d[ia] : 1, db = ib >= 0 ? b.d[ib] : 1;
      sa[i] = da == 1 ? 0 : ma;
      sb[i] = db == 1 ? 0 : mb;
      ma *= da;
      mb *= db;
    }
  }
  template <class F>
  void run(F&& f) const {
    int64_t idx[Shape::kMaxRank] = {0};
    int64_t oa = 0, ob = 0;
    const int64_t n = out.numel();
    for (int64_t k = 0; k < n; ++k) {
      f(k, oa, ob);
      for (int i = out.rank - 1; i >= 0; --i) {  // odometer increment
        if (++idx[i] < out.d[i]) {
          oa += sa[i];
          ob += sb[i];
          break;
        }
        oa -= sa[i] * (out.d[i] - 1);
        ob -= sb[i] * (out.d[i] - 1);
        idx[i] = 0;
      }
    }
  }
};

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
  Shape o;
  o.rank = std::max(a.rank, b.rank);
  for (int i = 0; i < o.rank; ++i) {
    const int ia = i - (o.rank - a.rank), ib = i - (o.rank - b.rank);
    const int64_t da = ia >= 0 ? a.d[ia] : 1, db = ib >= 0 ? b.d[ib] : 1;
    FF_CHECK(da == db || da == 1 || db == 1,
             std::string(op) + ": shapes " + a.str() + " and " + b.str() + " cannot be broadcast together");
    o.d[i] = da == 1 ? db : da;
  }
  return o;
}

struct Binary final : Op {
  BinaryKind k_;
  explicit Binary(BinaryKind k) : k_(k) {}
  const char* name() const override {
    static const char* names[] = {"add", "subtract", "multiply", "divide"};
    return names[int(k_)];
  }
  int arity() const override { return 2; }
  OpPtr clone() const override { return std::make_shared<Binary>(k_); }
  // Batched inputs span every axis of the output; the others broadcast along the batch axis.
  bool rowwise(const Tensor* const* in, const bool* b) const override {
    const int rank = std::max(in[0]->rank(), in[1]->rank());
    for (int i = 0; i < 2; ++i) {
      if (b[i] && in[i]->rank() != rank) return false;
      if (!b[i] && in[i]->rank() == rank && in[i]->shape[0] != 1) return false;
    }
    return true;
  }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    expect_dtype(name(), "x", *in[0], DType::f32);
    expect_dtype(name(), "y", *in[1], DType::f32);
    s = broadcast_shapes(name(), in[0]->shape, in[1]->shape);
    d = DType::f32;
  }
  void forward(const Tensor* const* in, Tensor& out) override {
    const float *a = in[0]->f(), *b = in[1]->f();
    float* o = out.f();
    BroadcastWalk w(in[0]->shape, in[1]->shape, out.shape);
    switch (k_) {
      case BinaryKind::add: w.run([&](int64_t k, int64_t i, int64_t j) { o[k] = a[i] + b[j]; }); break;
      case BinaryKind::sub: w.run([&](int64_t k, int64_t i, int64_t j) { o[k] = a[i] - b[j]; }); break;
      case BinaryKind::mul: w.run([&](int64_t k, int64_t i, int64_t j) { o[k] = a[i] * b[j]; }); break;
      case BinaryKind::div: w.run([&](int64_t k, int64_t i, int64_t j) { o[k] = a[i] / b[j]; }); break;
    }
  }
  void backward(const Tensor* const* in, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    const float *a = in[0]->f(), *b = in[1]->f(), *gp = g.f();
    BroadcastWalk w(in[0]->shape, in[1]->shape, out.shape);
    for (int s = 0; s < 2; ++s)
      if (din[s] && !acc[s]) din[s]->zero();
    float* da = din[0] ? din[0]->f() : nullptr;
    float* db = din[1] ? din[1]->f() : nullptr;
    w.run([&](int64_t k, int64_t i, int64_t j) {
      float ga, gb;
      switch (k_) {
        case BinaryKind::add: ga = gp[k]; gb = gp[k]; break;
        case BinaryKind::sub: ga = gp[k]; gb = -gp[k]; break;
        case BinaryKind::mul: ga = gp[k] * b[j]; gb = gp[k] * a[i]; break;
        default: ga = gp[k] / b[j]; gb = -gp[k] * a[i] / (b[j] * b[j]); break;
      }
      if (da) da[i] += ga;
      if (db) db[j] += gb;
    });
  }
};

struct Unary final : Op {
  UnaryKind k_;
  explicit Unary(UnaryKind k) : k_(k) {}
  const char* name() const override {
    static const char* names[] = {"negative", "square", "sqrt", "exp", "log", "abs"};
    return names[int(k_)];
  }
  int arity() const override { return 1; }
  OpPtr clone() const override { return std::make_shared<Unary>(k_); }
  bool rowwise(const Tensor* const*, const bool*) const override { return true; }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    expect_dtype(name(), "x", *in[0], DType::f32);
    s = in[0]->shape;
    d = DType::f32;
  }
  void forward(const Tensor* const* in, Tensor& out) override {
    const float* x = in[0]->f();
    float* y = out.f();
    const int64_t n = out.size();
    for (int64_t i = 0; i < n; ++i) {
      switch (k_) {
        case UnaryKind::neg: y[i] = -x[i]; break;
        case UnaryKind::square: y[i] = x[i] * x[i]; break;
        case UnaryKind::sqrt: y[i] = std::sqrt(x[i]); break;
        case UnaryKind::exp: y[i] = std::exp(x[i]); break;
        case UnaryKind::log: y[i] = std::log(x[i]); break;
        case UnaryKind::abs: y[i] = std::fabs(x[i]); break;
      }
    }
  }
  void backward(const Tensor* const* in, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    if (!din[0]) return;
    const float *x = in[0]->f(), *y = out.f(), *gp = g.f();
    float* dx = din[0]->f();
    const int64_t n = out.size();
    for (int64_t i = 0; i < n; ++i) {
      float v;
      switch (k_) {
        case UnaryKind::neg: v = -gp[i]; break;
        case UnaryKind::square: v = 2.f * x[i] * gp[i]; break;
        case UnaryKind::sqrt: v = gp[i] / (2.f * y[i]); break;
        case UnaryKind::exp: v = gp[i] * y[i]; break;
        case UnaryKind::log: v = gp[i] / x[i]; break;
        default: v = x[i] > 0.f ? gp[i] : (x[i] < 0.f ? -gp[i] : 0.f); break;
      }
      dx[i] = acc[0] ? dx[i] + v : v;
    }
  }
};

}  // namespace

OpPtr make_binary(BinaryKind k) { return std::make_shared<Binary>(k); }
OpPtr make_unary(UnaryKind k) { return std::make_shared<Unary>(k); }

}  // namespace fastfit
