// Binary ops with numpy broadcasting: add, subtract, multiply, divide, maximum, minimum, pow, forward
// and backward; comparisons (forward only). Rows of the broadcast walk run as loops whose input steps
// (1, or 0 for a broadcast input) are compile-time constants, so they vectorise.
#include <cmath>
#include <type_traits>

#include "kernels/cpu/broadcast.h"

namespace fastfit::cpu {
namespace {

using One = std::integral_constant<int64_t, 1>;
using Zero = std::integral_constant<int64_t, 0>;

// body(a step, b step) with the row's steps as compile-time constants.
template <class F>
inline void with_steps(int64_t da, int64_t db, F&& body) {
  if (da && db) body(One{}, One{});
  else if (da) body(One{}, Zero{});
  else if (db) body(Zero{}, One{});
  else body(Zero{}, Zero{});
}

template <class F>
inline void map(const BroadcastWalk& w, const float* __restrict a, const float* __restrict b, float* __restrict o,
                F op) {
  w.rows([&](int64_t k, int64_t i, int64_t j, int64_t n, int64_t da, int64_t db) {
    with_steps(da, db, [&](auto sa, auto sb) {
      for (int64_t t = 0; t < n; ++t) o[k + t] = op(a[i + t * sa], b[j + t * sb]);
    });
  });
}

// dst[t * step] += g(t) for t in [0, n): a broadcast input (step 0) adds the row into one element, in
// order, as the element-by-element walk did.
template <class Step, class G>
inline void add_row(float* __restrict dst, Step step, int64_t n, G g) {
  if (step) {
    for (int64_t t = 0; t < n; ++t) dst[t] += g(t);
  } else {
    float s = *dst;
    for (int64_t t = 0; t < n; ++t) s += g(t);
    *dst = s;
  }
}

// da (+)= ga(dout, a, b), db (+)= gb(dout, a, b), each summed over the axes its input was broadcast along.
template <class GA, class GB>
inline void backward(const BroadcastWalk& w, const float* __restrict a, const float* __restrict b,
                     const float* __restrict dout, float* da, float* db, GA ga, GB gb) {
  w.rows([&](int64_t k, int64_t i, int64_t j, int64_t n, int64_t sa_, int64_t sb_) {
    with_steps(sa_, sb_, [&](auto sa, auto sb) {
      if (da) add_row(da + i, sa, n, [&](int64_t t) { return ga(dout[k + t], a[i + t * sa], b[j + t * sb]); });
      if (db) add_row(db + j, sb, n, [&](int64_t t) { return gb(dout[k + t], a[i + t * sa], b[j + t * sb]); });
    });
  });
}

}  // namespace

FF_MULTIVERSION_NOFMA void binary_forward(Binary kind, const float* a, const Shape& a_shape, const float* b,
                                          const Shape& b_shape, const Shape& out_shape, float* out) {
  const BroadcastWalk w(a_shape, b_shape, out_shape);
  switch (kind) {
    case Binary::add: map(w, a, b, out, [](float x, float y) { return x + y; }); break;
    case Binary::sub: map(w, a, b, out, [](float x, float y) { return x - y; }); break;
    case Binary::mul: map(w, a, b, out, [](float x, float y) { return x * y; }); break;
    case Binary::div: map(w, a, b, out, [](float x, float y) { return x / y; }); break;
    case Binary::max: map(w, a, b, out, [](float x, float y) { return x >= y ? x : y; }); break;
    case Binary::min: map(w, a, b, out, [](float x, float y) { return x <= y ? x : y; }); break;
    case Binary::pow: map(w, a, b, out, [](float x, float y) { return std::pow(x, y); }); break;
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
  switch (kind) {
    case Binary::add:
      backward(w, a, b, dout, da, db, [](float g, float, float) { return g; }, [](float g, float, float) { return g; });
      break;
    case Binary::sub:
      backward(w, a, b, dout, da, db, [](float g, float, float) { return g; },
               [](float g, float, float) { return -g; });
      break;
    case Binary::mul:
      backward(w, a, b, dout, da, db, [](float g, float, float y) { return g * y; },
               [](float g, float x, float) { return g * x; });
      break;
    case Binary::div:
      backward(w, a, b, dout, da, db, [](float g, float, float y) { return g / y; },
               [](float g, float x, float y) { return -g * x / (y * y); });
      break;
    case Binary::max:
      backward(w, a, b, dout, da, db, [](float g, float x, float y) { return x >= y ? g : 0.f; },
               [](float g, float x, float y) { return g - (x >= y ? g : 0.f); });
      break;
    case Binary::min:
      backward(w, a, b, dout, da, db, [](float g, float x, float y) { return x <= y ? g : 0.f; },
               [](float g, float x, float y) { return g - (x <= y ? g : 0.f); });
      break;
    case Binary::pow:  // d/da = b a^(b-1); d/db = a^b log a, taken as 0 where a <= 0 (as TensorFlow)
      backward(w, a, b, dout, da, db, [](float g, float x, float y) { return g * y * std::pow(x, y - 1.f); },
               [](float g, float x, float y) { return x > 0.f ? g * std::pow(x, y) * std::log(x) : 0.f; });
      break;
  }
}

}  // namespace fastfit::cpu
