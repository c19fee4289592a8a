// Reductions (cpu/reduce.cpp): sums in float64, one block per output (the L1/L2 penalty: one block);
// max/min and their gradients, one thread per output walking its elements in memory order (as the
// CPU, so ties and NaNs resolve the same way); column sums one thread per column, rows in order.
#include <stdexcept>

#include "kernels/cuda/launch.cuh"

namespace fastfit::cuda {
namespace {

constexpr int R = Shape::kMaxRank;

// x's axes as two row-major walks, kept and reduced (size-1 axes dropped, contiguous axes merged),
// as the CPU's Walks; `offset` maps an index of either walk to its offset in x.
struct Walks {
  int nk = 0, nr = 0;
  int64_t ksize[R], kstride[R], rsize[R], rstride[R];
  int64_t kept = 1, reduced = 1;  // elements of each walk
  Walks(const Shape& s, uint32_t axes) {
    int64_t stride[R], m = 1;
    for (int i = s.rank - 1; i >= 0; --i) {
      stride[i] = m;
      m *= s.d[i];
    }
    for (int i = 0; i < s.rank; ++i) {
      if (s.d[i] == 1) continue;
      const bool red = axes >> i & 1;
      int& n = red ? nr : nk;
      int64_t* size = red ? rsize : ksize;
      int64_t* st = red ? rstride : kstride;
      if (n > 0 && st[n - 1] == s.d[i] * stride[i]) {
        size[n - 1] *= s.d[i];
        st[n - 1] = stride[i];
      } else {
        size[n] = s.d[i];
        st[n++] = stride[i];
      }
    }
    for (int i = 0; i < nk; ++i) kept *= ksize[i];
    for (int i = 0; i < nr; ++i) reduced *= rsize[i];
  }
  __device__ static int64_t offset(int n, const int64_t* size, const int64_t* stride, int64_t index) {
    int64_t off = 0;
    for (int i = n - 1; i >= 0; --i) {
      off += index % size[i] * stride[i];
      index /= size[i];
    }
    return off;
  }
  __device__ int64_t kept_at(int64_t o) const { return offset(nk, ksize, kstride, o); }
  __device__ int64_t reduced_at(int64_t r) const { return offset(nr, rsize, rstride, r); }
};

// Each element's output in a reduction's backward: its index on the kept axes, row-major.
struct Kept {
  int rank;
  int64_t d[R];
  bool kept[R];
};

constexpr int kSumThreads = 256;

__global__ void sum_kernel(const float* __restrict__ x, Walks w, double scale, float* __restrict__ out) {
  __shared__ double part[kSumThreads];
  const int64_t base = w.kept_at(blockIdx.x);
  double s = 0;
  for (int64_t r = threadIdx.x; r < w.reduced; r += blockDim.x) s += x[base + w.reduced_at(r)];
  part[threadIdx.x] = s;
  __syncthreads();
  for (int half = kSumThreads / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) part[threadIdx.x] += part[threadIdx.x + half];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = float(part[0] * scale);
}

// Keras' L1/L2 penalty of x[0, n) in one block: out = l1 sum |x| + l2 sum x^2, float64 sums.
__global__ void l1_l2_kernel(const float* __restrict__ x, int64_t n, double l1, double l2, float* __restrict__ out) {
  __shared__ double part_abs[kSumThreads], part_sq[kSumThreads];
  double a = 0, q = 0;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    const double v = x[i];
    a += v < 0 ? -v : v;
    q += v * v;
  }
  part_abs[threadIdx.x] = a;
  part_sq[threadIdx.x] = q;
  __syncthreads();
  for (int half = kSumThreads / 2; half > 0; half /= 2) {
    if (threadIdx.x < half) {
      part_abs[threadIdx.x] += part_abs[threadIdx.x + half];
      part_sq[threadIdx.x] += part_sq[threadIdx.x + half];
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    double total = 0;  // a zero factor skips its term, as on the CPU
    if (l1 != 0) total += l1 * part_abs[0];
    if (l2 != 0) total += l2 * part_sq[0];
    out[0] = float(total);
  }
}

}  // namespace

void l1_l2_penalty_forward(const float* x, int64_t n, double l1, double l2, float* out) {
  l1_l2_kernel<<<1, kSumThreads, 0, stream()>>>(x, n, l1, l2, out);
  check_launch("l1_l2_penalty_forward");
}

void l1_l2_penalty_backward(const float* x, int64_t n, double l1, double l2, const float* g, float* dx, bool acc) {
  store("l1_l2_penalty_backward", dx, n, acc, [=] __device__(int64_t i) {
    const float a = float(l1) * g[0], b = 2.f * float(l2) * g[0];
    const float sign = x[i] > 0.f ? 1.f : x[i] < 0.f ? -1.f : 0.f;
    return a * sign + b * x[i];
  });
}

void reduce_forward(const float* x, const Shape& shape, uint32_t axes, double scale, float* out) {
  const Walks w(shape, axes);
  if (shape.numel() == 0) {  // empty reductions are 0
    each("reduce_forward", w.kept, [=] __device__(int64_t o) { out[o] = 0.f; });
    return;
  }
  if (w.kept > 0x7fffffff) throw std::runtime_error("reduce_forward: more than 2^31 - 1 outputs");
  sum_kernel<<<unsigned(w.kept), kSumThreads, 0, stream()>>>(x, w, scale, out);
  check_launch("reduce_forward");
}

void reduce_backward(const float* dout, const Shape& shape, uint32_t axes, float scale, float* dx, bool acc) {
  Kept k{shape.rank, {}, {}};
  for (int i = 0; i < shape.rank; ++i) {
    k.d[i] = shape.d[i];
    k.kept[i] = !(axes >> i & 1);
  }
  store("reduce_backward", dx, shape.numel(), acc, [=] __device__(int64_t e) {
    int64_t o = 0, stride = 1;
    for (int i = k.rank - 1; i >= 0; --i) {
      const int64_t idx = e % k.d[i];
      e /= k.d[i];
      if (k.kept[i]) {
        o += idx * stride;
        stride *= k.d[i];
      }
    }
    return dout[o] * scale;
  });
}

void reduce_extreme_forward(const float* x, const Shape& shape, uint32_t axes, bool max, float* out) {
  const Walks w(shape, axes);
  each("reduce_extreme_forward", w.kept, [=] __device__(int64_t o) {
    const int64_t base = w.kept_at(o);
    float m = 0.f;
    for (int64_t r = 0; r < w.reduced; ++r) {
      const float v = x[base + w.reduced_at(r)];
      if (r == 0 || (max ? v > m : v < m)) m = v;
    }
    out[o] = m;
  });
}

void reduce_extreme_backward(const float* x, const float* out, const float* dout, const Shape& shape, uint32_t axes,
                             float* dx, bool acc) {
  const Walks w(shape, axes);
  each("reduce_extreme_backward", w.kept, [=] __device__(int64_t o) {
    const int64_t base = w.kept_at(o);
    const float m = out[o];
    int64_t ties = 0;
    for (int64_t r = 0; r < w.reduced; ++r) ties += x[base + w.reduced_at(r)] == m;
    const float g = dout[o] / float(ties > 0 ? ties : 1);
    for (int64_t r = 0; r < w.reduced; ++r) {
      const int64_t at = base + w.reduced_at(r);
      const float v = x[at] == m ? g : 0.f;
      dx[at] = acc ? dx[at] + v : v;
    }
  });
}

void arg_extreme(const float* x, const Shape& shape, int axis, bool max, int32_t* out) {
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; ++i) outer *= shape.d[i];
  for (int i = axis + 1; i < shape.rank; ++i) inner *= shape.d[i];
  const int64_t n = shape.d[axis];
  each("arg_extreme", outer * inner, [=] __device__(int64_t e) {
    const int64_t a = e / inner, c = e % inner;
    const float* p = x + a * n * inner + c;
    int64_t best = 0;
    for (int64_t k = 1; k < n; ++k)
      if (max ? p[k * inner] > p[best * inner] : p[k * inner] < p[best * inner]) best = k;
    out[e] = int32_t(best);
  });
}

void column_sum(const float* x, int64_t M, int64_t N, float* out, bool acc) {
  each("column_sum", N, [=] __device__(int64_t j) {
    float s = acc ? out[j] : 0.f;
    for (int64_t i = 0; i < M; ++i) s += x[i * N + j];
    out[j] = s;
  });
}

}  // namespace fastfit::cuda
