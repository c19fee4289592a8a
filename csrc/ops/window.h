// Sliding windows over channels-last inputs (convolution, pooling): the strides / padding / dilation
// attributes, and the output size and padding rules as TensorFlow computes them.
#pragma once
#include "ops/op.h"

namespace fastfit {

enum class Padding { valid, same, causal };  // causal: 1-D convolutions only

struct Window {
  const char* op;  // the op's name, for messages
  int rank;        // spatial axes: 1 or 2
  int64_t stride[2] = {1, 1}, dilation[2] = {1, 1};
  Padding padding;
  // From the attributes `strides`, `padding` and, when registered, `dilation_rate`: ValueError if bad.
  Window(const char* op, int rank, const Attrs& a, bool causal_ok = false);
  // `x` (B, [H,] W, C) as the windows see it: (B, H, W, C), H = 1 in 1-D. ValueError if the rank is wrong.
  ConvGeom input(const Tensor& x) const;
  // The geometry of windows of `size` over `x`: output size and padding before each axis ('valid': none,
  // 'same': ceil(in / stride) outputs, half the padding before; 'causal': all of it before). A window
  // larger than a 'valid' input is a ValueError naming it as `what` ("kernel", "pool_size").
  ConvGeom over(const Tensor& x, const int64_t* size, const char* what) const;
};

// out = the list attribute `name` of `rank` positive integers, or ValueError.
void read_sizes(const char* op, int rank, const Attrs& a, const char* name, int64_t* out);
// Registration defaults: strides 1 (or none), padding 'valid', and dilation_rate 1 when `dilation`.
Attrs window_defaults(int rank, bool dilation);
// "3x5" (2-D) or "3" (1-D): sizes as messages print them.
std::string dims_str(const int64_t* d, int rank);

}  // namespace fastfit
