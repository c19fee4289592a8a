// Winograd F(4x4, 3x3) convolution (Lavin and Gray, 2016), channels last: the transforms around the 36
// products that replace im2col + GEMM for 3x3 kernels with stride 1 and dilation 1 (kernels.def). An
// m x m output tile (m = kWinogradTile) is A^T [(G g G^T) . (B^T d B)] A, d the (m + 2)^2 input tile
// at (m th - pad_h, m tw - pad_w): the products take 36 multiply-adds per 16 outputs and input channel
// instead of 144 (F(2x2, 3x3): 16 per 4). Errors stay near float32 rounding (about 1e-6 relative on
// the Fashion-MNIST CNN's second layer, against float64).
//
// Every transform runs over channels (contiguous) in vectors as wide as the CPU's (lanes.h), as sums
// of the constant matrices' nonzero entries times vectors, unrolled at compile time.
#include <algorithm>
#include <vector>

#include "kernels/cpu/lanes.h"

namespace fastfit::cpu {
namespace {

using namespace lanes;

template <int m>
struct Matrices;
template <>
struct Matrices<2> {
  static constexpr float BT[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
  static constexpr float G[4][3] = {{1, 0, 0}, {0.5f, 0.5f, 0.5f}, {0.5f, -0.5f, 0.5f}, {0, 0, 1}};
  static constexpr float AT[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};
};
template <>
struct Matrices<4> {  // points 0, +-1, +-2 and infinity
  static constexpr float BT[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
                                     {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
  static constexpr float G[6][3] = {{1.f / 4, 0, 0},          {-1.f / 6, -1.f / 6, -1.f / 6},
                                    {-1.f / 6, 1.f / 6, -1.f / 6}, {1.f / 24, 1.f / 12, 1.f / 6},
                                    {1.f / 24, -1.f / 12, 1.f / 6}, {0, 0, 1}};
  static constexpr float AT[4][6] = {
      {1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0}, {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};
};
using Mx = Matrices<kWinogradTile>;
constexpr int kM = int(kWinogradTile), kA = kM + 2;  // output and input tile sizes

// sum over k < K of c(k) in(k), the coefficients constant once unrolled: zeros skipped, +-1 no product.
template <int K, class V, class Coef, class In>
__attribute__((always_inline)) inline V combine(Coef c, In in) {
  V s{};
  bool any = false;
#pragma GCC unroll 8
  for (int k = 0; k < K; ++k) {
    const float w = c(k);
    if (w == 0.f) continue;
    const V x = in(k);
    const V term = w == 1.f ? x : w == -1.f ? -x : w * x;
    s = any ? s + term : term;
    any = true;
  }
  return s;
}

// out[i][j] = (L z R^T)[i][j] for z (K x K2): L (I x K) and R (J x K2) given as coefficient functions.
template <int I, int J, int K, int K2, class V, class Lc, class Rc>
__attribute__((always_inline)) inline void sandwich(const V (&z)[K][K2], Lc L, Rc R, V (&out)[I][J]) {
  V t[I][K2];
#pragma GCC unroll 8
  for (int i = 0; i < I; ++i)
#pragma GCC unroll 8
    for (int e = 0; e < K2; ++e)
      t[i][e] = combine<K, V>([&](int k) { return L(i, k); }, [&](int k) { return z[k][e]; });
#pragma GCC unroll 8
  for (int i = 0; i < I; ++i)
#pragma GCC unroll 8
    for (int j = 0; j < J; ++j)
      out[i][j] = combine<K2, V>([&](int k) { return R(j, k); }, [&](int k) { return t[i][k]; });
}

constexpr auto kBT = [](int i, int k) { return Mx::BT[i][k]; };
constexpr auto kB = [](int i, int k) { return Mx::BT[k][i]; };
constexpr auto kG = [](int i, int k) { return Mx::G[i][k]; };
constexpr auto kGT = [](int i, int k) { return Mx::G[k][i]; };
constexpr auto kAT = [](int i, int k) { return Mx::AT[i][k]; };
constexpr auto kA_ = [](int i, int k) { return Mx::AT[k][i]; };

template <class V>
__attribute__((always_inline)) inline V relu(V v) {
  return v > V{} ? v : V{};
}

int64_t tiles_h(const ConvGeom& g) { return (g.OH + kM - 1) / kM; }
int64_t tiles_w(const ConvGeom& g) { return (g.OW + kM - 1) / kM; }

// f(b, th, tw, t) for the tiles of `images` images, t counting them.
template <class F>
__attribute__((always_inline)) inline void for_tiles(const ConvGeom& g, int64_t images, F&& f) {
  int64_t t = 0;
  for (int64_t b = 0; b < images; ++b)
    for (int64_t th = 0; th < tiles_h(g); ++th)
      for (int64_t tw = 0; tw < tiles_w(g); ++tw) f(b, th, tw, t++);
}

// A row of n floats for the tiles' reads and writes outside the image (the padding, or the rows or
// columns past the output's last whole tile): zeros to read, or somewhere to write what is dropped,
// so that the loops over channels have no branches. Per thread: kernels run on several at once.
float* spare(int64_t n, bool zero) {
  thread_local std::vector<float> row;
  if (int64_t(row.size()) < n) row.resize(size_t(n));
  if (zero) std::fill(row.begin(), row.begin() + n, 0.f);
  return row.data();
}

// The pixel (b, ih, iw) of images of H x W pixels of n floats, or `outside` when not in the image.
template <class T>
inline T* pixel(T* x, int64_t H, int64_t W, int64_t n, int64_t b, int64_t ih, int64_t iw, T* outside) {
  return ih >= 0 && ih < H && iw >= 0 && iw < W ? x + ((b * H + ih) * W + iw) * n : outside;
}

// d[a][e] = the pixels (h0 + a, w0 + e) of image b of a tile's K x K, `outside` where not in the image.
template <int K, class T>
__attribute__((always_inline)) inline void tile_pixels(T* x, int64_t H, int64_t W, int64_t n, int64_t b, int64_t h0,
                                                       int64_t w0, T* outside, T* (&d)[K][K]) {
  for (int a = 0; a < K; ++a)
    for (int e = 0; e < K; ++e) d[a][e] = pixel(x, H, W, n, b, h0 + a, w0 + e, outside);
}

// u[xi, c, n] = (G w[., ., c, n] G^T)[xi].
template <class W>
__attribute__((always_inline)) inline void filter(const float* w, int64_t C, int64_t N, float* u) {
  const int64_t CN = C * N;
  for (int64_t c = 0; c < C; ++c)
    in_vectors<W>(N, [&](int64_t n, auto lane) __attribute__((always_inline)) {
      using V = decltype(lane);
      V k[3][3], s[kA][kA];
      for (int i = 0; i < 9; ++i) k[i / 3][i % 3] = ld<V>(w + i * CN + c * N + n);
      sandwich(k, kG, kG, s);
      for (int xi = 0; xi < kA * kA; ++xi) st(u + xi * CN + c * N + n, s[xi / kA][xi % kA]);
    });
}

// v[xi, t, c] = (B^T d B)[xi] for each tile t.
template <class W>
__attribute__((always_inline)) inline void input(const ConvGeom& g, const float* x, int64_t images, float* v) {
  const int64_t C = g.C, TC = winograd_tiles(g, images) * C;
  const float* zeros = spare(C, true);
  for_tiles(g, images, [&](int64_t b, int64_t th, int64_t tw, int64_t t) __attribute__((always_inline)) {
    const float* d[kA][kA];
    tile_pixels(x, g.H, g.W, C, b, kM * th - g.pad_h, kM * tw - g.pad_w, zeros, d);
    float* out = v + t * C;
    in_vectors<W>(C, [&](int64_t c, auto lane) __attribute__((always_inline)) {
      using V = decltype(lane);
      V z[kA][kA], r[kA][kA];
      for (int a = 0; a < kA; ++a)
        for (int e = 0; e < kA; ++e) z[a][e] = ld<V>(d[a][e] + c);
      sandwich(z, kBT, kBT, r);
      for (int xi = 0; xi < kA * kA; ++xi) st(out + xi * TC + c, r[xi / kA][xi % kA]);
    });
  });
}

// y = act(A^T m A + bias) at each tile's outputs inside the image.
template <class W>
__attribute__((always_inline)) inline void output(const ConvGeom& g, int64_t N, const float* m, int64_t images,
                                                  const float* bias, bool act_relu, float* y) {
  const int64_t TN = winograd_tiles(g, images) * N;
  float* dropped = spare(N, false);
  const float* no_bias = bias ? nullptr : spare(N, true);
  for_tiles(g, images, [&](int64_t b, int64_t th, int64_t tw, int64_t t) __attribute__((always_inline)) {
    float* out[kM][kM];
    tile_pixels(y, g.OH, g.OW, N, b, kM * th, kM * tw, dropped, out);
    const float* in = m + t * N;
    in_vectors<W>(N, [&](int64_t n, auto lane) __attribute__((always_inline)) {
      using V = decltype(lane);
      V z[kA][kA], o[kM][kM];
      for (int xi = 0; xi < kA * kA; ++xi) z[xi / kA][xi % kA] = ld<V>(in + xi * TN + n);
      sandwich(z, kAT, kAT, o);
      const V b0 = ld<V>((bias ? bias : no_bias) + n);
      for (int a = 0; a < kM; ++a)
        for (int e = 0; e < kM; ++e) st(out[a][e] + n, act_relu ? relu(o[a][e] + b0) : o[a][e] + b0);
    });
  });
}

// dm[xi, t, n] = (A dz A^T)[xi]: the output transform's adjoint, dz 0 past the output's edge.
template <class W>
__attribute__((always_inline)) inline void output_grad(const ConvGeom& g, int64_t N, const float* dz, int64_t images,
                                                       float* dm) {
  const int64_t TN = winograd_tiles(g, images) * N;
  const float* zeros = spare(N, true);
  for_tiles(g, images, [&](int64_t b, int64_t th, int64_t tw, int64_t t) __attribute__((always_inline)) {
    const float* in[kM][kM];
    tile_pixels(dz, g.OH, g.OW, N, b, kM * th, kM * tw, zeros, in);
    float* out = dm + t * N;
    in_vectors<W>(N, [&](int64_t n, auto lane) __attribute__((always_inline)) {
      using V = decltype(lane);
      V z[kM][kM], r[kA][kA];
      for (int a = 0; a < kM; ++a)
        for (int e = 0; e < kM; ++e) z[a][e] = ld<V>(in[a][e] + n);
      sandwich(z, kA_, kA_, r);
      for (int xi = 0; xi < kA * kA; ++xi) st(out + xi * TN + n, r[xi / kA][xi % kA]);
    });
  });
}

// dx += B dv B^T at each tile's input pixels inside the input: the input transform's adjoint. Tiles
// overlap by two rows and columns; they are added in tile order.
template <class W>
__attribute__((always_inline)) inline void input_grad(const ConvGeom& g, const float* dv, int64_t images, float* dx) {
  const int64_t C = g.C, TC = winograd_tiles(g, images) * C;
  float* dropped = spare(C, false);
  for_tiles(g, images, [&](int64_t b, int64_t th, int64_t tw, int64_t t) __attribute__((always_inline)) {
    float* d[kA][kA];
    tile_pixels(dx, g.H, g.W, C, b, kM * th - g.pad_h, kM * tw - g.pad_w, dropped, d);
    const float* in = dv + t * C;
    in_vectors<W>(C, [&](int64_t c, auto lane) __attribute__((always_inline)) {
      using V = decltype(lane);
      V z[kA][kA], r[kA][kA];
      for (int xi = 0; xi < kA * kA; ++xi) z[xi / kA][xi % kA] = ld<V>(in + xi * TC + c);
      sandwich(z, kB, kB, r);
      for (int a = 0; a < kA; ++a)  // added in place, row by row (the dropped row may repeat)
        for (int e = 0; e < kA; ++e) st(d[a][e] + c, ld<V>(d[a][e] + c) + r[a][e]);
    });
  });
}

// dw[i, j, c, n] (+)= (G^T du[., c, n] G)[i, j]: the filter transform's adjoint.
template <class W>
__attribute__((always_inline)) inline void filter_grad(const float* du, int64_t C, int64_t N, float* dw, bool acc) {
  const int64_t CN = C * N;
  for (int64_t c = 0; c < C; ++c)
    in_vectors<W>(N, [&](int64_t n, auto lane) __attribute__((always_inline)) {
      using V = decltype(lane);
      V z[kA][kA], o[3][3];
      for (int xi = 0; xi < kA * kA; ++xi) z[xi / kA][xi % kA] = ld<V>(du + xi * CN + c * N + n);
      sandwich(z, kGT, kGT, o);
      for (int i = 0; i < 9; ++i) {
        float* out = dw + i * CN + c * N + n;
        st(out, acc ? ld<V>(out) + o[i / 3][i % 3] : o[i / 3][i % 3]);
      }
    });
}

}  // namespace

FF_PER_ISA(winograd_filter, filter, (const float* w, int64_t C, int64_t N, float* u), (w, C, N, u))
FF_PER_ISA(winograd_input, input, (const ConvGeom& g, const float* x, int64_t images, float* v), (g, x, images, v))
FF_PER_ISA(winograd_output, output,
           (const ConvGeom& g, int64_t N, const float* m, int64_t images, const float* bias, bool relu, float* y),
           (g, N, m, images, bias, relu, y))
FF_PER_ISA(winograd_output_grad, output_grad,
           (const ConvGeom& g, int64_t N, const float* dz, int64_t images, float* dm), (g, N, dz, images, dm))
FF_PER_ISA(winograd_input_grad, input_grad, (const ConvGeom& g, const float* dv, int64_t images, float* dx),
           (g, dv, images, dx))
FF_PER_ISA(winograd_filter_grad, filter_grad, (const float* du, int64_t C, int64_t N, float* dw, bool acc),
           (du, C, N, dw, acc))

bool winograd_takes(const ConvGeom& g, int64_t N) {
  return g.kh == 3 && g.kw == 3 && g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 && g.C >= 16 && N >= 16;
}

}  // namespace fastfit::cpu
