// Data movement (cpu/shape.cpp): windows, transposes, tiling and upsampling, a batch's rows. One
// thread per output element; the backward of an expansion gathers each element's copies in order.
#include "kernels/cuda/launch.cuh"

namespace fastfit::cuda {
namespace {

constexpr int R = Shape::kMaxRank;

struct Strides {  // row-major strides of a shape
  int64_t s[R] = {};
  explicit Strides(const Shape& shape) {
    int64_t m = 1;
    for (int i = shape.rank - 1; i >= 0; --i) {
      s[i] = m;
      m *= shape.d[i];
    }
  }
};

struct Permuted {  // per axis of a transpose's output: its size and the matching stride in x
  int rank;
  int64_t size[R], step[R];
};

}  // namespace

void copy_window(const float* src, const Shape& src_shape, const Shape& src_begin, float* dst, const Shape& dst_shape,
                 const Shape& dst_begin, const Shape& window, bool acc) {
  const Strides ss(src_shape), ds(dst_shape);
  const Shape w = window, sb = src_begin, db = dst_begin;
  each("copy_window", window.numel(), [=] __device__(int64_t e) {
    int64_t so = 0, d = 0;
    for (int i = w.rank - 1; i >= 0; --i) {
      const int64_t idx = e % w.d[i];
      e /= w.d[i];
      so += (sb.d[i] + idx) * ss.s[i];
      d += (db.d[i] + idx) * ds.s[i];
    }
    dst[d] = acc ? dst[d] + src[so] : src[so];
  });
}

void transpose(const float* x, const Shape& x_shape, const int64_t* perm, float* y, bool acc) {
  const Strides xs(x_shape);
  Permuted m{x_shape.rank, {}, {}};
  for (int k = 0; k < x_shape.rank; ++k) {
    m.size[k] = x_shape.d[perm[k]];
    m.step[k] = xs.s[perm[k]];
  }
  each("transpose", x_shape.numel(), [=] __device__(int64_t e) {
    int64_t rest = e, off = 0;
    for (int k = m.rank - 1; k >= 0; --k) {
      off += rest % m.size[k] * m.step[k];
      rest /= m.size[k];
    }
    y[e] = acc ? y[e] + x[off] : x[off];
  });
}

void expand_forward(const float* x, const Shape& x_shape, const Shape& y_shape, bool tile, float* y) {
  const Shape xsh = x_shape, ysh = y_shape;
  const Strides xs(x_shape);
  each("expand_forward", y_shape.numel(), [=] __device__(int64_t e) {
    int64_t rest = e, off = 0;
    for (int i = ysh.rank - 1; i >= 0; --i) {
      const int64_t n = ysh.d[i], m = xsh.d[i], idx = rest % n;
      rest /= n;
      off += (tile ? idx % m : idx / (n / m)) * xs.s[i];
    }
    y[e] = x[off];
  });
}

void expand_backward(const float* dy, const Shape& x_shape, const Shape& y_shape, bool tile, float* dx, bool acc) {
  const Shape xsh = x_shape, ysh = y_shape;
  const Strides ys(y_shape);
  each("expand_backward", x_shape.numel(), [=] __device__(int64_t e) {
    int64_t idx[R], copies = 1, rest = e;
    for (int i = xsh.rank - 1; i >= 0; --i) {
      idx[i] = rest % xsh.d[i];
      rest /= xsh.d[i];
      copies *= ysh.d[i] / xsh.d[i];
    }
    float s = acc ? dx[e] : 0.f;
    for (int64_t c = 0; c < copies; ++c) {  // the copies in y's order: each axis's copy index row-major
      int64_t q = c, off = 0;
      for (int i = xsh.rank - 1; i >= 0; --i) {
        const int64_t f = ysh.d[i] / xsh.d[i], t = q % f;
        q /= f;
        off += (tile ? idx[i] + t * xsh.d[i] : idx[i] * f + t) * ys.s[i];
      }
      s += dy[off];
    }
    dx[e] = s;
  });
}

void gather_rows(const void* src, int64_t row_bytes, const int64_t* rows, int64_t count, void* dst) {
  const uint32_t* from = static_cast<const uint32_t*>(src);
  uint32_t* to = static_cast<uint32_t*>(dst);
  const int64_t words = row_bytes / 4;  // rows of float32 or int32 elements
  each("gather_rows", count * words, [=] __device__(int64_t e) {
    const int64_t k = e / words, w = e % words;
    to[e] = from[rows[k] * words + w];
  });
}

}  // namespace fastfit::cuda
