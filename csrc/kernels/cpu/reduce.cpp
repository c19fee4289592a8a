// Reductions: sum/mean over a set of axes (float64 accumulation) and its gradient; column sums; the
// L1/L2 regularization penalty.
#include <cstring>
#include <vector>

#include "kernels/cpu/kernels.h"

namespace fastfit::cpu {
namespace {

constexpr int R = Shape::kMaxRank;

// x's axes as two row-major walks: the kept axes (one step per output element, in output order) and
// the reduced axes (the elements folded into one output). Size-1 axes are dropped and axes that
// continue each other in memory merged, so a full reduction is one contiguous loop.
struct Walks {
  int nk = 0, nr = 0;
  int64_t ksize[R], kstride[R], rsize[R], rstride[R];
  Walks(const Shape& s, uint32_t axes) {
    int64_t stride[R], m = 1;
    for (int i = s.rank - 1; i >= 0; --i) {
      stride[i] = m;
      m *= s.d[i];
    }
    for (int i = 0; i < s.rank; ++i) {
      if (s.d[i] == 1) continue;
      const bool reduced = axes >> i & 1;
      int& n = reduced ? nr : nk;
      int64_t* size = reduced ? rsize : ksize;
      int64_t* st = reduced ? rstride : kstride;
      if (n > 0 && st[n - 1] == s.d[i] * stride[i]) {
        size[n - 1] *= s.d[i];
        st[n - 1] = stride[i];
      } else {
        size[n] = s.d[i];
        st[n++] = stride[i];
      }
    }
  }
};

// f(offset) for each element of a row-major walk over n axes, in order.
template <class F>
inline void walk(int n, const int64_t* size, const int64_t* stride, F&& f) {
  if (n == 0) return f(0);
  for (int d = 0; d < n; ++d)
    if (size[d] == 0) return;
  int64_t idx[R] = {0}, off = 0;
  const int64_t inner = size[n - 1], step = stride[n - 1];
  for (;;) {
    for (int64_t j = 0; j < inner; ++j) f(off + j * step);
    int d = n - 2;
    for (; d >= 0; --d) {
      off += stride[d];
      if (++idx[d] < size[d]) break;
      off -= stride[d] * size[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

}  // namespace

// 8 interleaved partial sums of f(x[i]) (element i into sum i % 8), added pairwise.
template <class F>
inline double partial_sums(const float* __restrict x, int64_t n, F f) {
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  const int64_t whole = n / 8 * 8;
  for (int64_t i = 0; i < whole; i += 8)
    for (int l = 0; l < 8; ++l) s[l] += f(double(x[i + l]));
  for (int64_t i = whole; i < n; ++i) s[i % 8] += f(double(x[i]));
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

// The kept axes are one contiguous block after the reduced ones ((rows, k) reduced over the rows):
// each output then adds the rows in order, and a pass per row over the block vectorises.
static bool rows_of_block(const Walks& w) { return w.nk == 1 && w.kstride[0] == 1 && w.nr > 0; }

// out = scale * sum over the reduced axes, in double. Each output adds its elements in memory order,
// except a whole contiguous tensor, added as 8 interleaved partial sums (element i into sum i % 8,
// the sums then added pairwise): the same order on every thread count.
FF_MULTIVERSION_NOFMA void reduce_forward(const float* __restrict x, const Shape& shape, uint32_t axes, double scale,
                                          float* __restrict out) {
  const Walks w(shape, axes);
  if (w.nk == 0 && w.nr == 1 && w.rstride[0] == 1) {
    out[0] = float(partial_sums(x, w.rsize[0], [](double v) { return v; }) * scale);
    return;
  }
  if (rows_of_block(w)) {
    thread_local std::vector<double> sums;
    const int64_t k = w.ksize[0];
    sums.assign(size_t(k), 0.0);
    double* __restrict acc = sums.data();
    walk(w.nr, w.rsize, w.rstride, [&](int64_t r) {
      for (int64_t j = 0; j < k; ++j) acc[j] += x[r + j];
    });
    for (int64_t j = 0; j < k; ++j) out[j] = float(acc[j] * scale);
    return;
  }
  int64_t o = 0;
  walk(w.nk, w.ksize, w.kstride, [&](int64_t base) {
    double s = 0;
    walk(w.nr, w.rsize, w.rstride, [&](int64_t r) { s += x[base + r]; });
    out[o++] = float(s * scale);
  });
}

FF_MULTIVERSION_NOFMA void l1_l2_penalty_forward(const float* __restrict x, int64_t n, double l1, double l2,
                                                 float* __restrict out) {
  double total = 0;
  if (l1 != 0) total += l1 * partial_sums(x, n, [](double v) { return v < 0 ? -v : v; });
  if (l2 != 0) total += l2 * partial_sums(x, n, [](double v) { return v * v; });
  out[0] = float(total);
}

FF_MULTIVERSION_NOFMA void l1_l2_penalty_backward(const float* __restrict x, int64_t n, double l1, double l2,
                                                  const float* g, float* __restrict dx, bool acc) {
  const float a = float(l1) * g[0], b = 2.f * float(l2) * g[0];
  for (int64_t i = 0; i < n; ++i) {
    const float sign = x[i] > 0.f ? 1.f : x[i] < 0.f ? -1.f : 0.f;
    const float d = a * sign + b * x[i];
    dx[i] = acc ? dx[i] + d : d;
  }
}

// dx (+)= scale * dout, dout broadcast back over the reduced axes.
FF_MULTIVERSION_NOFMA void reduce_backward(const float* __restrict dout, const Shape& shape, uint32_t axes, float scale,
                                           float* __restrict dx, bool acc) {
  const Walks w(shape, axes);
  if (rows_of_block(w)) {
    const int64_t k = w.ksize[0];
    walk(w.nr, w.rsize, w.rstride, [&](int64_t r) {
      float* __restrict row = dx + r;
      if (acc) for (int64_t j = 0; j < k; ++j) row[j] += dout[j] * scale;
      else for (int64_t j = 0; j < k; ++j) row[j] = dout[j] * scale;
    });
    return;
  }
  int64_t o = 0;
  walk(w.nk, w.ksize, w.kstride, [&](int64_t base) {
    const float g = dout[o++] * scale;
    if (acc) walk(w.nr, w.rsize, w.rstride, [&](int64_t r) { dx[base + r] += g; });
    else walk(w.nr, w.rsize, w.rstride, [&](int64_t r) { dx[base + r] = g; });
  });
}

// out = max (min) over the reduced axes.
void reduce_extreme_forward(const float* __restrict x, const Shape& shape, uint32_t axes, bool max,
                            float* __restrict out) {
  const Walks w(shape, axes);
  int64_t o = 0;
  walk(w.nk, w.ksize, w.kstride, [&](int64_t base) {
    bool first = true;
    float m = 0.f;
    walk(w.nr, w.rsize, w.rstride, [&](int64_t r) {
      const float v = x[base + r];
      if (first || (max ? v > m : v < m)) m = v;
      first = false;
    });
    out[o++] = m;
  });
}

// dx (+)= dout / (how many elements equal the extreme), where x equals it; 0 elsewhere.
void reduce_extreme_backward(const float* __restrict x, const float* __restrict out, const float* __restrict dout,
                             const Shape& shape, uint32_t axes, float* __restrict dx, bool acc) {
  const Walks w(shape, axes);
  int64_t o = 0;
  walk(w.nk, w.ksize, w.kstride, [&](int64_t base) {
    const float m = out[o];
    int64_t ties = 0;
    walk(w.nr, w.rsize, w.rstride, [&](int64_t r) { ties += x[base + r] == m; });
    const float g = dout[o++] / float(ties > 0 ? ties : 1);
    walk(w.nr, w.rsize, w.rstride, [&](int64_t r) {
      const float v = x[base + r] == m ? g : 0.f;
      dx[base + r] = acc ? dx[base + r] + v : v;
    });
  });
}

// The index along `axis` of the first max (min): the output has x's shape without that axis.
void arg_extreme(const float* __restrict x, const Shape& shape, int axis, bool max, int32_t* __restrict out) {
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; ++i) outer *= shape.d[i];
  for (int i = axis + 1; i < shape.rank; ++i) inner *= shape.d[i];
  const int64_t n = shape.d[axis];
  for (int64_t a = 0; a < outer; ++a)
    for (int64_t c = 0; c < inner; ++c) {
      const float* p = x + a * n * inner + c;
      int64_t best = 0;
      for (int64_t k = 1; k < n; ++k)
        if (max ? p[k * inner] > p[best * inner] : p[k * inner] < p[best * inner]) best = k;
      out[a * inner + c] = int32_t(best);
    }
}

FF_MULTIVERSION void column_sum(const float* __restrict x, int64_t M, int64_t N, float* __restrict out, bool acc) {
  if (!acc) std::memset(out, 0, sizeof(float) * N);
  for (int64_t i = 0; i < M; ++i) {
    const float* r = x + i * N;
    for (int64_t j = 0; j < N; ++j) out[j] += r[j];
  }
}

}  // namespace fastfit::cpu
