// The kernel interface: every kernel of kernels.def, declared for the CPU and for CUDA.
#pragma once
#include <cstdint>

#include "core/tensor.h"

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
};

// A sliding window over channels-last images (convolution, pooling): input (B, H, W, C), output
// (B, OH, OW, .), window kh x kw with strides, dilations and the zero padding before each spatial axis
// (ops/window.h computes them). 1-D: H = OH = kh = 1. Output row r = (b, oh, ow), row-major.
struct ConvGeom {
  int64_t B, H, W, C, OH, OW, kh, kw, sh, sw, dh, dw, pad_h, pad_w;
  int64_t rows() const { return B * OH * OW; }
  int64_t patch() const { return kh * kw * C; }  // one output row's window, flattened as (i, j, c)
};

#define FF_KERNEL(ret, name, params) ret name params;
namespace cpu {
#include "kernels/kernels.def"
}  // namespace cpu
namespace cuda {
#include "kernels/kernels.def"
}  // namespace cuda
#undef FF_KERNEL

}  // namespace fastfit
