// Direct convolution for few filters, vectorised over output pixels. As a product of patches (B*OH*OW,
// patch) by w (patch, N), the few filters leave most lanes of each vector idle and the patches cost
// more to copy than to multiply; here each lane holds an output pixel, and the input is copied once,
// into ConvPlanes (kernels.h), where every tap of a run of pixels is a run of floats. AVX-512 only:
// GCC 12 lowers the 16-float vectors through memory on AVX2 (10x slower); there the GEMM path runs.
// Many filters over few input channels run conv_wide.cpp's kernels, vectorised over filters.
#include <algorithm>
#include <type_traits>

#include "kernels/cpu/kernels.h"
#include "kernels/cpu/vec.h"

namespace fastfit::cpu {
namespace {

static_assert(kLanes == ConvPlanes::kLanes, "planes leave room for whole vectors");
static_assert(ConvPlanes::kMaxFilters <= Interleave::kMax, "outputs interleave their filters");
constexpr int kMaxTaps = int(ConvPlanes::kMaxSums);  // kh * kw <= patch * N <= kMaxSums

// Where each tap (i, j) reads, from the float of output pixel (oh, ow) in channel 0's padded row oh*sh.
struct Taps {
  int64_t count, channel;  // taps; floats from one channel's planes to the next
  int64_t at[kMaxTaps];
  Taps(const ConvGeom& g, const ConvPlanes& p) : count(g.kh * g.kw), channel(p.channel()) {
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j) at[i * g.kw + j] = p.tap(g, i, j);
  }
};

template <int K>
using Int = std::integral_constant<int, K>;

// f(Int<V>, Int<R>, b, oh, ow, count) over blocks of R image rows (oh, ...) by count <= V*kLanes pixels
// (ow, ...), covering each output pixel once. Two rows at a time for few filters: twice the independent
// sums to hide the multiply-adds' latency, and each weight broadcast serves both.
template <int N, class F>
__attribute__((always_inline)) inline void for_blocks(const ConvGeom& g, F&& f) {
  constexpr int kRows = N <= 4 ? 2 : 1;
  for (int64_t b = 0; b < g.B; ++b)
    for (int64_t oh = 0; oh < g.OH; oh += kRows) {
      const bool pair = kRows == 2 && oh + 1 < g.OH;
      for (int64_t ow = 0; ow < g.OW; ow += 2 * kLanes) {
        const int64_t count = std::min(2 * kLanes, g.OW - ow);
        if (count > kLanes) pair ? f(Int<2>(), Int<2>(), b, oh, ow, count) : f(Int<2>(), Int<1>(), b, oh, ow, count);
        else pair ? f(Int<1>(), Int<2>(), b, oh, ow, count) : f(Int<1>(), Int<1>(), b, oh, ow, count);
      }
    }
}

// Where a block's pixels are, in the planes and in the output.
struct Block {
  int64_t first;         // block row 0's first pixel's float in channel 0's planes
  int64_t plane_row;     // floats from one block row to the next in the planes
  int64_t count;         // pixels per block row
  int64_t out, out_row;  // its first output row (pixel), and output rows from one block row to the next
  int64_t end;           // output rows in all
  Block(const ConvGeom& g, const ConvPlanes& p, int64_t b, int64_t oh, int64_t ow, int64_t count)
      : first((b * g.C * p.Hp + oh * g.sh) * p.row + ow),
        plane_row(g.sh * p.row),
        count(count),
        out((b * g.OH + oh) * g.OW + ow),
        out_row(g.OW),
        end(g.rows()) {}
  // output row of block row r, vector v, and whether whole vectors of pixels from there stay inside
  int64_t at(int r, int v) const { return out + r * out_row + v * kLanes; }
  bool room(int r, int v) const { return at(r, v) + kLanes <= end; }
  // room, and the next image row is written later: so for the block's last row only (the rows
  // below are later blocks'; the block's own next row was written by the blocks to its left)
  template <int R>
  bool room_after(int r, int v) const { return r == R - 1 && room(r, v); }
};

// n channels of kLanes pixels between registers and memory (pixel-major), through Interleave for
// several channels. Of the kLanes pixels, `count` are the block's: past them in memory lie the next
// image row's pixels, or the end of the tensor when not `room` for whole vectors. Stores write whole
// vectors where there is room and the next row is written later (Block::room_after); loads read 0
// into the lanes past `count`.
template <int n>
__attribute__((always_inline)) inline void store_pixels(const Interleave& il, const Vec* channels, int64_t count,
                                                        bool room, float* to) {
  Vec px[n];
  if constexpr (n == 1) px[0] = channels[0];
  else il.join(channels, px);
  if (count == kLanes || room) {
    for (int u = 0; u < n; ++u) store(to + u * kLanes, px[u]);
    return;
  }
  float part[n * kLanes];
  for (int u = 0; u < n; ++u) store(part + u * kLanes, px[u]);
  std::memcpy(to, part, sizeof(float) * n * count);
}
template <int n>
__attribute__((always_inline)) inline void load_pixels(const Interleave& il, const float* from, int64_t count,
                                                       bool room, Vec* channels) {
  Vec px[n];
  if (count == kLanes || room) {
    for (int u = 0; u < n; ++u) px[u] = load(from + u * kLanes);
  } else {
    float part[n * kLanes] = {};
    std::memcpy(part, from, sizeof(float) * n * count);
    for (int u = 0; u < n; ++u) px[u] = load(part + u * kLanes);
  }
  if constexpr (n == 1) channels[0] = px[0];
  else il.split(px, channels);
  if (count < kLanes) {  // bits of the lanes below count (a comparison here crashed GCC 12)
    const Lanes inside = (kLaneIndex - int32_t(count)) >> 31;
    for (int c = 0; c < n; ++c) channels[c] = Vec(Lanes(channels[c]) & inside);
  }
}

// The pixels of vector v of a block row: kLanes, or fewer in the last.
inline int64_t pixels_of(int64_t count, int v) { return std::min(kLanes, count - v * kLanes); }

// y of a block: sums over the taps in w's order (i, j, c), from the bias.
template <int N, int V, int R>
__attribute__((always_inline)) inline void forward_block(const Taps& taps, const Interleave& il, int64_t C,
                                                         const float* planes, const Block& k, const float* w,
                                                         const float* bias, bool relu, float* y) {
  Vec acc[R][V][N];
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v)
      for (int o = 0; o < N; ++o) acc[r][v][o] = Vec{} + (bias ? bias[o] : 0.f);
  const float* wk = w;
  for (int64_t t = 0; t < taps.count; ++t) {
    const float* at = planes + k.first + taps.at[t];
    for (int64_t c = 0; c < C; ++c, at += taps.channel, wk += N) {
      Vec x[R][V];
      for (int r = 0; r < R; ++r)
        for (int v = 0; v < V; ++v) x[r][v] = load(at + r * k.plane_row + v * kLanes);
      for (int o = 0; o < N; ++o)
        for (int r = 0; r < R; ++r)
          for (int v = 0; v < V; ++v) acc[r][v][o] += x[r][v] * wk[o];
    }
  }
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v) {
      if (relu)
        for (int o = 0; o < N; ++o) acc[r][v][o] = acc[r][v][o] > 0.f ? acc[r][v][o] : 0.f;
      store_pixels<N>(il, acc[r][v], pixels_of(k.count, v), k.room_after<R>(r, v), y + k.at(r, v) * N);
    }
}

