// Binary ops with numpy broadcasting: add, subtract, multiply, divide, maximum, minimum, forward and backward.
#include "kernels/cpu/kernels.h"

namespace fastfit::cpu {
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
  // f(output offset, a offset, b offset) for every output element, in order.
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
      default: ga = a[i] <= b[j] ? dout[k] : 0.f; gb = dout[k] - ga; break;  // min
    }
    if (da) da[i] += ga;
    if (db) db[j] += gb;
  });
}

}  // namespace fastfit::cpu
