// Softmax over rows and the per-sample losses: sparse, categorical and binary crossentropy (softmax
// fused in on logits; Keras 3's clipping on probabilities), squared error.
#include <algorithm>
#include <cmath>

#include "kernels/cpu/kernels.h"

namespace fastfit::cpu {
namespace {
constexpr float kEps = 1e-7f;  // keras.backend.epsilon()
}

FF_MULTIVERSION float softmax_row(const float* x, int64_t N, float* p) {
  float mx = x[0];
  for (int64_t j = 1; j < N; ++j) mx = std::max(mx, x[j]);
  float s = 0.f;
  for (int64_t j = 0; j < N; ++j) s += (p[j] = std::exp(x[j] - mx));
  const float inv = 1.f / s;
  for (int64_t j = 0; j < N; ++j) p[j] *= inv;
  return mx + std::log(s);
}

void softmax_forward(const float* x, int64_t M, int64_t N, float* y) {
  for (int64_t i = 0; i < M; ++i) softmax_row(x + i * N, N, y + i * N);
}

// dx = y * (dy - sum(y * dy)) per row.
FF_MULTIVERSION void softmax_backward(const float* __restrict y, const float* __restrict dy, int64_t M, int64_t N,
                                      float* __restrict dx, bool acc) {
  for (int64_t i = 0; i < M; ++i) {
    const float* yr = y + i * N;
    const float* gr = dy + i * N;
    float* o = dx + i * N;
    float dot = 0.f;
    for (int64_t j = 0; j < N; ++j) dot += yr[j] * gr[j];
    if (acc) for (int64_t j = 0; j < N; ++j) o[j] += yr[j] * (gr[j] - dot);
    else for (int64_t j = 0; j < N; ++j) o[j] = yr[j] * (gr[j] - dot);
  }
}

// Sparse: labels (B), pred (B, C).
FF_MULTIVERSION_NOFMA int64_t sparse_crossentropy_forward(Labels labels, int64_t ignore, const float* __restrict x,
                                                          int64_t B, int64_t C, bool from_logits,
                                                          float* __restrict p, float* __restrict loss) {
  for (int64_t i = 0; i < B; ++i) {
    const int32_t t = labels[i];
    if (t == ignore) {
      loss[i] = 0.f;
      continue;
    }
    if (t < 0 || t >= C) return i;
    const float* xr = x + i * C;
    float* pr = p + i * C;
    if (from_logits) {
      loss[i] = softmax_row(xr, C, pr) - xr[t];
    } else {  // Keras: log(clip(p)) then softmax-crossentropy on it, i.e. -log(pc_t) + log(sum pc)
      float s = 0.f;
      for (int64_t j = 0; j < C; ++j) s += (pr[j] = std::min(std::max(xr[j], kEps), 1.f - kEps));
      loss[i] = std::log(s) - std::log(pr[t]);
    }
  }
  return -1;
}

FF_MULTIVERSION_NOFMA void sparse_crossentropy_backward(Labels labels, int64_t ignore, const float* __restrict x,
                                                        const float* __restrict p, const float* __restrict dloss,
                                                        int64_t B, int64_t C, bool from_logits, float* __restrict dx,
                                                        bool acc) {
  for (int64_t i = 0; i < B; ++i) {
    const int32_t t = labels[i];
    const float gi = t == ignore ? 0.f : dloss[i];
    const float* pr = p + i * C;
    const float* xr = x + i * C;
    float* o = dx + i * C;
    float s = 0.f;
    if (!from_logits)
      for (int64_t j = 0; j < C; ++j) s += pr[j];
    for (int64_t j = 0; j < C; ++j) {
      float v;
      if (from_logits) {  // (p - onehot) * g
        v = (pr[j] - (j == t ? 1.f : 0.f)) * gi;
      } else {  // d/dp of log(sum pc) - log(pc_t), zero where the clip is active
        const bool inside = xr[j] > kEps && xr[j] < 1.f - kEps;
        v = inside ? (1.f / s - (j == t ? 1.f / pr[j] : 0.f)) * gi : 0.f;
      }
      o[j] = acc ? o[j] + v : v;
    }
  }
}

// Categorical: one-hot (or soft) targets y of the same shape as pred.
FF_MULTIVERSION_NOFMA void crossentropy_forward(const float* __restrict y, const float* __restrict x, int64_t B,
                                                int64_t C, bool from_logits, float* __restrict p,
                                                float* __restrict loss) {
  for (int64_t i = 0; i < B; ++i) {
    const float *xr = x + i * C, *yr = y + i * C;
    float* pr = p + i * C;
    float l = 0.f;
    if (from_logits) {
      const float lse = softmax_row(xr, C, pr);
      for (int64_t j = 0; j < C; ++j) l += yr[j] * (lse - xr[j]);
    } else {  // q = p / sum(p), clipped; -sum y log q
      float s = 0.f;
      for (int64_t j = 0; j < C; ++j) s += xr[j];
      for (int64_t j = 0; j < C; ++j) {
        pr[j] = std::min(std::max(xr[j] / s, kEps), 1.f - kEps);
        l -= yr[j] * std::log(pr[j]);
      }
    }
    loss[i] = l;
  }
}

FF_MULTIVERSION_NOFMA void crossentropy_backward(const float* __restrict y, const float* __restrict x,
                                                 const float* __restrict p, const float* __restrict dloss, int64_t B,
                                                 int64_t C, bool from_logits, float* __restrict dx, bool acc) {
  for (int64_t i = 0; i < B; ++i) {
    const float *xr = x + i * C, *yr = y + i * C, *pr = p + i * C;
    float* o = dx + i * C;
    const float gi = dloss[i];
    float ysum = 0.f, s = 0.f, dot = 0.f;
    for (int64_t j = 0; j < C; ++j) ysum += yr[j];
    if (!from_logits) {
      for (int64_t j = 0; j < C; ++j) s += xr[j];
      // dL/dq_j = -y_j / q_j inside the clip; dq_j/dp_k = (delta_jk - q_j) / s with q = p / s
      for (int64_t j = 0; j < C; ++j) {
        const float q = xr[j] / s;
        const float dq = (q > kEps && q < 1.f - kEps) ? -yr[j] / pr[j] : 0.f;
        dot += dq * q;
      }
    }
    for (int64_t j = 0; j < C; ++j) {
      float v;
      if (from_logits) {
        v = (pr[j] * ysum - yr[j]) * gi;
      } else {
        const float q = xr[j] / s;
        const float dq = (q > kEps && q < 1.f - kEps) ? -yr[j] / pr[j] : 0.f;
        v = (dq - dot) / s * gi;
      }
      o[j] = acc ? o[j] + v : v;
    }
  }
}

FF_MULTIVERSION_NOFMA void crossentropy_target_backward(const float* __restrict x, const float* __restrict p,
                                                        const float* __restrict dloss, int64_t B, int64_t C,
                                                        bool from_logits, float* __restrict dy, bool acc) {
  for (int64_t i = 0; i < B; ++i) {
    const float *xr = x + i * C, *pr = p + i * C;
    float* o = dy + i * C;
    float lse = 0.f;
    if (from_logits) {  // logsumexp(x), from the max for range
      float m = xr[0];
      for (int64_t j = 1; j < C; ++j) m = std::max(m, xr[j]);
      float s = 0.f;
      for (int64_t j = 0; j < C; ++j) s += std::exp(xr[j] - m);
      lse = m + std::log(s);
    }
    for (int64_t j = 0; j < C; ++j) {
      const float v = dloss[i] * (from_logits ? lse - xr[j] : -std::log(pr[j]));
      o[j] = acc ? o[j] + v : v;
    }
  }
}

// mean((p - y)^2) over each row of C, as keras.losses.mean_squared_error.
FF_MULTIVERSION_NOFMA void squared_error_forward(const float* __restrict y, const float* __restrict p, int64_t B,
                                                 int64_t C, float* __restrict loss) {
  for (int64_t i = 0; i < B; ++i) {
    float s = 0.f;
    for (int64_t j = 0; j < C; ++j) {
      const float e = p[i * C + j] - y[i * C + j];
      s += e * e;
    }
    loss[i] = s / float(C);
  }
}

FF_MULTIVERSION_NOFMA void squared_error_backward(const float* __restrict y, const float* __restrict p,
                                                  const float* __restrict dloss, int64_t B, int64_t C, float sign,
                                                  float* __restrict d, bool acc) {
  for (int64_t i = 0; i < B; ++i) {
    const float gi = dloss[i] * 2.f / float(C) * sign;
    for (int64_t j = 0; j < C; ++j) {
      const float v = gi * (p[i * C + j] - y[i * C + j]);
      d[i * C + j] = acc ? d[i * C + j] + v : v;
    }
  }
}

// Binary crossentropy per element; gradients w.r.t. the logits (sigmoid(x) - y) or the probabilities
// (zero outside the clip, as tf.clip_by_value's).
FF_MULTIVERSION_NOFMA void binary_crossentropy_forward(const float* __restrict y, const float* __restrict x, int64_t n,
                                                       bool from_logits, float* __restrict loss) {
  for (int64_t i = 0; i < n; ++i) loss[i] = binary_crossentropy(y[i], x[i], from_logits);
}

FF_MULTIVERSION_NOFMA void binary_crossentropy_backward(const float* __restrict y, const float* __restrict x,
                                                        const float* __restrict dloss, int64_t n, bool from_logits,
                                                        float* __restrict dx, bool acc) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = dloss[i] * binary_crossentropy_grad(y[i], x[i], from_logits);
    dx[i] = acc ? dx[i] + v : v;
  }
}

FF_MULTIVERSION_NOFMA void binary_crossentropy_target_backward(const float* __restrict x, const float* __restrict dloss,
                                                               int64_t n, bool from_logits, float* __restrict dy,
                                                               bool acc) {
  for (int64_t i = 0; i < n; ++i) {
    float d;
    if (from_logits) {
      d = -x[i];
    } else {
      const float q = std::min(std::max(x[i], 1e-7f), 1.f - 1e-7f);
      d = -(std::log(q) - std::log(1.f - q));
    }
    const float v = dloss[i] * d;
    dy[i] = acc ? dy[i] + v : v;
  }
}

}  // namespace fastfit::cpu