template <int N>
__attribute__((always_inline)) inline void forward(const ConvGeom& g, const float* planes, const float* w,
                                                   const float* bias, bool relu, float* y) {
  const ConvPlanes p(g);
  const Taps taps(g, p);
  const Interleave il(N);
  for_blocks<N>(g, [&](auto v, auto r, int64_t b, int64_t oh, int64_t ow, int64_t count)
                       __attribute__((always_inline)) {
    forward_block<N, decltype(v)::value, decltype(r)::value>(taps, il, g.C, planes, Block(g, p, b, oh, ow, count),
                                                             w, bias, relu, y);
  });
}

// A block's part of the kernel's gradient: sums[(t*C + c)*N + o] += dz[pixel, o] x[pixel's tap t, c]
// over its pixels, bias_sums[o] += dz[pixel, o].
template <int N, int V, int R>
__attribute__((always_inline)) inline void grad_block(const Taps& taps, const Interleave& il, int64_t C,
                                                      const float* planes, const Block& k, const float* dz, Vec* sums,
                                                      Vec* bias_sums) {
  Vec d[R][V][N];  // dz transposed: a vector of pixels per filter, 0 past the block's pixels
  for (int r = 0; r < R; ++r)
    for (int v = 0; v < V; ++v) {
      load_pixels<N>(il, dz + k.at(r, v) * N, pixels_of(k.count, v), k.room(r, v), d[r][v]);
      for (int o = 0; o < N; ++o) bias_sums[o] += d[r][v][o];
    }
  // Lanes past the pixels read other pixels, zeroed (0 * inf is NaN); only the last vector has any.
  const Lanes inside = kLaneIndex < int32_t(pixels_of(k.count, V - 1));
  const bool partial = k.count < V * kLanes;
  Vec* s = sums;
  for (int64_t t = 0; t < taps.count; ++t) {
    const float* at = planes + k.first + taps.at[t];
    for (int64_t c = 0; c < C; ++c, at += taps.channel, s += N) {
      Vec x[R][V];
      for (int r = 0; r < R; ++r)
        for (int v = 0; v < V; ++v) x[r][v] = load(at + r * k.plane_row + v * kLanes);
      if (partial)
        for (int r = 0; r < R; ++r) x[r][V - 1] = inside ? x[r][V - 1] : Vec{};
      for (int o = 0; o < N; ++o) {
        Vec sum = s[o];
        for (int r = 0; r < R; ++r)
          for (int v = 0; v < V; ++v) sum += x[r][v] * d[r][v][o];
        s[o] = sum;
      }
    }
  }
}

