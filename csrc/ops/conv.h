// Convolutions, channels last: what Conv1D / Conv2D (conv.cpp), their fusion with a max pooling
// (conv_pool.cpp) and Conv2DTranspose / DepthwiseConv2D (conv_variants.cpp) share.
#pragma once
#include "ops/window.h"

namespace fastfit {

// Output rows per block: a block's patches and output gradients (rows x patch or filters floats, 256 KB
// at most) stay in the L2 cache from their making to their products, and the backward makes the
// patches anew rather than keep the whole matrix. On the Fashion-MNIST CNN, training ran 1.5x faster
// than with the whole batch as one block, and slower with blocks of half or twice this size.
int64_t conv_block_rows(const ConvGeom& g, int64_t filters);
// A 1x1 convolution with stride 1 and no padding: its im2col matrix is x itself.
bool conv_pointwise(const ConvGeom& g);
// Rows [r0, r0 + n) of the im2col matrix of x under g, copied into `cols`, or x itself when pointwise.
const float* conv_patches(const ConvGeom& g, const float* x, int64_t r0, int64_t n, Device d, Tensor& cols);
// dz = dy * act'(y) over n rows of `N` floats from y and dy, into `scratch`; dy itself for a linear activation.
const float* pre_activation_grad(Act act, const float* y, const float* dy, int64_t n, int64_t N, Device d,
                                 Tensor& scratch);
Act conv_activation(const char* op, const Attrs& a);  // the attribute `activation`
// The kernel's rank and input channels (axis `in_axis`), and the bias' shape: ValueError naming them.
void check_kernel(const Window& win, const Tensor& x, const Tensor& w, int in_axis, const char* layout);
void check_bias(const Window& win, const Tensor& b, int64_t n);
// x's shape with the spatial axes of g's output and `channels` channels.
Shape conv_output_shape(const Tensor& x, const ConvGeom& g, int64_t channels);
// Every convolution's attributes: the window's, `activation` (fused) and `use_bias`.
Attrs conv_defaults(int rank);

// y = act(conv(x, W) + b): x (B, [H,] W, C), W ([kh,] kw, C, O), b (O) -> (B, [OH,] OW, O). Few
// filters, or many over few input channels, run the direct kernels (ConvPlanes::takes: conv_direct.cpp,
// conv_wide.cpp), 3x3 ones with stride 1 over many channels Winograd, the others im2col + GEMM on
// blocks of rows. The steps are public for the fused convolution and pooling (conv_pool.cpp), which
// runs them on blocks of images whose outputs stay in cache.
struct Conv : Op {
  Window win_;
  Act act_;
  bool bias_;
  // scratch: x's planes or patches (kept for the backward when so), a block of the patches' gradient,
  // W^T (per tap, for Winograd), the pre-activation gradient; Winograd's transforms of the kernel (or
  // of W^T), of a
  // chunk of images and of their products or output gradients, and the kernel's and input's gradients
  Tensor cols_, dcols_, wt_, dz_;
  Tensor wino_u_, wino_v_, wino_m_, wino_dv_, wino_du_;

  Conv(const char* op, int rank, const Attrs& a);
  int arity() const override { return bias_ ? 3 : 2; }
  bool rowwise(const Tensor* const*, const bool* b) const override { return !b[1] && !(bias_ && b[2]); }
  ConvGeom geometry(const Tensor& x, const Tensor& w) const;
  void infer(const Tensor* const* in, Shape& s, DType& d) const override;
  void forward(const ExecCtx& ctx, const Tensor* const* in, Tensor& out) override;
  void backward(const ExecCtx& ctx, const Tensor* const* in, const Tensor& out, const Tensor& dy, Tensor* const* din,
                const bool* acc) override;

  // The direct kernels take it (CPU only; the GPU runs im2col + GEMM).
  static bool direct(const ConvGeom& g, int64_t N, Device d);
  // Winograd F(4x4, 3x3) takes it (CPU only): 3x3 kernels, stride 1, dilation 1, 16 or more channels
  // in and out, where 36 multiply-adds replace 144 per 4x4 outputs (kernels/cpu/conv_winograd.cpp).
  static bool winograd(const ConvGeom& g, int64_t N, Device d);
  // Output rows per block of the backward (and of the fused pooling's blocks): whole images where
  // Winograd (a chunk of them) or the direct kernels run, else conv_block_rows.
  static int64_t block_rows(const ConvGeom& g, int64_t N, Device d);
  // The forward's copy of x for the whole batch, kept for the backward: the direct kernels' planes, or
  // the patches when no larger than the output (few input channels, where copying them costs the most
  // per multiply-add: 1.5x faster backward on a first layer 3x3 over one channel). Larger patches are
  // copied block by block, twice.
  static bool kept(const ConvGeom& g, int64_t N) { return !conv_pointwise(g) && g.patch() <= N; }
  void prepare_forward(const ConvGeom& g, const Tensor& x, const Tensor& w, Device d);
  // y = act(conv + b) of output rows [r0, r0 + n) (whole images on the direct and Winograd paths),
  // after prepare_forward.
  void forward_rows(const ExecCtx& ctx, const ConvGeom& g, const Tensor* const* in, int64_t r0, int64_t n, float* y);
  // Before backward_rows: W^T (or its Winograd transform) for the input gradient, which is zeroed
  // unless added to.
  void prepare_backward(const ConvGeom& g, const Tensor& w, Tensor* const* din, const bool* acc);
  // The gradients from output rows [r0, r0 + n) (whole images on the direct and Winograd paths), dz
  // their pre-activation gradient: added to the bias' and kernel's (written when `first` and not acc) and
  // to the input's.
  void backward_rows(const ExecCtx& ctx, const ConvGeom& g, const Tensor& x, int64_t N, const float* dz, int64_t r0,
                     int64_t n, Tensor* const* din, const bool* acc, bool first);

 private:
  const float* block(const ConvGeom& g, const Tensor& x, int64_t N, int64_t r0, int64_t n, Device d);
  void input_grad(const ExecCtx& ctx, const ConvGeom& g, int64_t N, const float* dz, int64_t r0, int64_t n,
                  float* dx, bool acc);
  void winograd_forward(const ExecCtx& ctx, const ConvGeom& g, const Tensor* const* in, int64_t r0, int64_t n,
                        float* y);
  void winograd_backward(const ExecCtx& ctx, const ConvGeom& g, const Tensor& x, int64_t N, const float* dz,
                         int64_t r0, int64_t n, Tensor* const* din, bool acc_w);
};

}  // namespace fastfit
