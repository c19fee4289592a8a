// Binary ops, comparisons and where with numpy broadcasting (cpu/broadcast.cpp, cpu/compare.cpp). The
// backward gathers: each input element sums, in output order, the gradients of the outputs it was
// broadcast to, so the sums round as the CPU's.
#include "kernels/cuda/launch.cuh"

namespace fastfit::cuda {
namespace {

constexpr int R = Shape::kMaxRank;

// Two inputs aligned to the output's rank: per axis the output's size and each input's stride there
// (0 where it is broadcast).
struct Bcast {
  int rank = 0;
  int64_t out[R] = {}, sa[R] = {}, sb[R] = {};
  Bcast(const Shape& a, const Shape& b, const Shape& o) : rank(o.rank) {
    int64_t ma = 1, mb = 1;
    for (int i = o.rank - 1; i >= 0; --i) {
      const int ia = i - (o.rank - a.rank), ib = i - (o.rank - b.rank);
      const int64_t da = ia >= 0 ? a.d[ia] : 1, db = ib >= 0 ? b.d[ib] : 1;
      out[i] = o.d[i];
      sa[i] = da == 1 ? 0 : ma;
      sb[i] = db == 1 ? 0 : mb;
      ma *= da;
      mb *= db;
    }
  }
  // The offsets into a and b of output element k.
  __device__ void offsets(int64_t k, int64_t& ia, int64_t& ib) const {
    ia = ib = 0;
    for (int i = rank - 1; i >= 0; --i) {
      const int64_t idx = k % out[i];
      k /= out[i];
      ia += idx * sa[i];
      ib += idx * sb[i];
    }
  }
};

// For element `e` of the input whose strides are `s` (the other's `t`): f(k, other offset) for each
// output element k it was broadcast to, k increasing.
template <class F>
__device__ void for_copies(const Bcast& w, const int64_t* s, const int64_t* t, int64_t e, F f) {
  int64_t idx[R], copies = 1;
  for (int i = 0; i < w.rank; ++i) {  // the element's own index on its axes
    idx[i] = 0;
    if (s[i] == 0) copies *= w.out[i];
  }
  int64_t rest = e;
  for (int i = w.rank - 1; i >= 0; --i) {
    if (s[i] == 0) continue;
    const int64_t size = w.out[i];
    idx[i] = rest % size;
    rest /= size;
  }
  for (int64_t m = 0; m < copies; ++m) {  // the broadcast axes, row-major: k increases
    int64_t q = m, k = 0, o = 0, stride = 1;
    for (int i = w.rank - 1; i >= 0; --i) {
      int64_t j = idx[i];
      if (s[i] == 0) {
        j = q % w.out[i];
        q /= w.out[i];
      }
      k += j * stride;
      o += j * t[i];
      stride *= w.out[i];
    }
    f(k, o);
  }
}

__device__ float binary_op(Binary kind, float x, float y) {
  switch (kind) {
    case Binary::add: return x + y;
    case Binary::sub: return x - y;
    case Binary::mul: return x * y;
    case Binary::div: return x / y;
    case Binary::max: return x >= y ? x : y;
    case Binary::min: return x <= y ? x : y;
    case Binary::pow: return powf(x, y);
  }
  return 0.f;
}

// The gradients of one output element w.r.t. a and b (TensorFlow's rules: ties to a, pow's log
// term 0 where a <= 0).
__device__ void binary_grads(Binary kind, float a, float b, float g, float& ga, float& gb) {
  switch (kind) {
    case Binary::add: ga = g; gb = g; break;
    case Binary::sub: ga = g; gb = -g; break;
    case Binary::mul: ga = g * b; gb = g * a; break;
    case Binary::div: ga = g / b; gb = -g * a / (b * b); break;
    case Binary::max: ga = a >= b ? g : 0.f; gb = g - ga; break;
    case Binary::min: ga = a <= b ? g : 0.f; gb = g - ga; break;
    default: {
      const float p = powf(a, b);
      ga = g * b * powf(a, b - 1.f);
      gb = a > 0.f ? g * p * logf(a) : 0.f;
      break;
    }
  }
}

}  // namespace

void binary_forward(Binary kind, const float* a, const Shape& a_shape, const float* b, const Shape& b_shape,
                    const Shape& out_shape, float* out) {
  const Bcast w(a_shape, b_shape, out_shape);
  each("binary_forward", out_shape.numel(), [=] __device__(int64_t k) {
    int64_t i, j;
    w.offsets(k, i, j);
    out[k] = binary_op(kind, a[i], b[j]);
  });
}

void binary_backward(Binary kind, const float* a, const Shape& a_shape, const float* b, const Shape& b_shape,
                     const float* dout, const Shape& out_shape, float* da, bool acc_a, float* db, bool acc_b) {
  const Bcast w(a_shape, b_shape, out_shape);
  if (da)
    each("binary_backward", a_shape.numel(), [=] __device__(int64_t e) {
      float s = acc_a ? da[e] : 0.f;
      for_copies(w, w.sa, w.sb, e, [&](int64_t k, int64_t j) {
        float ga, gb;
        binary_grads(kind, a[e], b[j], dout[k], ga, gb);
        s += ga;
      });
      da[e] = s;
    });
  if (db)
    each("binary_backward", b_shape.numel(), [=] __device__(int64_t e) {
      float s = acc_b ? db[e] : 0.f;
      for_copies(w, w.sb, w.sa, e, [&](int64_t k, int64_t i) {
        float ga, gb;
        binary_grads(kind, a[i], b[e], dout[k], ga, gb);
        s += gb;
      });
      db[e] = s;
    });
}

void compare_forward(Compare kind, const float* a, const Shape& a_shape, const float* b, const Shape& b_shape,
                     const Shape& out_shape, float* out) {
  const Bcast w(a_shape, b_shape, out_shape);
  each("compare_forward", out_shape.numel(), [=] __device__(int64_t k) {
    int64_t i, j;
    w.offsets(k, i, j);
    const float x = a[i], y = b[j];
    bool r = false;
    switch (kind) {
      case Compare::equal: r = x == y; break;
      case Compare::not_equal: r = x != y; break;
      case Compare::greater: r = x > y; break;
      case Compare::greater_equal: r = x >= y; break;
      case Compare::less: r = x < y; break;
      case Compare::less_equal: r = x <= y; break;
    }
    out[k] = r ? 1.f : 0.f;
  });
}

void select_forward(const float* c, const Shape& c_shape, const float* x, const Shape& x_shape, const float* y,
                    const Shape& y_shape, const Shape& out_shape, float* out) {
  const Bcast cx(c_shape, x_shape, out_shape), yy(y_shape, y_shape, out_shape);
  each("select_forward", out_shape.numel(), [=] __device__(int64_t k) {
    int64_t i, j, l, unused;
    cx.offsets(k, i, j);
    yy.offsets(k, l, unused);
    out[k] = c[i] != 0.f ? x[j] : y[l];
  });
}

void select_backward(const float* c, const Shape& c_shape, const float* g, const Shape& out_shape, bool take_true,
                     float* d, const Shape& d_shape, bool acc) {
  const Bcast w(d_shape, c_shape, out_shape);
  each("select_backward", d_shape.numel(), [=] __device__(int64_t e) {
    float s = acc ? d[e] : 0.f;
    for_copies(w, w.sa, w.sb, e, [&](int64_t k, int64_t i) {
      if ((c[i] != 0.f) == take_true) s += g[k];
    });
    d[e] = s;
  });
}

}  // namespace fastfit::cuda
