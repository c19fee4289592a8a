// Layer normalization over rows, fused: statistics, normalization, scale and shift in one pass per row.
#include <cmath>
#include <cstring>

#include "kernels/cpu/kernels.h"

namespace fastfit::cpu {

FF_MULTIVERSION void layer_norm_forward(const float* x, int64_t M, int64_t N, const float* gamma, const float* beta,
                                        float eps, float* y, float* stats) {
  for (int64_t i = 0; i < M; ++i) {
    const float* __restrict r = x + i * N;
    float* __restrict o = y + i * N;
    double s = 0, v = 0;  // two passes in float64: the variance without cancellation
    for (int64_t j = 0; j < N; ++j) s += r[j];
    const double mean = N ? s / double(N) : 0.0;
    for (int64_t j = 0; j < N; ++j) v += (r[j] - mean) * (r[j] - mean);
    const float m = float(mean), rstd = 1.f / std::sqrt(float(N ? v / double(N) : 0.0) + eps);
    for (int64_t j = 0; j < N; ++j)
      o[j] = (r[j] - m) * rstd * (gamma ? gamma[j] : 1.f) + (beta ? beta[j] : 0.f);
    stats[2 * i] = m;
    stats[2 * i + 1] = rstd;
  }
}

// With h = (x - mean) * rstd and g = dy * gamma: dx = rstd * (g - mean(g) - h * mean(g * h)),
// dgamma = sum over rows of dy * h, dbeta = sum over rows of dy.
FF_MULTIVERSION void layer_norm_backward(const float* x, const float* stats, const float* gamma, const float* dy,
                                         int64_t M, int64_t N, float* dx, bool acc_x, float* dgamma, bool acc_gamma,
                                         float* dbeta, bool acc_beta) {
  if (dgamma && !acc_gamma) std::memset(dgamma, 0, sizeof(float) * N);
  if (dbeta && !acc_beta) std::memset(dbeta, 0, sizeof(float) * N);
  for (int64_t i = 0; i < M; ++i) {
    const float* __restrict r = x + i * N;
    const float* __restrict d = dy + i * N;
    const float m = stats[2 * i], rstd = stats[2 * i + 1];
    double sg = 0, sgh = 0;
    for (int64_t j = 0; j < N; ++j) {
      const float h = (r[j] - m) * rstd, g = d[j] * (gamma ? gamma[j] : 1.f);
      sg += g;
      sgh += g * h;
      if (dgamma) dgamma[j] += d[j] * h;
      if (dbeta) dbeta[j] += d[j];
    }
    if (!dx) continue;
    float* __restrict o = dx + i * N;
    const float mg = float(sg / double(N)), mgh = float(sgh / double(N));
    for (int64_t j = 0; j < N; ++j) {
      const float h = (r[j] - m) * rstd, g = d[j] * (gamma ? gamma[j] : 1.f);
      const float v = rstd * (g - mg - h * mgh);
      o[j] = acc_x ? o[j] + v : v;
    }
  }
}

}  // namespace fastfit::cpu
