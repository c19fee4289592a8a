// Conv2DTranspose and DepthwiseConv2D, channels last (ops/conv.h): the transpose as col2im of a
// product, the depthwise convolution as direct loops.
#include <algorithm>

#include "ops/conv.h"

namespace fastfit {
namespace {

// y = act(conv_transpose(x, W) + b): x (B, H, W, C), W (kh, kw, O, C), b (O) -> (B, OH, OW, O). It is
// the adjoint of the convolution from (OH, OW, O) to (H, W, C) by W: y = col2im(x W^T), W as (kh*kw*O, C).
struct ConvTranspose final : Op {
  Window win_;
  std::vector<int64_t> output_padding_;  // empty: Keras' default
  Act act_;
  bool bias_;
  Tensor cols_, wt_, dz_;
  ConvTranspose(const char* op, const Attrs& a)
      : win_(op, 2, a),
        output_padding_(a.get<std::vector<int64_t>>("output_padding")),
        act_(conv_activation(op, a)),
        bias_(a.get<bool>("use_bias")) {
    if (!output_padding_.empty()) {
      FF_CHECK(int(output_padding_.size()) == win_.rank, std::string(win_.op) + ": `output_padding` must have " +
                                                             std::to_string(win_.rank) + " entries");
      for (int i = 0; i < win_.rank; ++i)
        FF_CHECK(output_padding_[i] >= 0 && output_padding_[i] < win_.stride[i],
                 std::string(win_.op) + ": `output_padding` must be in [0, strides)");
    }
  }
  int arity() const override { return bias_ ? 3 : 2; }
  bool rowwise(const Tensor* const*, const bool* b) const override { return !b[1] && !(bias_ && b[2]); }
  // The convolution's geometry: its image is y, its windows are x's pixels. Sizes as Keras computes
  // them; padding as TensorFlow derives it from them.
  ConvGeom geometry(const Tensor& x, const Tensor& w) const {
    ConvGeom g = win_.input(x);
    check_kernel(win_, x, w, -1, "(kh, kw, out, in)");
    const int64_t in[2] = {g.H, g.W};
    int64_t out[2], pad[2];
    for (int i = 0; i < 2; ++i) {
      const int64_t s = win_.stride[i], span = (w.shape[i] - 1) * win_.dilation[i] + 1;
      const bool given = !output_padding_.empty();
      if (win_.padding == Padding::valid)
        out[i] = (in[i] - 1) * s + span + (given ? output_padding_[i] : std::max(span, s) - span);
      else out[i] = given ? (in[i] - 1) * s + span % 2 + output_padding_[i] : in[i] * s;
      pad[i] = win_.padding == Padding::same ? std::max<int64_t>((in[i] - 1) * s + span - out[i], 0) / 2 : 0;
    }
    g.OH = g.H;
    g.OW = g.W;
    g.H = out[0];
    g.W = out[1];
    g.C = w.shape[2];
    g.kh = w.shape[0];
    g.kw = w.shape[1];
    g.sh = win_.stride[0];
    g.sw = win_.stride[1];
    g.dh = win_.dilation[0];
    g.dw = win_.dilation[1];
    g.pad_h = pad[0];
    g.pad_w = pad[1];
    return g;
  }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    const ConvGeom g = geometry(*in[0], *in[1]);
    if (bias_) check_bias(win_, *in[2], g.C);
    s = Shape{g.B, g.H, g.W, g.C};
    d = DType::f32;
  }
  void forward(const ExecCtx& ctx, const Tensor* const* in, Tensor& out) override {
    const Tensor &x = *in[0], &w = *in[1];
    const Device dev = out.device;
    const ConvGeom g = geometry(x, w);
    const int64_t M = g.rows(), K = g.patch(), C = x.cols(), step = conv_block_rows(g, C);
    resize_scratch(wt_, dev, Shape{C, K});
    FF_DISPATCH(dev, transpose_matrix)(w.f(), K, C, wt_.f());
    if (bias_) FF_DISPATCH(dev, fill_rows)(in[2]->f(), out.rows(), g.C, out.f());
    else FF_DISPATCH(dev, fill)(out.f(), out.size(), 0.f);
    for (int64_t r0 = 0; r0 < M; r0 += step) {
      const int64_t n = std::min(step, M - r0);
      resize_scratch(cols_, dev, Shape{n, K});
      FF_DISPATCH(dev, gemm)(ctx.threads, false, false, n, K, C, 1.f, x.f() + r0 * C, wt_.f(), 0.f, cols_.f());
      FF_DISPATCH(dev, col2im)(g, cols_.f(), r0, r0 + n, out.f());
    }
    if (act_ != Act::linear) FF_DISPATCH(dev, act_forward)(act_, out.f(), out.size(), out.f());
  }
  void backward(const ExecCtx& ctx, const Tensor* const* in, const Tensor& out, const Tensor& dy, Tensor* const* din,
                const bool* acc) override {
    const Tensor &x = *in[0], &w = *in[1];
    const Device dev = out.device;
    const auto gemm = FF_DISPATCH(dev, gemm);
    const ConvGeom g = geometry(x, w);
    const int64_t M = g.rows(), K = g.patch(), C = x.cols(), step = conv_block_rows(g, C);
    const float* dz = pre_activation_grad(act_, out.f(), dy.f(), out.rows(), out.cols(), out.device, dz_);
    if (bias_ && din[2]) FF_DISPATCH(dev, column_sum)(dz, out.rows(), g.C, din[2]->f(), acc[2]);
    for (int64_t r0 = 0; r0 < M; r0 += step) {
      const int64_t n = std::min(step, M - r0);
      const float* cols = conv_patches(g, dz, r0, n, dev, cols_);
      if (din[0])  // dx = patches(dz) W
        gemm(ctx.threads, false, false, n, C, K, 1.f, cols, w.f(), acc[0] ? 1.f : 0.f, din[0]->f() + r0 * C);
      if (din[1])  // dW (+)= patches(dz)^T x
        gemm(ctx.threads, true, false, K, C, n, 1.f, cols, x.f() + r0 * C, acc[1] || r0 > 0 ? 1.f : 0.f, din[1]->f());
    }
  }
};

// y = act(depthwise(x, W) + b): x (B, H, W, C), W (kh, kw, C, M), b (C*M) -> (B, OH, OW, C*M), output
// channel c*M + m from input channel c (TensorFlow's order). Direct loops: no product to hand to a GEMM.
struct DepthwiseConv final : Op {
  Window win_;
  Act act_;
  bool bias_;
  Tensor dz_;
  DepthwiseConv(const char* op, const Attrs& a)
      : win_(op, 2, a), act_(conv_activation(op, a)), bias_(a.get<bool>("use_bias")) {}
  int arity() const override { return bias_ ? 3 : 2; }
  bool rowwise(const Tensor* const*, const bool* b) const override { return !b[1] && !(bias_ && b[2]); }
  ConvGeom geometry(const Tensor& x, const Tensor& w) const {
    win_.input(x);
    check_kernel(win_, x, w, -2, "(kh, kw, in, depth_multiplier)");
    return win_.over(x, w.shape.d, "kernel");
  }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    const ConvGeom g = geometry(*in[0], *in[1]);
    if (bias_) check_bias(win_, *in[2], g.C * in[1]->cols());
    s = conv_output_shape(*in[0], g, g.C * in[1]->cols());
    d = DType::f32;
  }
  void forward(const ExecCtx&, const Tensor* const* in, Tensor& out) override {
    const Tensor &x = *in[0], &w = *in[1];
    FF_DISPATCH(out.device, depthwise_conv_forward)(geometry(x, w), w.cols(), x.f(), w.f(),
                                                    bias_ ? in[2]->f() : nullptr, out.f());
    if (act_ != Act::linear) FF_DISPATCH(out.device, act_forward)(act_, out.f(), out.size(), out.f());
  }
  void backward(const ExecCtx&, const Tensor* const* in, const Tensor& out, const Tensor& dy, Tensor* const* din,
                const bool* acc) override {
    const Tensor &x = *in[0], &w = *in[1];
    const float* dz = pre_activation_grad(act_, out.f(), dy.f(), out.rows(), out.cols(), out.device, dz_);
    if (bias_ && din[2]) FF_DISPATCH(out.device, column_sum)(dz, out.rows(), out.cols(), din[2]->f(), acc[2]);
    if (din[0] || din[1])
      FF_DISPATCH(out.device, depthwise_conv_backward)(geometry(x, w), w.cols(), x.f(), w.f(), dz,
                                                       din[0] ? din[0]->f() : nullptr, acc[0],
                                                       din[1] ? din[1]->f() : nullptr, acc[1]);
  }
};

const OpRegistrar kConv2DTranspose(
    {"conv2d_transpose", "Conv2DTranspose",
     [] {
       Attrs a = conv_defaults(2);
       a.set("output_padding", std::vector<int64_t>{});  // empty: Keras' default sizes
       return a;
     }(),
     [](const Attrs& a) -> OpPtr { return std::make_shared<ConvTranspose>("Conv2DTranspose", a); }});
const OpRegistrar kDepthwiseConv2D(
    {"depthwise_conv2d", "DepthwiseConv2D", conv_defaults(2),
     [](const Attrs& a) -> OpPtr { return std::make_shared<DepthwiseConv>("DepthwiseConv2D", a); }});

}  // namespace
}  // namespace fastfit
