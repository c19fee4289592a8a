// Winograd F(2x2, 3x3) convolution (Lavin and Gray, 2016), channels last: the transforms around the 16
// products that replace im2col + GEMM for 3x3 kernels with stride 1 and dilation 1 (kernels.def). A
// 2x2 output tile is A^T [(G g G^T) . (B^T d B)] A, d the 4x4 input tile at (2 th - pad_h, 2 tw -
// pad_w), so the products take 16 multiply-adds per 4 outputs and input channel instead of 36.
//
// Every transform runs over channels (contiguous) in vectors as wide as the CPU's (lanes.h).
#include <algorithm>
#include <vector>

#include "kernels/cpu/lanes.h"

namespace fastfit::cpu {
namespace {

using namespace lanes;

template <class V>
__attribute__((always_inline)) inline V relu(V v) {
  return v > V{} ? v : V{};
}

int64_t tiles_h(const ConvGeom& g) { return (g.OH + 1) / 2; }
int64_t tiles_w(const ConvGeom& g) { return (g.OW + 1) / 2; }

// f(b, th, tw, t) for the tiles of `images` images, t counting them.
template <class F>
__attribute__((always_inline)) inline void for_tiles(const ConvGeom& g, int64_t images, F&& f) {
  int64_t t = 0;
  for (int64_t b = 0; b < images; ++b)
    for (int64_t th = 0; th < tiles_h(g); ++th)
      for (int64_t tw = 0; tw < tiles_w(g); ++tw) f(b, th, tw, t++);
}

// A row of n floats for the tiles' reads and writes outside the image (the padding, or the row or
// column past an odd-sized output's last tile): zeros to read, or somewhere to write what is dropped,
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

// u[xi, c, n] = (G w[., ., c, n] G^T)[xi], or u[xi, n, c]: G's rows are (1, 0, 0), (1/2, 1/2, 1/2),
// (1/2, -1/2, 1/2), (0, 0, 1).
template <class W>
__attribute__((always_inline)) inline void filter(const float* w, int64_t C, int64_t N, bool transposed, float* u) {
  const int64_t CN = C * N;
  for (int64_t c = 0; c < C; ++c)
    in_vectors<W>(N, [&](int64_t n, auto v) __attribute__((always_inline)) {
      using V = decltype(v);
      V k[3][3], r[4][3], s[16];
      for (int i = 0; i < 9; ++i) k[i / 3][i % 3] = ld<V>(w + i * CN + c * N + n);
      for (int j = 0; j < 3; ++j) {  // G k
        r[0][j] = k[0][j];
        r[1][j] = 0.5f * (k[0][j] + k[1][j] + k[2][j]);
        r[2][j] = 0.5f * (k[0][j] - k[1][j] + k[2][j]);
        r[3][j] = k[2][j];
      }
      for (int i = 0; i < 4; ++i) {  // (G k) G^T
        s[i * 4 + 0] = r[i][0];
        s[i * 4 + 1] = 0.5f * (r[i][0] + r[i][1] + r[i][2]);
        s[i * 4 + 2] = 0.5f * (r[i][0] - r[i][1] + r[i][2]);
        s[i * 4 + 3] = r[i][2];
      }
      for (int xi = 0; xi < 16; ++xi) {
        if (!transposed) {
          st(u + xi * CN + c * N + n, s[xi]);
          continue;
        }
        float parts[kWidth<W>];
        std::memcpy(parts, &s[xi], sizeof(V));
        for (int64_t l = 0; l < kWidth<V>; ++l) u[xi * CN + (n + l) * C + c] = parts[l];
      }
    });
}

// v[xi, t, c] = (B^T d B)[xi] for each tile t: B^T's rows are (1, 0, -1, 0), (0, 1, 1, 0),
// (0, -1, 1, 0), (0, 1, 0, -1).
template <class W>
__attribute__((always_inline)) inline void input(const ConvGeom& g, const float* x, int64_t images, float* v) {
  const int64_t C = g.C, TC = winograd_tiles(g, images) * C;
  const float* zeros = spare(C, true);
  for_tiles(g, images, [&](int64_t b, int64_t th, int64_t tw, int64_t t) __attribute__((always_inline)) {
    const float* d[16];
    for (int a = 0; a < 16; ++a)
      d[a] = pixel(x, g.H, g.W, C, b, 2 * th - g.pad_h + a / 4, 2 * tw - g.pad_w + a % 4, zeros);
    float* out = v + t * C;
    in_vectors<W>(C, [&](int64_t c, auto lane) __attribute__((always_inline)) {
      using V = decltype(lane);
      V r[4][4];
      for (int e = 0; e < 4; ++e) {  // B^T z
        const V z0 = ld<V>(d[e] + c), z1 = ld<V>(d[4 + e] + c), z2 = ld<V>(d[8 + e] + c), z3 = ld<V>(d[12 + e] + c);
        r[0][e] = z0 - z2;
        r[1][e] = z1 + z2;
        r[2][e] = z2 - z1;
        r[3][e] = z1 - z3;
      }
      for (int a = 0; a < 4; ++a) {  // (B^T z) B
        st(out + (a * 4 + 0) * TC + c, r[a][0] - r[a][2]);
        st(out + (a * 4 + 1) * TC + c, r[a][1] + r[a][2]);
        st(out + (a * 4 + 2) * TC + c, r[a][2] - r[a][1]);
        st(out + (a * 4 + 3) * TC + c, r[a][1] - r[a][3]);
      }
    });
  });
}

// y = act(A^T m A + bias) at each tile's outputs inside the image: A^T's rows are (1, 1, 1, 0),
// (0, 1, -1, -1).
template <class W>
__attribute__((always_inline)) inline void output(const ConvGeom& g, int64_t N, const float* m, int64_t images,
                                                  const float* bias, bool act_relu, float* y) {
  const int64_t TN = winograd_tiles(g, images) * N;
  float* dropped = spare(N, false);
  const float* no_bias = bias ? nullptr : spare(N, true);
  for_tiles(g, images, [&](int64_t b, int64_t th, int64_t tw, int64_t t) __attribute__((always_inline)) {
    float* out[4];
    for (int a = 0; a < 4; ++a) out[a] = pixel(y, g.OH, g.OW, N, b, 2 * th + a / 2, 2 * tw + a % 2, dropped);
    const float* in = m + t * N;
    in_vectors<W>(N, [&](int64_t n, auto lane) __attribute__((always_inline)) {
      using V = decltype(lane);
      V r[2][4];
      for (int e = 0; e < 4; ++e) {  // A^T z
        const V z0 = ld<V>(in + e * TN + n), z1 = ld<V>(in + (4 + e) * TN + n), z2 = ld<V>(in + (8 + e) * TN + n),
                z3 = ld<V>(in + (12 + e) * TN + n);
        r[0][e] = z0 + z1 + z2;
        r[1][e] = z1 - z2 - z3;
      }
      const V b0 = ld<V>((bias ? bias : no_bias) + n);
      for (int a = 0; a < 2; ++a) {  // (A^T z) A
        V o0 = r[a][0] + r[a][1] + r[a][2] + b0, o1 = r[a][1] - r[a][2] - r[a][3] + b0;
        if (act_relu) o0 = relu(o0), o1 = relu(o1);
        st(out[a * 2] + n, o0);
        st(out[a * 2 + 1] + n, o1);
      }
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
    const float* in[4];
    for (int a = 0; a < 4; ++a) in[a] = pixel(dz, g.OH, g.OW, N, b, 2 * th + a / 2, 2 * tw + a % 2, zeros);
    float* out = dm + t * N;
    in_vectors<W>(N, [&](int64_t n, auto lane) __attribute__((always_inline)) {
      using V = decltype(lane);
      V r[4][2];
      for (int e = 0; e < 2; ++e) {  // A z
        const V z0 = ld<V>(in[e] + n), z1 = ld<V>(in[2 + e] + n);
        r[0][e] = z0;
        r[1][e] = z0 + z1;
        r[2][e] = z0 - z1;
        r[3][e] = -z1;
      }
      for (int a = 0; a < 4; ++a) {  // (A z) A^T
        st(out + (a * 4 + 0) * TN + n, r[a][0]);
        st(out + (a * 4 + 1) * TN + n, r[a][0] + r[a][1]);
        st(out + (a * 4 + 2) * TN + n, r[a][0] - r[a][1]);
        st(out + (a * 4 + 3) * TN + n, -r[a][1]);
      }
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
    float* d[16];
    for (int a = 0; a < 16; ++a)
      d[a] = pixel(dx, g.H, g.W, C, b, 2 * th - g.pad_h + a / 4, 2 * tw - g.pad_w + a % 4, dropped);
    const float* in = dv + t * C;
    in_vectors<W>(C, [&](int64_t c, auto lane) __attribute__((always_inline)) {
      using V = decltype(lane);
      V r[4][4];
      for (int e = 0; e < 4; ++e) {  // B z
        const V z0 = ld<V>(in + e * TC + c), z1 = ld<V>(in + (4 + e) * TC + c), z2 = ld<V>(in + (8 + e) * TC + c),
                z3 = ld<V>(in + (12 + e) * TC + c);
        r[0][e] = z0;
        r[1][e] = z1 - z2 + z3;
        r[2][e] = z1 + z2 - z0;
        r[3][e] = -z3;
      }
      for (int a = 0; a < 4; ++a) {  // (B z) B^T, added in place
        const V o[4] = {r[a][0], r[a][1] - r[a][2] + r[a][3], r[a][1] + r[a][2] - r[a][0], -r[a][3]};
        for (int e = 0; e < 4; ++e) st(d[a * 4 + e] + c, ld<V>(d[a * 4 + e] + c) + o[e]);
      }
    });
  });
}

// dw[i, j, c, n] (+)= (G^T du[., c, n] G)[i, j]: the filter transform's adjoint. G^T's rows are
// (1, 1/2, 1/2, 0), (0, 1/2, -1/2, 0), (0, 1/2, 1/2, 1).
template <class W>
__attribute__((always_inline)) inline void filter_grad(const float* du, int64_t C, int64_t N, float* dw, bool acc) {
  const int64_t CN = C * N;
  for (int64_t c = 0; c < C; ++c)
    in_vectors<W>(N, [&](int64_t n, auto lane) __attribute__((always_inline)) {
      using V = decltype(lane);
      V r[3][4];
      for (int e = 0; e < 4; ++e) {  // G^T z
        const V z0 = ld<V>(du + e * CN + c * N + n), z1 = ld<V>(du + (4 + e) * CN + c * N + n),
                z2 = ld<V>(du + (8 + e) * CN + c * N + n), z3 = ld<V>(du + (12 + e) * CN + c * N + n);
        r[0][e] = z0 + 0.5f * (z1 + z2);
        r[1][e] = 0.5f * (z1 - z2);
        r[2][e] = 0.5f * (z1 + z2) + z3;
      }
      for (int i = 0; i < 3; ++i) {  // (G^T z) G
        const V o[3] = {r[i][0] + 0.5f * (r[i][1] + r[i][2]), 0.5f * (r[i][1] - r[i][2]),
                        0.5f * (r[i][1] + r[i][2]) + r[i][3]};
        for (int j = 0; j < 3; ++j) {
          float* out = dw + (i * 3 + j) * CN + c * N + n;
          st(out, acc ? ld<V>(out) + o[j] : o[j]);
        }
      }
    });
}

}  // namespace

FF_PER_ISA(winograd_filter, filter, (const float* w, int64_t C, int64_t N, bool transposed, float* u),
           (w, C, N, transposed, u))
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
