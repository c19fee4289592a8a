// A Conv1D/2D with a relu or linear activation followed by a MaxPooling1D/2D that alone reads it, as one op
// (the Program fuses them: train/fusion.cpp). It runs on blocks of images whose convolution output
// stays in the L2 cache from the product to the pooling, and in the backward from the scatter of
// the pooled gradient to the products: the unfused pair streamed the whole output (2.7 MB a shard on
// the Fashion-MNIST CNN's first layer) through memory five times per step.
//
// The backward applies the activation's derivative at the pooled outputs, before the scatter: a
// maximum's output is the pooled value, and every other element's gradient is 0 (relu's derivative
// is 0 or 1, linear's 1: exactly what the pair computes).
#include <algorithm>

#include "ops/conv.h"

namespace fastfit {
namespace {

// The pooling's attributes, from the fused op's `pool_*` ones.
Attrs pool_attrs(const Attrs& a, int rank) {
  Attrs p = window_defaults(rank, false);
  p.set("strides", a.get<std::vector<int64_t>>("pool_strides"));
  p.set("padding", a.get<std::string>("pool_padding"));
  return p;
}

struct ConvMaxPool final : Conv {
  Window pool_;
  Tensor y_, dz_block_, dpool_, argmax_;  // a block's convolution output and its gradient; the pooled
                                          // gradient before the scatter; the maxima's indices (per block)
  int64_t size_[2] = {1, 1};
  ConvMaxPool(int rank, const Attrs& a)
      : Conv(rank == 2 ? "Conv2D" : "Conv1D", rank, a),
        pool_(rank == 2 ? "MaxPool2D" : "MaxPool1D", rank, pool_attrs(a, rank)) {
    FF_CHECK(act_ == Act::linear || act_ == Act::relu, "Conv+MaxPool: the activation must be relu or linear");
    read_sizes(pool_.op, rank, a, "pool_size", size_);
  }
  // The pooling's geometry over the convolution's output (`images` of them).
  ConvGeom pooling(const ConvGeom& conv, int64_t N, int64_t images) const {
    Tensor y;
    y.shape = win_.rank == 2 ? Shape{images, conv.OH, conv.OW, N} : Shape{images, conv.OW, N};
    y.dtype = DType::f32;
    return pool_.over(y, size_, "pool_size");
  }
  // Images per block: as many as the convolution's blocks of rows hold (at least one).
  static int64_t block_images(const ConvGeom& g, int64_t N, Device d) {
    return std::max<int64_t>(std::min(block_rows(g, N, d) / (g.OH * g.OW), g.B), 1);
  }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    Conv::infer(in, s, d);
    const ConvGeom p = pooling(geometry(*in[0], *in[1]), in[1]->cols(), in[0]->shape[0]);
    s = win_.rank == 2 ? Shape{p.B, p.OH, p.OW, p.C} : Shape{p.B, p.OW, p.C};
  }
  void forward(const ExecCtx& ctx, const Tensor* const* in, Tensor& out) override {
    const Device dev = out.device;
    const ConvGeom g = geometry(*in[0], *in[1]);
    const int64_t N = in[1]->cols(), nb = block_images(g, N, dev), rows = g.OH * g.OW;
    const ConvGeom p = pooling(g, N, nb);
    const int64_t pooled = p.OH * p.OW * N;  // floats per image
    prepare_forward(g, *in[0], *in[1], dev);
    resize_scratch(y_, dev, Shape{nb * rows, N});
    resize_scratch(argmax_, dev, out.shape, DType::i32);
    for (int64_t b = 0; b < g.B; b += nb) {
      const int64_t n = std::min(nb, g.B - b);
      forward_rows(ctx, g, in, b * rows, n * rows, y_.f());
      ConvGeom pb = p;
      pb.B = n;  // block-local maxima: argmax indexes the block's output
      FF_DISPATCH(dev, max_pool_forward)(pb, y_.f(), out.f() + b * pooled, argmax_.i32() + b * pooled);
    }
  }
  void backward(const ExecCtx& ctx, const Tensor* const* in, const Tensor& out, const Tensor& dy, Tensor* const* din,
                const bool* acc) override {
    const Tensor &x = *in[0], &w = *in[1];
    const Device dev = out.device;
    const ConvGeom g = geometry(x, w);
    const int64_t N = w.cols(), nb = block_images(g, N, dev), rows = g.OH * g.OW;
    const ConvGeom p = pooling(g, N, nb);
    const int64_t pooled = p.OH * p.OW * N;
    prepare_backward(g, w, din, acc);
    const float* dyp = pre_activation_grad(act_, out.f(), dy.f(), out.rows(), N, dev, dpool_);
    // The bias' gradient from the pooled gradient: each lands on one element of dz, the rest are 0.
    if (bias_ && din[2]) FF_DISPATCH(dev, column_sum)(dyp, out.rows(), N, din[2]->f(), acc[2]);
    Tensor* const no_bias[3] = {din[0], din[1], nullptr};
    resize_scratch(dz_block_, dev, Shape{nb * rows, N});
    for (int64_t b = 0; b < g.B; b += nb) {
      const int64_t n = std::min(nb, g.B - b);
      ConvGeom pb = p;
      pb.B = n;
      FF_DISPATCH(dev, max_pool_backward)(pb, argmax_.i32() + b * pooled, dyp + b * pooled, dz_block_.f(), false);
      backward_rows(ctx, g, x, N, dz_block_.f(), b * rows, n * rows, no_bias, acc, b == 0);
    }
  }
};

Attrs conv_max_pool_defaults(int rank) {
  Attrs a = conv_defaults(rank);
  a.set("pool_size", std::vector<int64_t>(rank, 2));
  a.set("pool_strides", std::vector<int64_t>(rank, 2));
  a.set("pool_padding", "valid");
  return a;
}

const OpRegistrar kConv1DMaxPool({"conv1d_max_pool1d", "Conv1D+MaxPool1D", conv_max_pool_defaults(1),
                                  [](const Attrs& a) -> OpPtr { return std::make_shared<ConvMaxPool>(1, a); }});
const OpRegistrar kConv2DMaxPool({"conv2d_max_pool2d", "Conv2D+MaxPool2D", conv_max_pool_defaults(2),
                                  [](const Attrs& a) -> OpPtr { return std::make_shared<ConvMaxPool>(2, a); }});

}  // namespace
}  // namespace fastfit
