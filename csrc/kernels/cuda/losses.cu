// Softmax and the per-sample losses (cpu/losses.cpp): one thread per row (or element), the CPU's
// formulas in its order.
#include "kernels/cuda/device/losses.cuh"
#include "kernels/cuda/launch.cuh"

namespace fastfit::cuda {
using dev::bce;
using dev::bce_grad;
using dev::clip;
using dev::kEps;
using dev::softmax_row;

void softmax_forward(const float* x, int64_t M, int64_t N, float* y) {
  each("softmax_forward", M, [=] __device__(int64_t i) { softmax_row(x + i * N, N, y + i * N); });
}

void softmax_backward(const float* y, const float* dy, int64_t M, int64_t N, float* dx, bool acc) {
  each("softmax_backward", M, [=] __device__(int64_t i) {
    const float *yr = y + i * N, *gr = dy + i * N;
    float* o = dx + i * N;
    float dot = 0.f;
    for (int64_t j = 0; j < N; ++j) dot += yr[j] * gr[j];
    for (int64_t j = 0; j < N; ++j) {
      const float v = yr[j] * (gr[j] - dot);
      o[j] = acc ? o[j] + v : v;
    }
  });
}

int64_t sparse_crossentropy_forward(Labels labels, int64_t ignore, const float* x, int64_t B, int64_t C,
                                    bool from_logits, float* p, float* loss) {
  unsigned long long* bad = check_record("sparse_crossentropy_forward", C);
  const void* data = labels.data;
  const bool is_int = labels.is_int;
  each("sparse_crossentropy_forward", B, [=] __device__(int64_t i) {
    const int32_t t = dev::label_at(data, is_int, i);
    if (t == ignore) {
      loss[i] = 0.f;
      return;
    }
    if (t < 0 || t >= C) {
      dev::record_bad(bad, i, t);
      loss[i] = 0.f;
      return;
    }
    const float* xr = x + i * C;
    float* pr = p + i * C;
    if (from_logits) {
      loss[i] = softmax_row(xr, C, pr) - xr[t];
    } else {  // Keras: log(clip(p)) then softmax-crossentropy on it: -log(pc_t) + log(sum pc)
      float s = 0.f;
      for (int64_t j = 0; j < C; ++j) s += (pr[j] = clip(xr[j]));
      loss[i] = logf(s) - logf(pr[t]);
    }
  });
  return first_bad(bad);
}

void sparse_crossentropy_backward(Labels labels, int64_t ignore, const float* x, const float* p, const float* dloss,
                                  int64_t B, int64_t C, bool from_logits, float* dx, bool acc) {
  const void* data = labels.data;
  const bool is_int = labels.is_int;
  each("sparse_crossentropy_backward", B, [=] __device__(int64_t i) {
    const int32_t t = dev::label_at(data, is_int, i);
    const float gi = t == ignore ? 0.f : dloss[i];
    const float *pr = p + i * C, *xr = x + i * C;
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
  });
}

void crossentropy_forward(const float* y, const float* x, int64_t B, int64_t C, bool from_logits, float* p,
                          float* loss) {
  each("crossentropy_forward", B, [=] __device__(int64_t i) {
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
        pr[j] = clip(xr[j] / s);
        l -= yr[j] * logf(pr[j]);
      }
    }
    loss[i] = l;
  });
}

void crossentropy_backward(const float* y, const float* x, const float* p, const float* dloss, int64_t B, int64_t C,
                           bool from_logits, float* dx, bool acc) {
  each("crossentropy_backward", B, [=] __device__(int64_t i) {
    const float *xr = x + i * C, *yr = y + i * C, *pr = p + i * C;
    float* o = dx + i * C;
    const float gi = dloss[i];
    float ysum = 0.f, s = 0.f, dot = 0.f;
    for (int64_t j = 0; j < C; ++j) ysum += yr[j];
    if (!from_logits) {
      for (int64_t j = 0; j < C; ++j) s += xr[j];
      for (int64_t j = 0; j < C; ++j) {  // dL/dq_j inside the clip; dq_j/dp_k = (delta_jk - q_j) / s
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
  });
}

void crossentropy_target_backward(const float* x, const float* p, const float* dloss, int64_t B, int64_t C,
                                  bool from_logits, float* dy, bool acc) {
  each("crossentropy_target_backward", B, [=] __device__(int64_t i) {
    const float *xr = x + i * C, *pr = p + i * C;
    float* o = dy + i * C;
    float lse = 0.f;
    if (from_logits) {  // logsumexp(x), from the max for range
      float m = xr[0];
      for (int64_t j = 1; j < C; ++j) m = m < xr[j] ? xr[j] : m;
      float s = 0.f;
      for (int64_t j = 0; j < C; ++j) s += expf(xr[j] - m);
      lse = m + logf(s);
    }
    for (int64_t j = 0; j < C; ++j) {
      const float v = dloss[i] * (from_logits ? lse - xr[j] : -logf(pr[j]));
      o[j] = acc ? o[j] + v : v;
    }
  });
}

void squared_error_forward(const float* y, const float* p, int64_t B, int64_t C, float* loss) {
  each("squared_error_forward", B, [=] __device__(int64_t i) {
    float s = 0.f;
    for (int64_t j = 0; j < C; ++j) {
      const float e = p[i * C + j] - y[i * C + j];
      s += e * e;
    }
    loss[i] = s / float(C);
  });
}

void squared_error_backward(const float* y, const float* p, const float* dloss, int64_t B, int64_t C, float sign,
                            float* d, bool acc) {
  store("squared_error_backward", d, B * C, acc, [=] __device__(int64_t e) {
    const int64_t i = e / C;
    const float gi = dloss[i] * 2.f / float(C) * sign;
    return gi * (p[e] - y[e]);
  });
}

void binary_crossentropy_forward(const float* y, const float* x, int64_t n, bool from_logits, float* loss) {
  each("binary_crossentropy_forward", n, [=] __device__(int64_t i) { loss[i] = bce(y[i], x[i], from_logits); });
}

void binary_crossentropy_backward(const float* y, const float* x, const float* dloss, int64_t n, bool from_logits,
                                  float* dx, bool acc) {
  store("binary_crossentropy_backward", dx, n, acc,
        [=] __device__(int64_t i) { return dloss[i] * bce_grad(y[i], x[i], from_logits); });
}

void binary_crossentropy_target_backward(const float* x, const float* dloss, int64_t n, bool from_logits, float* dy,
                                         bool acc) {
  store("binary_crossentropy_target_backward", dy, n, acc, [=] __device__(int64_t i) {
    float d;
    if (from_logits) {
      d = -x[i];
    } else {
      const float q = clip(x[i]);
      d = -(logf(q) - logf(1.f - q));
    }
    return dloss[i] * d;
  });
}

}  // namespace fastfit::cuda