// dw[(t*C + c)*N + o] (+)= sum over output pixels of dz[pixel, o] x[pixel's tap t, c], and db[o] (+)=
// sum of dz[pixel, o] when db: one vector of sums per weight, in the L1 cache, summed across lanes at
// the end.
template <int N>
__attribute__((always_inline)) inline void kernel_grad(const ConvGeom& g, const float* planes, const float* dz,
                                                       float* dw, bool acc_w, float* db, bool acc_b) {
  const ConvPlanes p(g);
  const Taps taps(g, p);
  const int64_t K = g.patch() * N;
  const Interleave il(N);
  Vec sums[ConvPlanes::kMaxSums], bias_sums[N] = {};
  std::fill(sums, sums + K, Vec{});
  for_blocks<N>(g, [&](auto v, auto r, int64_t b, int64_t oh, int64_t ow, int64_t count)
                       __attribute__((always_inline)) {
    grad_block<N, decltype(v)::value, decltype(r)::value>(taps, il, g.C, planes, Block(g, p, b, oh, ow, count), dz,
                                                          sums, bias_sums);
  });
  for (int64_t k = 0; k < K; ++k) dw[k] = (acc_w ? dw[k] : 0.f) + lane_sum(sums[k]);
  for (int o = 0; db && o < N; ++o) db[o] = (acc_b ? db[o] : 0.f) + lane_sum(bias_sums[o]);
}

// f(Int<N>) for N in [1, kMaxFilters]. Callers' lambdas are always_inline too: everything is inlined
// into the entry points, and so compiled for AVX-512.
template <class F>
__attribute__((always_inline)) inline void with_filters(int64_t N, F&& f) {
  static_assert(ConvPlanes::kMaxFilters == 8, "one case per filter count");
  switch (N) {
    case 1: return f(Int<1>());
    case 2: return f(Int<2>());
    case 3: return f(Int<3>());
    case 4: return f(Int<4>());
    case 5: return f(Int<5>());
    case 6: return f(Int<6>());
    case 7: return f(Int<7>());
    default: return f(Int<8>());
  }
}

}  // namespace

// Float q of phase s of a padded row is input column q*sw + s - pad_w. Runs of kLanes floats q where
// every phase is inside the input read kLanes whole pixels (sw*C floats each, a few) and split them
// into the planes with shuffles; the rest is copied a float at a time.
bool conv_direct_takes(const ConvGeom& g, int64_t N) { return ConvPlanes::takes(g, N) && avx512_kernels(); }

