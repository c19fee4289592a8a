// Comparisons with numpy broadcasting (0 or 1 in float32: fastfit's bool) and dtype casts.
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
