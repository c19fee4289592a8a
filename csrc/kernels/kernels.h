// The kernel interface: every kernel of kernels.def, declared for the CPU and for CUDA (whose kernels
// live in fastfit._cuda and reach the core as a KernelTable, kernels/cuda/README.md).
#pragma once
#include <cstdint>

#include "core/tensor.h"
#include "optim/rules.h"

namespace fastfit {

enum class Act : int { linear, relu, sigmoid, tanh };
enum class Unary : int { neg, square, sqrt, exp, log, abs, log1p, expm1, erf, softplus, floor, ceil, round, sign };
enum class Binary : int { add, sub, mul, div, max, min, pow };
enum class Compare : int { equal, not_equal, greater, greater_equal, less, less_equal };

// Class ids, stored as int32 or as float32 (labels given as floats).
struct Labels {
  const void* data;
  bool is_int;
  int32_t operator[](int64_t i) const {
    return is_int ? static_cast<const int32_t*>(data)[i] : static_cast<int32_t>(static_cast<const float*>(data)[i]);
  }
  float value(int64_t i) const {  // as a float, not truncated
    return is_int ? float(static_cast<const int32_t*>(data)[i]) : static_cast<const float*>(data)[i];
  }
};

// A metric folded by metric_fold: what one element's value is, and the layout of the batch. p holds
// the predictions (float32), y the targets (int32 or float32, as Labels).
struct MetricFold {
  enum Kind : int {
    mean,         // value(e) = p[e] (Mean, RootMeanSquaredError, a MeanMetricWrapper's per-sample values)
    sum,          // likewise, summed (Sum)
    exact,        // p[e] == y[e] (accuracy)
    binary,       // (p[e] > threshold) == y[e] (binary_accuracy)
    categorical,  // per row of C: argmax(p) == argmax(y), the first maximum (categorical_accuracy)
    sparse,       // per row of C: argmax(p) == y[row] (sparse_categorical_accuracy)
  } kind = mean;
  float threshold = 0.5f;
  int64_t samples = 0, per = 0;  // per-sample values: samples x per
  int64_t C = 1;                 // classes per row (categorical, sparse): each value reads a row of p
  int64_t block = 1;             // values per weight
};

// A sliding window over channels-last images (convolution, pooling): input (B, H, W, C), output
// (B, OH, OW, .), window kh x kw with strides, dilations and the zero padding before each spatial axis
// (ops/window.h computes them). 1-D: H = OH = kh = 1. Output row r = (b, oh, ow), row-major.
struct ConvGeom {
  int64_t B, H, W, C, OH, OW, kh, kw, sh, sw, dh, dw, pad_h, pad_w;
  int64_t rows() const { return B * OH * OW; }
  int64_t patch() const { return kh * kw * C; }  // one output row's window, flattened as (i, j, c)
};

// The direct convolution's copy of x (conv_planes): for each image and channel, the padded input rows
// its windows read, each split by stride phase into sw rows of Wq floats, so that one tap of
// consecutive output pixels reads consecutive floats: tap (i, j) of pixel (oh, ow) of channel c is
// float (j*dw) % sw * Wq + (j*dw) / sw + ow of padded row oh*sh + i*dh. Wq leaves room for whole
// vectors of kLanes pixels past the last one; the room and the padding hold zeros.
struct ConvPlanes {
  static constexpr int64_t kLanes = 16;
  // The convolutions the direct kernels take. Few filters, vectorised over pixels (conv_direct.cpp):
  // N filters' sums of a vector of pixels stay in registers, the kernel gradient's patch * N sums of
  // vectors in the L1 cache. Or whole vectors of filters over few input channels, vectorised over
  // filters (conv_wide.cpp), where im2col copies runs of only kw*C floats: measured (bench/conv_direct.py,
  // 16 to 128 filters) 1.1-2.5x faster forward and 1.1-2x faster kernel gradient than im2col + GEMM up
  // to 12 channels and patches of 147 (7x7x3); at 16 channels the forward was up to 10% slower, at 32
  // (3x3, 14x14 images) forward and backward together 8% slower.
  static constexpr int64_t kMaxFilters = 8, kMaxSums = 512;
  static constexpr int64_t kMaxWideChannels = 12, kMaxWidePatch = 160;
  static bool wide(const ConvGeom& g, int64_t N) {
    return N >= kLanes && N % kLanes == 0 && g.C <= kMaxWideChannels && g.patch() <= kMaxWidePatch;
  }
  static bool takes(const ConvGeom& g, int64_t N) {
    return (N <= kMaxFilters && g.patch() * N <= kMaxSums) || wide(g, N);
  }
  int64_t Hp, Wq, row;  // padded rows per channel, floats per phase, floats per padded row (sw * Wq)
  explicit ConvPlanes(const ConvGeom& g)
      : Hp((g.OH - 1) * g.sh + (g.kh - 1) * g.dh + 1),
        Wq((g.OW + kLanes - 1) / kLanes * kLanes + (g.kw - 1) * g.dw / g.sw),
        row(g.sw * Wq) {}
  int64_t size(const ConvGeom& g) const { return g.B * g.C * Hp * row; }
  int64_t channel() const { return Hp * row; }  // floats from one channel's planes to the next
  // tap (i, j) of a pixel, in floats from the pixel's float in channel 0's padded row oh*sh
  int64_t tap(const ConvGeom& g, int64_t i, int64_t j) const {
    return i * g.dh * row + j * g.dw % g.sw * Wq + j * g.dw / g.sw;
  }
};

// Winograd F(m x m, 3x3) (the winograd_* kernels): output tiles of m x m pixels (m = kWinogradTile),
// ceil(OH/m) x ceil(OW/m) an image, each with kWinogradPoints = (m + 2)^2 transform points.
constexpr int64_t kWinogradTile = 4, kWinogradPoints = (kWinogradTile + 2) * (kWinogradTile + 2);
inline int64_t winograd_tiles(const ConvGeom& g, int64_t images) {
  return images * ((g.OH + kWinogradTile - 1) / kWinogradTile) * ((g.OW + kWinogradTile - 1) / kWinogradTile);
}

#define FF_KERNEL(ret, name, params) ret name params;
namespace cpu {
#include "kernels/kernels.def"
}  // namespace cpu
namespace cuda {
#include "kernels/kernels.def"
}  // namespace cuda
#undef FF_KERNEL

// One function pointer per kernel, of the type of &cpu::name: how FF_DISPATCH reaches a GPU kernel.
struct KernelTable {
#define FF_KERNEL(ret, name, params) ret(*name) params;
#include "kernels/kernels.def"
#undef FF_KERNEL
};

}  // namespace fastfit