#define FF_AVX512 __attribute__((target("avx512f")))

FF_AVX512 void conv_planes(const ConvGeom& g, const float* x, float* planes) {
  const ConvPlanes p(g);
  const int64_t C = g.C, step = g.sw * C, plane = p.Hp * p.row;
  const bool shuffled = step >= 2 && step <= Interleave::kMax;
  const Interleave il(shuffled ? int(step) : 2);
  const int64_t qa = (g.pad_w + g.sw - 1) / g.sw;  // every phase inside for q in [qa, qend)
  const int64_t qend = std::min((g.W + g.pad_w) / g.sw, p.Wq);
  const int64_t qv = shuffled && qend > qa ? qa + (qend - qa) / kLanes * kLanes : qa;  // runs: [qa, qv)
  for (int64_t b = 0; b < g.B; ++b)
    for (int64_t hp = 0; hp < p.Hp; ++hp) {
      const int64_t ih = hp - g.pad_h;
      const bool inside = ih >= 0 && ih < g.H;
      const float* row = inside ? x + (b * g.H + ih) * g.W * C : x;
      for (int64_t c = 0; c < C; ++c)
        for (int64_t s = 0; s < g.sw; ++s) {
          float* dst = planes + (b * C + c) * plane + hp * p.row + s * p.Wq;
          // inside the input for q in [lo, hi)
          const int64_t lo = inside ? std::min(std::max<int64_t>(g.pad_w - s + g.sw - 1, 0) / g.sw, p.Wq) : p.Wq;
          const int64_t hi = std::clamp((g.W + g.pad_w - s + g.sw - 1) / g.sw, lo, p.Wq);
          auto copy = [&](int64_t from, int64_t to) {
            const float* src = row + (from * g.sw + s - g.pad_w) * C + c;
            if (step == 1) {  // one channel, stride 1: a run of floats (3x faster than a float at a time)
              std::copy(src, src + (to - from), dst + from);
              return;
            }
            for (int64_t q = from; q < to; ++q, src += step) dst[q] = *src;
          };
          std::fill(dst, dst + lo, 0.f);
          copy(lo, std::max(lo, std::min(hi, qa)));
          copy(std::min(hi, std::max(lo, qv)), hi);
          std::fill(dst + hi, dst + p.Wq, 0.f);
        }
      for (int64_t q = qa; inside && q < qv; q += kLanes) {
        Vec px[Interleave::kMax], split[Interleave::kMax];
        for (int64_t u = 0; u < step; ++u) px[u] = load(row + (q * g.sw - g.pad_w) * C + u * kLanes);
        il.split(px, split);
        for (int64_t k = 0; k < step; ++k)  // pseudo-channel k = s*C + c
          store(planes + (b * C + k % C) * plane + hp * p.row + k / C * p.Wq + q, split[k]);
      }
    }
}

FF_AVX512 void conv_direct_forward(const ConvGeom& g, int64_t N, const float* planes, const float* w,
                                         const float* bias, Act act, float* y) {
  if (ConvPlanes::wide(g, N))
    conv_wide_forward(g, N, planes, w, bias, act == Act::relu, y);
  else
    with_filters(N, [&](auto n) __attribute__((always_inline)) {
      forward<decltype(n)::value>(g, planes, w, bias, act == Act::relu, y);
    });
  if (act == Act::sigmoid || act == Act::tanh) act_forward(act, y, g.rows() * N, y);
}

FF_AVX512 void conv_direct_kernel_grad(const ConvGeom& g, int64_t N, const float* planes, const float* dz,
                                             float* dw, bool acc_w, float* db, bool acc_b) {
  if (ConvPlanes::wide(g, N))
    return conv_wide_kernel_grad(g, N, planes, dz, dw, acc_w, db, acc_b);
  with_filters(N, [&](auto n) __attribute__((always_inline)) {
    kernel_grad<decltype(n)::value>(g, planes, dz, dw, acc_w, db, acc_b);
  });
}

}  // namespace fastfit::cpu
