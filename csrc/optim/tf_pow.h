// tf_pow: x^y for float32 as TensorFlow's CPU kernel computes it elementwise, bit for bit.
//
// TensorFlow runs tf.pow through Eigen: on 8-float AVX packets (its wheels are built without FMA)
// Eigen's generic_pow, exp2(y * log2(x)) in double-word arithmetic, faithful but not correctly
// rounded; on the last size % 8 elements of a tensor, std::pow. This is that packet path for one
// lane, operation for operation (Eigen/src/Core/arch/Default/GenericPacketMathFunctions.h), for
// x >= 0 (Ftrl raises accumulators to a power); include it only where FMA contraction is off.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>

// Inlined into the caller's loop, which then vectorises (each lane computes what Eigen's lane does).
#define FF_INLINE inline __attribute__((always_inline))

namespace fastfit::tf_pow {

FF_INLINE float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
FF_INLINE uint32_t to_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

// hi + lo = x + y exactly, for |x| >= |y|
FF_INLINE void fast_twosum(float x, float y, float& hi, float& lo) {
  hi = x + y;
  lo = y - (hi - x);
}
FF_INLINE void fast_twosum(float x_hi, float x_lo, float y_hi, float y_lo, float& hi, float& lo) {
  float r_hi, r_lo;
  fast_twosum(x_hi, y_hi, r_hi, r_lo);
  fast_twosum(r_hi, (y_lo + r_lo) + x_lo, hi, lo);
}
// hi + lo = x * y exactly: Dekker's product on Veltkamp's halves (no FMA)
FF_INLINE void twoprod(float x, float y, float& hi, float& lo) {
  auto split = [](float v, float& v_hi, float& v_lo) {
    const float gamma = 4097.f * v;
    v_hi = (v - gamma) + gamma;
    v_lo = v - v_hi;
  };
  float x_hi, x_lo, y_hi, y_lo;
  split(x, x_hi, x_lo);
  split(y, y_hi, y_lo);
  hi = x * y;
  lo = x_hi * y_hi + -hi;
  lo = x_hi * y_lo + lo;
  lo = x_lo * y_hi + lo;
  lo = x_lo * y_lo + lo;
}
// (x_hi + x_lo) * y as a double word
FF_INLINE void twoprod(float x_hi, float x_lo, float y, float& hi, float& lo) {
  float c_hi, c_lo, t_hi, t_lo;
  twoprod(x_hi, y, c_hi, c_lo);
  fast_twosum(c_hi, x_lo * y, t_hi, t_lo);
  fast_twosum(t_hi, t_lo + c_lo, hi, lo);
}
// a * 2^e for integral e, the exponent field clamped to [0, 255]
FF_INLINE float ldexp_fast(float a, float e) {
  return a * from_bits(uint32_t(int32_t(std::min(std::max(e + 127.f, 0.f), 255.f))) << 23);
}
// Eigen's pround: halves away from zero
FF_INLINE float round_half_away(float a) {
  const float below_half = from_bits(0x3EFFFFFFu);
  return std::trunc(((to_bits(a) >> 31) ? -below_half : below_half) + a);
}
// pexp_float for |x| <= 87 (Cephes: 2^m * polynomial(r))
FF_INLINE float exp_small(float x) {
  const float m = std::floor(x * 1.44269504088896341f + 0.5f);
  float r = m * -0.693359375f + x;
  r = m * 2.12194440e-4f + r;
  const float r2 = r * r;
  float even = r2 * 1.37449637986719608306884765625e-3f + 4.166965186595916748046875e-2f;
  const float odd = r2 * 8.36894474923610687255859375e-3f + 0.16666518151760101318359375f;
  even = r2 * even + 0.49999988079071044921875f;
  float y = r * odd + even;
  y = r2 * y + (r + 1.f);
  return std::max(x, ldexp_fast(y, m));
}
// accurate_log2<float> of z in [1/sqrt(2), sqrt(2)], as a double word
FF_INLINE void log2_near_one(float z, float& hi, float& lo) {
  constexpr double kC0 = 1.442695041742110273474963832995854318141937255859375e+00;
  constexpr double kC1 = -7.2134751588268664068692714863573201000690460205078125e-01;
  constexpr float c0_hi = float(kC0), c0_lo = float(kC0 - double(c0_hi));
  constexpr float c1_hi = float(kC1), c1_lo = float(kC1 - double(c1_hi));
  constexpr float c[] = {9.7010828554630279541015625e-02f,  -1.6896486282348632812500000e-01f,
                         1.7200836539268493652343750e-01f,  -1.7892272770404815673828125e-01f,
                         2.0505344867706298828125000e-01f,  -2.4046677350997924804687500e-01f,
                         2.8857553005218505859375000e-01f,  -3.6067414283752441406250000e-01f,
                         4.8089790344238281250000000e-01f};
  const float x = z - 1.f;
  float p = c[0];
#pragma GCC unroll 8
  for (int i = 1; i < 9; ++i) p = p * x + c[i];
  float p_hi, p_lo;
  twoprod(x, p, p_hi, p_lo);
  fast_twosum(c1_hi, c1_lo, p_hi, p_lo, p_hi, p_lo);
  twoprod(p_hi, p_lo, x, p_hi, p_lo);
  fast_twosum(c0_hi, c0_lo, p_hi, p_lo, p_hi, p_lo);
  twoprod(p_hi, p_lo, x, hi, lo);
}

// x^y for x >= 0 (or NaN), with denormals flushed as TensorFlow flushes them.
FF_INLINE float packet_pow(float x, float y) {
  // x = m * 2^e with m in [1/sqrt(2), sqrt(2))
  float e = float(to_bits(x) >> 23) + -126.f;
  float m = from_bits((to_bits(x) & ~0x7f800000u) | to_bits(0.5f));
  const bool low = m < 0.70710678118654752440f;  // (selects, not branches: the caller's loop vectorises)
  m = low ? 2.f * m : m;
  e = low ? e - 1.f : e;
  float r_hi, r_lo, f1_hi, f1_lo, f2_hi, f2_lo, f_hi, f_lo;
  log2_near_one(m, r_hi, r_lo);
  twoprod(e, y, f1_hi, f1_lo);  // y * log2(x) = y*e + y*log2(m), as a double word
  twoprod(r_hi, r_lo, y, f2_hi, f2_lo);
  fast_twosum(f1_hi, f1_lo, f2_hi, f2_lo, f_hi, f_lo);
  float n = round_half_away(f_hi), r = f_hi - n;  // 2^(n + r): r in [-1/2, 1/2]
  r = r + f_lo;
  const float n_r = round_half_away(r);
  r = r - n_r;
  n = n + n_r;
  float p_hi, p_lo;  // generic_exp2(r) = exp(r * ln 2)
  twoprod(float(0.693147180559945309417232121458176568), r, p_hi, p_lo);
  float out = ldexp_fast(exp_small(p_hi) * (1.f + p_lo), n);
  constexpr float inf = std::numeric_limits<float>::infinity();
  out = x == 0.f ? (y < 0.f ? inf : 0.f) : out;
  out = x == inf ? (y < 0.f ? 0.f : inf) : out;
  out = std::isnan(x) | std::isnan(y) ? std::numeric_limits<float>::quiet_NaN() : out;
  out = (x == 1.f) | (y == 0.f) ? 1.f : out;
  return y == 1.f ? x : out;
}

}  // namespace fastfit::tf_pow

#undef FF_INLINE
