// Layer normalization over rows (cpu/layer_norm.cpp): statistics in float64, one thread per row; the
// scale and shift gradients one thread per column, rows in order.
#include "kernels/cuda/launch.cuh"

namespace fastfit::cuda {

void layer_norm_forward(const float* x, int64_t M, int64_t N, const float* gamma, const float* beta, float eps,
                        float* y, float* stats) {
  each("layer_norm_forward", M, [=] __device__(int64_t i) {
    const float* r = x + i * N;
    float* o = y + i * N;
    double s = 0, v = 0;  // two passes: the variance without cancellation
    for (int64_t j = 0; j < N; ++j) s += r[j];
    const double mean = N ? s / double(N) : 0.0;
    for (int64_t j = 0; j < N; ++j) v += (r[j] - mean) * (r[j] - mean);
    const float m = float(mean), rstd = 1.f / sqrtf(float(N ? v / double(N) : 0.0) + eps);
    for (int64_t j = 0; j < N; ++j) o[j] = (r[j] - m) * rstd * (gamma ? gamma[j] : 1.f) + (beta ? beta[j] : 0.f);
    stats[2 * i] = m;
    stats[2 * i + 1] = rstd;
  });
}

// dx = rstd * (g - mean(g) - h * mean(g * h)) with h = (x - mean) * rstd, g = dy * gamma;
// dgamma = sum over rows of dy * h, dbeta = sum over rows of dy.
void layer_norm_backward(const float* x, const float* stats, const float* gamma, const float* dy, int64_t M, int64_t N,
                         float* dx, bool acc_x, float* dgamma, bool acc_gamma, float* dbeta, bool acc_beta) {
  if (dx)
    each("layer_norm_backward", M, [=] __device__(int64_t i) {
      const float *r = x + i * N, *d = dy + i * N;
      const float m = stats[2 * i], rstd = stats[2 * i + 1];
      double sg = 0, sgh = 0;
      for (int64_t j = 0; j < N; ++j) {
        const float h = (r[j] - m) * rstd, g = d[j] * (gamma ? gamma[j] : 1.f);
        sg += g;
        sgh += g * h;
      }
      float* o = dx + i * N;
      const float mg = float(sg / double(N)), mgh = float(sgh / double(N));
      for (int64_t j = 0; j < N; ++j) {
        const float h = (r[j] - m) * rstd, g = d[j] * (gamma ? gamma[j] : 1.f);
        const float v = rstd * (g - mg - h * mgh);
        o[j] = acc_x ? o[j] + v : v;
      }
    });
  if (dgamma || dbeta)
    each("layer_norm_backward", N, [=] __device__(int64_t j) {
      float sg = dgamma && acc_gamma ? dgamma[j] : 0.f, sb = dbeta && acc_beta ? dbeta[j] : 0.f;
      for (int64_t i = 0; i < M; ++i) {
        const float d = dy[i * N + j];
        sg += d * ((x[i * N + j] - stats[2 * i]) * stats[2 * i + 1]);
        sb += d;
      }
      if (dgamma) dgamma[j] = sg;
      if (dbeta) dbeta[j] = sb;
    });
}

}  // namespace fastfit::cuda
