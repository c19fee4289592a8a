// Binary ops with numpy broadcasting: add, subtract, multiply, divide, maximum, minimum, pow, forward
// and backward; comparisons (forward only).
#include <cmath>

#include "kernels/cpu/broadcast.h"

namespace fastfit::cpu {
namespace {

template <class F>
inline void map(const BroadcastWalk& w, bool same_shapes, const float* __restrict a, const float* __restrict b,
                float* __restrict o, F op) {
  if (same_shapes) {  // no broadcasting: a plain loop that vectorises
    for (int64_t k = 0, n = w.out.numel(); k < n; ++k) o[k] = op(a[k], b[k]);
    return;
  }
  w.run([&](int64_t k, int64_t i, int64_t j) { o[k] = op(a[i], b[j]); });
}

}  // namespace

FF_MULTIVERSION_NOFMA void binary_forward(Binary kind, const float* a, const Shape& a_shape, const float* b,
                                          const Shape& b_shape, const Shape& out_shape, float* out) {
  const BroadcastWalk w(a_shape, b_shape, out_shape);
  const bool same = a_shape == out_shape && b_shape == out_shape;
  switch (kind) {
    case Binary::add: map(w, same, a, b, out, [](float x, float y) { return x + y; }); break;
    case Binary::sub: map(w, same, a, b, out, [](float x, float y) { return x - y; }); break;
    case Binary::mul: map(w, same, a, b, out, [](float x, float y) { return x * y; }); break;
    case Binary::div: map(w, same, a, b, out, [](float x, float y) { return x / y; }); break;
    case Binary::max: map(w, same, a, b, out, [](float x, float y) { return x >= y ? x : y; }); break;
    case Binary::min: map(w, same, a, b, out, [](float x, float y) { return x <= y ? x : y; }); break;
    case Binary::pow: map(w, same, a, b, out, [](float x, float y) { return std::pow(x, y); }); break;
  }
}

// Each input's gradient sums the output gradient over the axes it was broadcast along. maximum and
// minimum send it to the chosen input, to `a` on ties (TensorFlow's rule).
FF_MULTIVERSION_NOFMA void binary_backward(Binary kind, const float* a, const Shape& a_shape, const float* b,
                                           const Shape& b_shape, const float* dout, const Shape& out_shape, float* da,
                                           bool acc_a, float* db, bool acc_b) {
  const BroadcastWalk w(a_shape, b_shape, out_shape);
  if (da && !acc_a) fill(da, a_shape.numel(), 0.f);
  if (db && !acc_b) fill(db, b_shape.numel(), 0.f);
  w.run([&](int64_t k, int64_t i, int64_t j) {
    float ga, gb;
    switch (kind) {
      case Binary::add: ga = dout[k]; gb = dout[k]; break;
      case Binary::sub: ga = dout[k]; gb = -dout[k]; break;
      case Binary::mul: ga = dout[k] * b[j]; gb = dout[k] * a[i]; break;
      case Binary::div: ga = dout[k] / b[j]; gb = -dout[k] * a[i] / (b[j] * b[j]); break;
      case Binary::max: ga = a[i] >= b[j] ? dout[k] : 0.f; gb = dout[k] - ga; break;
      case Binary::min: ga = a[i] <= b[j] ? dout[k] : 0.f; gb = dout[k] - ga; break;
      default: {  // pow: d/da = b a^(b-1); d/db = a^b log a, taken as 0 where a <= 0 (as TensorFlow)
        const float p = std::pow(a[i], b[j]);
        ga = dout[k] * b[j] * std::pow(a[i], b[j] - 1.f);
        gb = a[i] > 0.f ? dout[k] * p * std::log(a[i]) : 0.f;
        break;
      }
    }
    if (da) da[i] += ga;
    if (db) db[j] += gb;
  });
}

}  // namespace fastfit::cpu
