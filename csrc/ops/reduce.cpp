// Sum and mean over a set of axes (all axes when none are given), with keepdims.
#include <algorithm>

#include "ops/op.h"

namespace fastfit {
namespace {

struct Reduce final : Op {
  ReduceKind kind_;
  std::vector<int> axes_;  // as given; normalised against the input's rank in infer
  bool keepdims_;
  std::vector<double> accum_;  // float64 accumulation, reused across steps
  Reduce(ReduceKind k, std::vector<int> axes, bool keep) : kind_(k), axes_(std::move(axes)), keepdims_(keep) {}
  const char* name() const override { return kind_ == ReduceKind::sum ? "reduce_sum" : "reduce_mean"; }
  int arity() const override { return 1; }
  OpPtr clone() const override { return std::make_shared<Reduce>(kind_, axes_, keepdims_); }
  bool rowwise(const Tensor* const* in, const bool* b) const override {
    if (!b[0]) return true;
    if (axes_.empty()) return false;
    for (int a : axes_)
      if (a == 0 || a == -in[0]->rank()) return false;
    return true;
  }
  int reduces_all() const override { return axes_.empty() && !keepdims_ ? (kind_ == ReduceKind::sum ? 1 : 2) : 0; }

  // reduced[i] for each input axis; count = number of elements folded into each output.
  void mask(const Tensor& x, bool* reduced, int64_t& count) const {
    std::fill(reduced, reduced + Shape::kMaxRank, axes_.empty());
    for (int a : axes_) {
      FF_CHECK(a >= -x.rank() && a < x.rank(), std::string(name()) + ": axis " + std::to_string(a) +
                                                   " is out of range for input of rank " + std::to_string(x.rank()));
      reduced[a < 0 ? a + x.rank() : a] = true;
    }
    count = 1;
    for (int i = 0; i < x.rank(); ++i)
      if (reduced[i]) count *= x.shape[i];
  }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    const Tensor& x = *in[0];
    expect_dtype(name(), "input_tensor", x, DType::f32);
    bool red[Shape::kMaxRank];
    int64_t count;
    mask(x, red, count);
    s = Shape{};
    for (int i = 0; i < x.rank(); ++i) {
      if (!red[i]) s.push(x.shape[i]);
      else if (keepdims_) s.push(1);
    }
    d = DType::f32;
  }
  // Calls f(input offset, output offset) for every input element.
  template <class F>
  void walk(const Tensor& x, const bool* red, F&& f) const {
    int64_t ostride[Shape::kMaxRank];
    int64_t m = 1;
    for (int i = x.rank() - 1; i >= 0; --i) {
      ostride[i] = red[i] ? 0 : m;
      if (!red[i]) m *= x.shape[i];
    }
    int64_t idx[Shape::kMaxRank] = {0}, o = 0;
    const int64_t n = x.size();
    for (int64_t k = 0; k < n; ++k) {
      f(k, o);
      for (int i = x.rank() - 1; i >= 0; --i) {
        if (++idx[i] < x.shape[i]) {
          o += ostride[i];
          break;
        }
        o -= ostride[i] * (x.shape[i] - 1);
        idx[i] = 0;
      }
    }
  }
  void forward(const Tensor* const* in, Tensor& out) override {
    const Tensor& x = *in[0];
    bool red[Shape::kMaxRank];
    int64_t count;
    mask(x, red, count);
    accum_.assign(out.size(), 0.0);
    const float* xp = x.f();
    walk(x, red, [&](int64_t k, int64_t o) { accum_[o] += xp[k]; });
    const double scale = kind_ == ReduceKind::mean ? 1.0 / double(std::max<int64_t>(count, 1)) : 1.0;
    for (int64_t i = 0; i < out.size(); ++i) out.f()[i] = float(accum_[i] * scale);
  }
  void backward(const Tensor* const* in, const Tensor&, const Tensor& g, Tensor* const* din, const bool* acc) override {
    if (!din[0]) return;
    const Tensor& x = *in[0];
    bool red[Shape::kMaxRank];
    int64_t count;
    mask(x, red, count);
    const float scale = kind_ == ReduceKind::mean ? 1.f / float(std::max<int64_t>(count, 1)) : 1.f;
    float* dx = din[0]->f();
    const float* gp = g.f();
    const bool a = acc[0];
    walk(x, red, [&](int64_t k, int64_t o) { dx[k] = (a ? dx[k] : 0.f) + gp[o] * scale; });
  }
};

}  // namespace

OpPtr make_reduce(ReduceKind kind, std::vector<int> axes, bool keepdims) {
  return std::make_shared<Reduce>(kind, std::move(axes), keepdims);
}

}  // namespace fastfit
