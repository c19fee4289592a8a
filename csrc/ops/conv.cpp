// Convolutions, channels last: Conv1D / Conv2D (bias and activation fused into the product, as Dense),
// Conv2DTranspose and DepthwiseConv2D. Products run as im2col + GEMM on blocks of output rows.
#include <algorithm>

#include "ops/window.h"

namespace fastfit {
namespace {

// Output rows per block: a block's patches and output gradients (rows x patch or filters floats, 256 KB
// at most) stay in the L2 cache from their making to their products, and the backward makes the
// patches anew rather than keep the whole matrix. On the Fashion-MNIST CNN, training ran 1.5x faster
// than with the whole batch as one block, and slower with blocks of half or twice this size.
constexpr int64_t kBlockFloats = 1 << 16;

// Rows [r0, r0 + n) of the im2col matrix of x under g, copied into `cols`, or x itself when the
// convolution is pointwise (1x1, stride 1, no padding), where the two are the same.
bool pointwise(const ConvGeom& g) {
  return g.kh * g.kw == 1 && g.sh * g.sw == 1 && g.pad_h == 0 && g.pad_w == 0;
}
const float* patches(const ConvGeom& g, const float* x, int64_t r0, int64_t n, Device d, Tensor& cols) {
  if (pointwise(g)) return x + r0 * g.C;
  resize_scratch(cols, d, Shape{n, g.patch()});
  FF_DISPATCH(d, im2col)(g, x, r0, r0 + n, cols.f());
  return cols.f();
}
int64_t block_rows(const ConvGeom& g, int64_t filters) {
  return std::max<int64_t>(kBlockFloats / std::max(g.patch(), filters), 1);
}

// dz = dy * act'(y) on rows [r0, r0 + n) of y, into `scratch`; dy's rows themselves for a linear activation.
const float* pre_activation_grad(Act act, const Tensor& y, const Tensor& dy, int64_t r0, int64_t n, Tensor& scratch) {
  const int64_t N = y.cols();
  if (act == Act::linear) return dy.f() + r0 * N;
  resize_scratch(scratch, y.device, Shape{n, N});
  FF_DISPATCH(y.device, act_backward)(act, y.f() + r0 * N, dy.f() + r0 * N, n * N, scratch.f(), false);
  return scratch.f();
}

Act activation_of(const char* op, const Attrs& a) { return activation_named(op, a.get<std::string>("activation")); }

// The shape checks every convolution shares: the kernel's rank and input channels (axis `in_axis`).
void check_kernel(const Window& win, const Tensor& x, const Tensor& w, int in_axis, const char* layout) {
  expect_dtype(win.op, "kernel", w, DType::f32);
  FF_CHECK(w.rank() == win.rank + 2,
           std::string(win.op) + ": kernel must have shape " + layout + ", got " + w.shape.str());
  FF_CHECK(w.shape[in_axis] == x.shape[-1], std::string(win.op) + ": the kernel " + w.shape.str() + " expects " +
                                                std::to_string(w.shape[in_axis]) +
                                                " input channels, got inputs of shape " + x.shape.str());
}
void check_bias(const Window& win, const Tensor& b, int64_t n) {
  FF_CHECK(b.rank() == 1 && b.shape[0] == n,
           std::string(win.op) + ": bias must have shape (" + std::to_string(n) + ",), got " + b.shape.str());
}
Shape spatial_shape(const Tensor& x, const ConvGeom& g, int64_t channels) {
  Shape s = x.shape;
  if (x.rank() == 4) s[1] = g.OH;
  s[-2] = g.OW;
  s[-1] = channels;
  return s;
}

// y = act(conv(x, W) + b): x (B, [H,] W, C), W ([kh,] kw, C, O), b (O) -> (B, [OH,] OW, O). Few
// filters run the direct kernels (conv_direct.cpp), the others im2col + GEMM on blocks of rows.
struct Conv final : Op {
  Window win_;
  Act act_;
  bool bias_;
  // scratch: x's planes or patches (kept for the backward when so), a block of the patches' gradient,
  // W^T, the pre-activation gradient
  Tensor cols_, dcols_, wt_, dz_;
  Conv(const char* op, int rank, const Attrs& a)
      : win_(op, rank, a, rank == 1), act_(activation_of(op, a)), bias_(a.get<bool>("use_bias")) {}
  int arity() const override { return bias_ ? 3 : 2; }
  bool rowwise(const Tensor* const*, const bool* b) const override { return !b[1] && !(bias_ && b[2]); }
  ConvGeom geometry(const Tensor& x, const Tensor& w) const {
    win_.input(x);
    check_kernel(win_, x, w, -2, win_.rank == 2 ? "(kh, kw, in, out)" : "(k, in, out)");
    return win_.over(x, w.shape.d, "kernel");
  }
  // The direct kernels are CPU kernels (the GPU runs im2col + GEMM).
  static bool direct(const ConvGeom& g, int64_t N, Device d) {
    return d == Device::cpu && !pointwise(g) && FF_DISPATCH(d, conv_direct_takes)(g, N);
  }
  // Patches no larger than the output (few input channels, where copying them costs the most per
  // multiply-add) are copied for the whole batch in the forward and kept for the backward: 1.5x faster
  // backward on a first layer 3x3 over one channel. Larger ones are copied block by block, twice.
  static bool kept(const ConvGeom& g, int64_t N) { return !pointwise(g) && g.patch() <= N; }
  const float* block(const ConvGeom& g, const Tensor& x, int64_t N, int64_t r0, int64_t n, Device d) {
    return kept(g, N) ? cols_.f() + r0 * g.patch() : patches(g, x.f(), r0, n, d, cols_);
  }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    const ConvGeom g = geometry(*in[0], *in[1]);
    if (bias_) check_bias(win_, *in[2], in[1]->cols());
    s = spatial_shape(*in[0], g, in[1]->cols());
    d = DType::f32;
  }
  void forward(const ExecCtx& ctx, const Tensor* const* in, Tensor& out) override {
    const Tensor &x = *in[0], &w = *in[1];
    const Device dev = out.device;
    const ConvGeom g = geometry(x, w);
    const int64_t M = g.rows(), K = g.patch(), N = w.cols(), step = block_rows(g, N);
    const float* bias = bias_ ? in[2]->f() : nullptr;
    if (direct(g, N, dev)) {
      resize_scratch(cols_, dev, Shape{ConvPlanes(g).size(g)});
      FF_DISPATCH(dev, conv_planes)(g, x.f(), cols_.f());
      FF_DISPATCH(dev, conv_direct_forward)(g, N, cols_.f(), w.f(), bias, act_, out.f());
      return;
    }
    if (kept(g, N)) patches(g, x.f(), 0, M, dev, cols_);
    for (int64_t r0 = 0; r0 < M; r0 += step) {
      const int64_t n = std::min(step, M - r0);
      FF_DISPATCH(dev, dense_forward)(ctx.threads, n, N, K, block(g, x, N, r0, n, dev), w.f(), bias, act_,
                                      out.f() + r0 * N);
    }
  }
  void backward(const ExecCtx& ctx, const Tensor* const* in, const Tensor& out, const Tensor& dy, Tensor* const* din,
                const bool* acc) override {
    const Tensor &x = *in[0], &w = *in[1];
    const Device dev = out.device;
    const ConvGeom g = geometry(x, w);
    const int64_t M = g.rows(), K = g.patch(), N = w.cols(), step = block_rows(g, N);
    if (din[0]) {  // W^T once, for our kernel (B row-major): backward 1.1x faster than OpenBLAS's dz W^T
      resize_scratch(wt_, dev, Shape{N, K});
      FF_DISPATCH(dev, transpose_matrix)(w.f(), K, N, wt_.f());
      if (!acc[0] && !pointwise(g)) FF_DISPATCH(dev, fill)(din[0]->f(), x.size(), 0.f);
    }
    if (direct(g, N, dev)) {  // the direct kernel's gradient takes every row in one pass
      const float* dz = pre_activation_grad(act_, out, dy, 0, M, dz_);
      float* db = bias_ && din[2] ? din[2]->f() : nullptr;
      const bool acc_b = db && acc[2];
      if (din[1]) FF_DISPATCH(dev, conv_direct_kernel_grad)(g, N, cols_.f(), dz, din[1]->f(), acc[1], db, acc_b);
      else if (db) FF_DISPATCH(dev, column_sum)(dz, M, N, db, acc_b);
      for (int64_t r0 = 0; din[0] && r0 < M; r0 += step)
        input_grad(ctx, g, N, dz + r0 * N, r0, std::min(step, M - r0), din[0]->f(), acc[0]);
      return;
    }
    for (int64_t r0 = 0; r0 < M; r0 += step) {  // block by block: dz stays in cache
      const int64_t n = std::min(step, M - r0);
      const float* dzr = pre_activation_grad(act_, out, dy, r0, n, dz_);
      if (bias_ && din[2]) FF_DISPATCH(dev, column_sum)(dzr, n, N, din[2]->f(), acc[2] || r0 > 0);
      if (din[1])  // dW (+)= patches^T dz
        FF_DISPATCH(dev, gemm)(ctx.threads, true, false, K, N, n, 1.f, block(g, x, N, r0, n, dev), dzr,
                               acc[1] || r0 > 0 ? 1.f : 0.f, din[1]->f());
      if (din[0]) input_grad(ctx, g, N, dzr, r0, n, din[0]->f(), acc[0]);
    }
  }
  // dx (+)= the part of dz W^T from output rows [r0, r0 + n), dz their gradient; wt_ holds W^T, and dx
  // was zeroed unless acc or pointwise.
  void input_grad(const ExecCtx& ctx, const ConvGeom& g, int64_t N, const float* dz, int64_t r0, int64_t n,
                  float* dx, bool acc) {
    const Device dev = wt_.device;
    const int64_t K = g.patch();
    if (pointwise(g)) {
      FF_DISPATCH(dev, gemm)(ctx.threads, false, false, n, K, N, 1.f, dz, wt_.f(), acc ? 1.f : 0.f, dx + r0 * K);
      return;
    }
    resize_scratch(dcols_, dev, Shape{n, K});  // dpatches = dz W^T, added into dx by col2im
    FF_DISPATCH(dev, gemm)(ctx.threads, false, false, n, K, N, 1.f, dz, wt_.f(), 0.f, dcols_.f());
    FF_DISPATCH(dev, col2im)(g, dcols_.f(), r0, r0 + n, dx);
  }
};

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
        act_(activation_of(op, a)),
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
    const int64_t M = g.rows(), K = g.patch(), C = x.cols(), step = block_rows(g, C);
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
    const int64_t M = g.rows(), K = g.patch(), C = x.cols(), step = block_rows(g, C);
    const float* dz = pre_activation_grad(act_, out, dy, 0, out.rows(), dz_);
    if (bias_ && din[2]) FF_DISPATCH(dev, column_sum)(dz, out.rows(), g.C, din[2]->f(), acc[2]);
    for (int64_t r0 = 0; r0 < M; r0 += step) {
      const int64_t n = std::min(step, M - r0);
      const float* cols = patches(g, dz, r0, n, dev, cols_);
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
      : win_(op, 2, a), act_(activation_of(op, a)), bias_(a.get<bool>("use_bias")) {}
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
    s = spatial_shape(*in[0], g, g.C * in[1]->cols());
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
    const float* dz = pre_activation_grad(act_, out, dy, 0, out.rows(), dz_);
    if (bias_ && din[2]) FF_DISPATCH(out.device, column_sum)(dz, out.rows(), out.cols(), din[2]->f(), acc[2]);
    if (din[0] || din[1])
      FF_DISPATCH(out.device, depthwise_conv_backward)(geometry(x, w), w.cols(), x.f(), w.f(), dz,
                                                       din[0] ? din[0]->f() : nullptr, acc[0],
                                                       din[1] ? din[1]->f() : nullptr, acc[1]);
  }
};

// Every convolution's attributes: the window's, `activation` (fused) and `use_bias`.
Attrs conv_defaults(int rank) {
  Attrs a = window_defaults(rank, true);
  a.set("activation", "linear");
  a.set("use_bias", true);
  return a;
}

const OpRegistrar kConv1D({"conv1d", "Conv1D", conv_defaults(1),
                           [](const Attrs& a) -> OpPtr { return std::make_shared<Conv>("Conv1D", 1, a); }});
const OpRegistrar kConv2D({"conv2d", "Conv2D", conv_defaults(2),
                           [](const Attrs& a) -> OpPtr { return std::make_shared<Conv>("Conv2D", 2, a); }});
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
