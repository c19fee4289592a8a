// Data movement between shapes: windows (slice, pad, concat, reshape), transposes, tiling and nearest
// upsampling, gathering a batch's rows. Copies only: no arithmetic but the sums of gradients.
#include <cstring>

#include "kernels/cpu/kernels.h"

namespace fastfit::cpu {
namespace {

constexpr int R = Shape::kMaxRank;

void strides_of(const Shape& s, int64_t* st) {
  int64_t m = 1;
  for (int i = s.rank - 1; i >= 0; --i) {
    st[i] = m;
    m *= s.d[i];
  }
}

inline void put(float* __restrict y, const float* __restrict x, int64_t n, bool acc) {
  if (acc) for (int64_t i = 0; i < n; ++i) y[i] += x[i];
  else std::memcpy(y, x, sizeof(float) * n);
}

// The walk over y of an expansion of x: f(x offset, y offset) for each block of trailing axes that
// are not expanded (copied whole).
struct ExpandWalk {
  Shape xs, ys;
  bool tile;
  int tail;       // axes [tail, rank) are not expanded
  int64_t block;  // elements in such a block
  int64_t xst[R], yst[R];
  ExpandWalk(const Shape& x, const Shape& y, bool t) : xs(x), ys(y), tile(t), tail(x.rank) {
    strides_of(x, xst);
    strides_of(y, yst);
    while (tail > 0 && x.d[tail - 1] == y.d[tail - 1]) --tail;
    block = tail > 0 ? xst[tail - 1] : x.numel();
  }
  template <class F>
  void run(int d, int64_t xo, int64_t yo, F& f) const {
    if (d == tail) return f(xo, yo);
    const int64_t n = ys.d[d], m = xs.d[d];
    if (n == 0) return;
    for (int64_t i = 0; i < n; ++i) run(d + 1, xo + (tile ? i % m : i / (n / m)) * xst[d], yo + i * yst[d], f);
  }
};

}  // namespace

void copy_window(const float* src, const Shape& src_shape, const Shape& src_begin, float* dst, const Shape& dst_shape,
                 const Shape& dst_begin, const Shape& window, bool acc) {
  if (window.numel() == 0) return;
  if (window.rank == 0) return put(dst, src, 1, acc);
  int64_t ss[R], ds[R];
  strides_of(src_shape, ss);
  strides_of(dst_shape, ds);
  for (int i = 0; i < window.rank; ++i) {
    src += src_begin.d[i] * ss[i];
    dst += dst_begin.d[i] * ds[i];
  }
  // Trailing axes the window spans whole in both tensors join one contiguous run; the rest are walked.
  int outer = window.rank - 1;
  int64_t run = window.d[outer];
  while (outer > 0 && window.d[outer] == src_shape.d[outer] && window.d[outer] == dst_shape.d[outer]) {
    --outer;
    run *= window.d[outer];
  }
  int64_t idx[R] = {0};
  for (;;) {
    put(dst, src, run, acc);
    int d = outer - 1;
    for (; d >= 0; --d) {  // odometer over axes [0, outer)
      src += ss[d];
      dst += ds[d];
      if (++idx[d] < window.d[d]) break;
      src -= ss[d] * window.d[d];
      dst -= ds[d] * window.d[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

void transpose(const float* x, const Shape& x_shape, const int64_t* perm, float* y, bool acc) {
  const int r = x_shape.rank;
  if (x_shape.numel() == 0) return;
  if (r == 0) return put(y, x, 1, acc);
  int64_t xs[R], size[R], step[R];  // per axis of y: its size and the matching stride in x
  strides_of(x_shape, xs);
  for (int k = 0; k < r; ++k) {
    size[k] = x_shape.d[perm[k]];
    step[k] = xs[perm[k]];
  }
  const int64_t inner = size[r - 1], s = step[r - 1];
  int64_t idx[R] = {0}, off = 0;
  for (;;) {  // y in order, one row of its last axis at a time
    if (acc) for (int64_t j = 0; j < inner; ++j) y[j] += x[off + j * s];
    else for (int64_t j = 0; j < inner; ++j) y[j] = x[off + j * s];
    y += inner;
    int d = r - 2;
    for (; d >= 0; --d) {
      off += step[d];
      if (++idx[d] < size[d]) break;
      off -= step[d] * size[d];
      idx[d] = 0;
    }
    if (d < 0) return;
  }
}

void expand_forward(const float* x, const Shape& x_shape, const Shape& y_shape, bool tile, float* y) {
  const ExpandWalk w(x_shape, y_shape, tile);
  auto copy = [&](int64_t xo, int64_t yo) { std::memcpy(y + yo, x + xo, sizeof(float) * w.block); };
  w.run(0, 0, 0, copy);
}

void expand_backward(const float* dy, const Shape& x_shape, const Shape& y_shape, bool tile, float* dx, bool acc) {
  const ExpandWalk w(x_shape, y_shape, tile);
  if (!acc) std::memset(dx, 0, sizeof(float) * x_shape.numel());
  auto add = [&](int64_t xo, int64_t yo) { put(dx + xo, dy + yo, w.block, true); };
  w.run(0, 0, 0, add);
}

void gather_rows(const void* src, int64_t row_bytes, const int64_t* rows, int64_t count, void* dst) {
  const char* from = static_cast<const char*>(src);
  char* to = static_cast<char*>(dst);
  for (int64_t k = 0; k < count; ++k) std::memcpy(to + k * row_bytes, from + rows[k] * row_bytes, size_t(row_bytes));
}

}  // namespace fastfit::cpu
