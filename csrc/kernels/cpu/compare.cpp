// Comparisons with numpy broadcasting (0 or 1 in float32: fastfit's bool), where, and dtype casts.
#include <algorithm>

#include "kernels/cpu/broadcast.h"

namespace fastfit::cpu {
namespace {

template <class F>
void compare(const BroadcastWalk& w, const float* a, const float* b, float* out, F f) {
  w.run([&](int64_t k, int64_t i, int64_t j) { out[k] = f(a[i], b[j]) ? 1.f : 0.f; });
}

}  // namespace

void compare_forward(Compare kind, const float* a, const Shape& a_shape, const float* b, const Shape& b_shape,
                     const Shape& out_shape, float* out) {
  const BroadcastWalk w(a_shape, b_shape, out_shape);
  switch (kind) {
    case Compare::equal: compare(w, a, b, out, [](float x, float y) { return x == y; }); break;
    case Compare::not_equal: compare(w, a, b, out, [](float x, float y) { return x != y; }); break;
    case Compare::greater: compare(w, a, b, out, [](float x, float y) { return x > y; }); break;
    case Compare::greater_equal: compare(w, a, b, out, [](float x, float y) { return x >= y; }); break;
    case Compare::less: compare(w, a, b, out, [](float x, float y) { return x < y; }); break;
    case Compare::less_equal: compare(w, a, b, out, [](float x, float y) { return x <= y; }); break;
  }
}

namespace {
// Per output element (in order), the offsets into `n` inputs broadcast to `out`.
template <int N>
struct BroadcastWalkN {
  Shape out;
  int64_t stride[N][Shape::kMaxRank] = {};
  BroadcastWalkN(const Shape* const* in, const Shape& o) : out(o) {
    for (int k = 0; k < N; ++k) {
      int64_t m = 1;
      for (int i = o.rank - 1; i >= 0; --i) {
        const int ii = i - (o.rank - in[k]->rank);
        const int64_t d = ii >= 0 ? in[k]->d[ii] : 1;
        stride[k][i] = d == 1 ? 0 : m;
        m *= d;
      }
    }
  }
  template <class F>
  void run(F&& f) const {
    int64_t idx[Shape::kMaxRank] = {0}, off[N] = {0};
    const int64_t n = out.numel();
    for (int64_t e = 0; e < n; ++e) {
      f(e, off);
      for (int i = out.rank - 1; i >= 0; --i) {  // odometer increment
        if (++idx[i] < out.d[i]) {
          for (int k = 0; k < N; ++k) off[k] += stride[k][i];
          break;
        }
        for (int k = 0; k < N; ++k) off[k] -= stride[k][i] * (out.d[i] - 1);
        idx[i] = 0;
      }
    }
  }
};
}  // namespace

// Shapes that need no broadcasting (the usual case) take plain loops, which vectorise.
FF_MULTIVERSION void select_forward(const float* c, const Shape& c_shape, const float* x, const Shape& x_shape,
                                    const float* y, const Shape& y_shape, const Shape& out_shape, float* out) {
  if (c_shape == out_shape && x_shape == out_shape && y_shape == out_shape) {
    for (int64_t e = 0, n = out_shape.numel(); e < n; ++e) out[e] = c[e] != 0.f ? x[e] : y[e];
    return;
  }
  const Shape* in[3] = {&c_shape, &x_shape, &y_shape};
  BroadcastWalkN<3>(in, out_shape).run([&](int64_t e, const int64_t* o) { out[e] = c[o[0]] != 0.f ? x[o[1]] : y[o[2]]; });
}

FF_MULTIVERSION void select_backward(const float* c, const Shape& c_shape, const float* g, const Shape& out_shape,
                                     bool take_true, float* d, const Shape& d_shape, bool acc) {
  if (c_shape == out_shape && d_shape == out_shape) {
    for (int64_t e = 0, n = out_shape.numel(); e < n; ++e) {
      const float taken = (c[e] != 0.f) == take_true ? g[e] : 0.f;
      d[e] = (acc ? d[e] : 0.f) + taken;  // as the broadcast path: zeros, then the sum
    }
    return;
  }
  if (!acc) std::fill(d, d + d_shape.numel(), 0.f);
  const Shape* in[2] = {&c_shape, &d_shape};
  BroadcastWalkN<2>(in, out_shape).run([&](int64_t e, const int64_t* o) {
    if ((c[o[0]] != 0.f) == take_true) d[o[1]] += g[e];
  });
}

FF_MULTIVERSION void cast_f32_i32(const float* __restrict x, int64_t n, int32_t* __restrict y) {
  for (int64_t i = 0; i < n; ++i) y[i] = int32_t(x[i]);
}

FF_MULTIVERSION void cast_i32_f32(const int32_t* __restrict x, int64_t n, float* __restrict y) {
  for (int64_t i = 0; i < n; ++i) y[i] = float(x[i]);
}

FF_MULTIVERSION void cast_to_bool(const float* __restrict x, int64_t n, float* __restrict y) {
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] != 0.f ? 1.f : 0.f;
}

}  // namespace fastfit::cpu
