// Conv1D / Conv2D, channels last (bias and activation fused into the product, as Dense), and the
// helpers every convolution shares (ops/conv.h). Products run as im2col + GEMM on blocks of output
// rows, or as the direct kernels for few filters.
#include "ops/conv.h"

#include <algorithm>

namespace fastfit {

constexpr int64_t kBlockFloats = 1 << 16;  // see conv_block_rows
// Images per Winograd chunk: as many as keep the chunk's transforms (points x tiles x channels in
// and out) within kWinogradFloats, so that they stay in L2 between the transforms and the products.
constexpr int64_t kWinogradFloats = 1 << 17;
int64_t winograd_images(const ConvGeom& g, int64_t N) {
  const int64_t tiles = winograd_tiles(g, 1), per_tile = kWinogradPoints * (g.C + N);
  return std::max<int64_t>(kWinogradFloats / (tiles * per_tile), 1);
}

int64_t conv_block_rows(const ConvGeom& g, int64_t filters) {
  return std::max<int64_t>(kBlockFloats / std::max(g.patch(), filters), 1);
}

bool conv_pointwise(const ConvGeom& g) {
  return g.kh * g.kw == 1 && g.sh * g.sw == 1 && g.pad_h == 0 && g.pad_w == 0;
}

const float* conv_patches(const ConvGeom& g, const float* x, int64_t r0, int64_t n, Device d, Tensor& cols) {
  if (conv_pointwise(g)) return x + r0 * g.C;
  resize_scratch(cols, d, Shape{n, g.patch()});
  FF_DISPATCH(d, im2col)(g, x, r0, r0 + n, cols.f());
  return cols.f();
}

const float* pre_activation_grad(Act act, const float* y, const float* dy, int64_t n, int64_t N, Device d,
                                 Tensor& scratch) {
  if (act == Act::linear) return dy;
  resize_scratch(scratch, d, Shape{n, N});
  FF_DISPATCH(d, act_backward)(act, y, dy, n * N, scratch.f(), false);
  return scratch.f();
}

Act conv_activation(const char* op, const Attrs& a) { return activation_named(op, a.get<std::string>("activation")); }

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

Shape conv_output_shape(const Tensor& x, const ConvGeom& g, int64_t channels) {
  Shape s = x.shape;
  if (x.rank() == 4) s[1] = g.OH;
  s[-2] = g.OW;
  s[-1] = channels;
  return s;
}

Attrs conv_defaults(int rank) {
  Attrs a = window_defaults(rank, true);
  a.set("activation", "linear");
  a.set("use_bias", true);
  return a;
}

Conv::Conv(const char* op, int rank, const Attrs& a)
    : win_(op, rank, a, rank == 1), act_(conv_activation(op, a)), bias_(a.get<bool>("use_bias")) {}

ConvGeom Conv::geometry(const Tensor& x, const Tensor& w) const {
  win_.input(x);
  check_kernel(win_, x, w, -2, win_.rank == 2 ? "(kh, kw, in, out)" : "(k, in, out)");
  return win_.over(x, w.shape.d, "kernel");
}

void Conv::infer(const Tensor* const* in, Shape& s, DType& d) const {
  const ConvGeom g = geometry(*in[0], *in[1]);
  if (bias_) check_bias(win_, *in[2], in[1]->cols());
  s = conv_output_shape(*in[0], g, in[1]->cols());
  d = DType::f32;
}

bool Conv::direct(const ConvGeom& g, int64_t N, Device d) {
  return d == Device::cpu && !conv_pointwise(g) && FF_DISPATCH(d, conv_direct_takes)(g, N);
}

bool Conv::winograd(const ConvGeom& g, int64_t N, Device d) {
  return d == Device::cpu && FF_DISPATCH(d, winograd_takes)(g, N);
}

int64_t Conv::block_rows(const ConvGeom& g, int64_t N, Device d) {
  const int64_t per_image = g.OH * g.OW;
  if (winograd(g, N, d)) return winograd_images(g, N) * per_image;
  if (direct(g, N, d)) return std::max<int64_t>(conv_block_rows(g, N) / per_image, 1) * per_image;
  return conv_block_rows(g, N);
}

const float* Conv::block(const ConvGeom& g, const Tensor& x, int64_t N, int64_t r0, int64_t n, Device d) {
  return kept(g, N) ? cols_.f() + r0 * g.patch() : conv_patches(g, x.f(), r0, n, d, cols_);
}

void Conv::prepare_forward(const ConvGeom& g, const Tensor& x, const Tensor& w, Device d) {
  const int64_t N = w.cols();
  if (direct(g, N, d)) {
    resize_scratch(cols_, d, Shape{ConvPlanes(g).size(g)});
    FF_DISPATCH(d, conv_planes)(g, x.f(), cols_.f());
  } else if (winograd(g, N, d)) {
    resize_scratch(wino_u_, d, Shape{kWinogradPoints, g.C, N});
    FF_DISPATCH(d, winograd_filter)(w.f(), g.C, N, wino_u_.f());
  } else if (kept(g, N)) {
    conv_patches(g, x.f(), 0, g.rows(), d, cols_);
  }
}

// A geometry's images [b0, b0 + nb): the direct kernels' view of a block of whole images.
static ConvGeom images(ConvGeom g, int64_t nb) {
  g.B = nb;
  return g;
}

void Conv::forward_rows(const ExecCtx& ctx, const ConvGeom& g, const Tensor* const* in, int64_t r0, int64_t n,
                        float* y) {
  const Tensor &x = *in[0], &w = *in[1];
  const Device dev = x.device;
  const int64_t K = g.patch(), N = w.cols(), step = conv_block_rows(g, N);
  const float* bias = bias_ ? in[2]->f() : nullptr;
  if (direct(g, N, dev)) {
    const int64_t per_image = g.OH * g.OW;
    FF_DISPATCH(dev, conv_direct_forward)(images(g, n / per_image), N,
                                          cols_.f() + r0 / per_image * g.C * ConvPlanes(g).Hp * ConvPlanes(g).row,
                                          w.f(), bias, act_, y);
    return;
  }
  if (winograd(g, N, dev)) return winograd_forward(ctx, g, in, r0, n, y);
  for (int64_t r = r0; r < r0 + n; r += step) {
    const int64_t m = std::min(step, r0 + n - r);
    FF_DISPATCH(dev, dense_forward)(ctx.threads, m, N, K, block(g, x, N, r, m, dev), w.f(), bias, act_,
                                    y + (r - r0) * N);
  }
}

void Conv::forward(const ExecCtx& ctx, const Tensor* const* in, Tensor& out) {
  const ConvGeom g = geometry(*in[0], *in[1]);
  prepare_forward(g, *in[0], *in[1], out.device);
  forward_rows(ctx, g, in, 0, g.rows(), out.f());
}

void Conv::prepare_backward(const ConvGeom& g, const Tensor& w, Tensor* const* din, const bool* acc) {
  if (!din[0]) return;
  const Device dev = w.device;
  const int64_t K = g.patch(), N = w.cols();
  if (winograd(g, N, dev)) {  // the transform of the kernel with its channels in and out swapped
    resize_scratch(wt_, dev, Shape{9, N, g.C});
    for (int tap = 0; tap < 9; ++tap)
      FF_DISPATCH(dev, transpose_matrix)(w.f() + tap * g.C * N, g.C, N, wt_.f() + tap * N * g.C);
    resize_scratch(wino_u_, dev, Shape{kWinogradPoints, N, g.C});
    FF_DISPATCH(dev, winograd_filter)(wt_.f(), N, g.C, wino_u_.f());
  } else {
    resize_scratch(wt_, dev, Shape{N, K});  // W^T once, for our kernel (B row-major): 1.1x faster than dz W^T
    FF_DISPATCH(dev, transpose_matrix)(w.f(), K, N, wt_.f());
  }
  if (!acc[0] && !conv_pointwise(g)) FF_DISPATCH(dev, fill)(din[0]->f(), din[0]->size(), 0.f);
}

void Conv::backward_rows(const ExecCtx& ctx, const ConvGeom& g, const Tensor& x, int64_t N, const float* dz,
                         int64_t r0, int64_t n, Tensor* const* din, const bool* acc, bool first) {
  const Device dev = x.device;
  const int64_t K = g.patch(), step = conv_block_rows(g, N);
  float* db = bias_ && din[2] ? din[2]->f() : nullptr;
  const bool acc_w = din[1] && (acc[1] || !first), acc_b = db && (acc[2] || !first);
  if (direct(g, N, dev)) {  // the direct kernel's gradient takes the rows' images in one pass
    const int64_t per_image = g.OH * g.OW;
    const float* planes = cols_.f() + r0 / per_image * g.C * ConvPlanes(g).Hp * ConvPlanes(g).row;
    if (din[1])
      FF_DISPATCH(dev, conv_direct_kernel_grad)(images(g, n / per_image), N, planes, dz, din[1]->f(), acc_w, db, acc_b);
    else if (db)
      FF_DISPATCH(dev, column_sum)(dz, n, N, db, acc_b);
    for (int64_t r = r0; din[0] && r < r0 + n; r += step)
      input_grad(ctx, g, N, dz + (r - r0) * N, r, std::min(step, r0 + n - r), din[0]->f(), acc[0]);
    return;
  }
  if (db) FF_DISPATCH(dev, column_sum)(dz, n, N, db, acc_b);
  if (winograd(g, N, dev)) {
    if (din[0] || din[1]) winograd_backward(ctx, g, x, N, dz, r0, n, din, acc_w);
    return;
  }
  if (din[1])  // dW (+)= patches^T dz
    FF_DISPATCH(dev, gemm)(ctx.threads, true, false, K, N, n, 1.f, block(g, x, N, r0, n, dev), dz, acc_w ? 1.f : 0.f,
                           din[1]->f());
  if (din[0]) input_grad(ctx, g, N, dz, r0, n, din[0]->f(), acc[0]);
}

void Conv::backward(const ExecCtx& ctx, const Tensor* const* in, const Tensor& out, const Tensor& dy,
                    Tensor* const* din, const bool* acc) {
  const Tensor &x = *in[0], &w = *in[1];
  const Device dev = out.device;
  const ConvGeom g = geometry(x, w);
  const int64_t M = g.rows(), N = w.cols();
  prepare_backward(g, w, din, acc);
  // Block by block, so that dz stays in cache.
  const int64_t step = block_rows(g, N, dev);
  for (int64_t r0 = 0; r0 < M; r0 += step) {
    const int64_t n = std::min(step, M - r0);
    const float* dz = pre_activation_grad(act_, out.f() + r0 * N, dy.f() + r0 * N, n, N, dev, dz_);
    backward_rows(ctx, g, x, N, dz, r0, n, din, acc, r0 == 0);
  }
}

// dx (+)= the part of dz W^T from output rows [r0, r0 + n), dz their gradient; wt_ holds W^T, and dx
// was zeroed unless acc or pointwise.
void Conv::input_grad(const ExecCtx& ctx, const ConvGeom& g, int64_t N, const float* dz, int64_t r0, int64_t n,
                      float* dx, bool acc) {
  const Device dev = wt_.device;
  const int64_t K = g.patch();
  if (conv_pointwise(g)) {
    FF_DISPATCH(dev, gemm)(ctx.threads, false, false, n, K, N, 1.f, dz, wt_.f(), acc ? 1.f : 0.f, dx + r0 * K);
    return;
  }
  resize_scratch(dcols_, dev, Shape{n, K});  // dpatches = dz W^T, added into dx by col2im
  FF_DISPATCH(dev, gemm)(ctx.threads, false, false, n, K, N, 1.f, dz, wt_.f(), 0.f, dcols_.f());
  FF_DISPATCH(dev, col2im)(g, dcols_.f(), r0, r0 + n, dx);
}

// Winograd on output rows [r0, r0 + n), whole images, in chunks of winograd_images: the input's
// transform, one product per transform point by the kernel's (prepare_forward), the output's
// transform with bias and relu.
void Conv::winograd_forward(const ExecCtx& ctx, const ConvGeom& g, const Tensor* const* in, int64_t r0, int64_t n,
                            float* y) {
  const Device dev = in[0]->device;
  const int64_t C = g.C, N = in[1]->cols(), per_image = g.OH * g.OW, b0 = r0 / per_image, images = n / per_image;
  const int64_t chunk = winograd_images(g, N), most = winograd_tiles(g, std::min(images, chunk));
  resize_scratch(wino_v_, dev, Shape{kWinogradPoints, most, C});
  resize_scratch(wino_m_, dev, Shape{kWinogradPoints, most, N});
  const bool relu = act_ == Act::relu;
  for (int64_t b = 0; b < images; b += chunk) {
    const int64_t nb = std::min(chunk, images - b), T = winograd_tiles(g, nb);
    FF_DISPATCH(dev, winograd_input)(g, in[0]->f() + (b0 + b) * g.H * g.W * C, nb, wino_v_.f());
    for (int xi = 0; xi < kWinogradPoints; ++xi)
      FF_DISPATCH(dev, dense_forward)(ctx.threads, T, N, C, wino_v_.f() + xi * T * C, wino_u_.f() + xi * C * N,
                                      nullptr, Act::linear, wino_m_.f() + xi * T * N);
    float* yb = y + b * per_image * N;
    FF_DISPATCH(dev, winograd_output)(g, N, wino_m_.f(), nb, bias_ ? in[2]->f() : nullptr, relu, yb);
    if (act_ != Act::linear && !relu) FF_DISPATCH(dev, act_forward)(act_, yb, nb * per_image * N, yb);
  }
}

// The kernel's and input's gradients from output rows [r0, r0 + n), whole images, dz their
// pre-activation gradient: the transforms' adjoints around one product per point, chunk by chunk.
void Conv::winograd_backward(const ExecCtx& ctx, const ConvGeom& g, const Tensor& x, int64_t N, const float* dz,
                             int64_t r0, int64_t n, Tensor* const* din, bool acc_w) {
  const Device dev = x.device;
  const auto gemm = FF_DISPATCH(dev, gemm);
  const int64_t C = g.C, per_image = g.OH * g.OW, b0 = r0 / per_image, images = n / per_image;
  const int64_t chunk = winograd_images(g, N), most = winograd_tiles(g, std::min(images, chunk));
  const int64_t image = g.H * g.W * C;
  resize_scratch(wino_m_, dev, Shape{kWinogradPoints, most, N});
  if (din[1]) {
    resize_scratch(wino_v_, dev, Shape{kWinogradPoints, most, C});
    resize_scratch(wino_du_, dev, Shape{kWinogradPoints, C, N});
  }
  if (din[0]) resize_scratch(wino_dv_, dev, Shape{kWinogradPoints, most, C});
  for (int64_t b = 0; b < images; b += chunk) {
    const int64_t nb = std::min(chunk, images - b), T = winograd_tiles(g, nb);
    FF_DISPATCH(dev, winograd_output_grad)(g, N, dz + b * per_image * N, nb, wino_m_.f());
    if (din[1]) {  // du[xi] = v[xi]^T dm[xi]
      FF_DISPATCH(dev, winograd_input)(g, x.f() + (b0 + b) * image, nb, wino_v_.f());
      for (int xi = 0; xi < kWinogradPoints; ++xi)
        gemm(ctx.threads, true, false, C, N, T, 1.f, wino_v_.f() + xi * T * C, wino_m_.f() + xi * T * N, 0.f,
             wino_du_.f() + xi * C * N);
      FF_DISPATCH(dev, winograd_filter_grad)(wino_du_.f(), C, N, din[1]->f(), acc_w || b > 0);
    }
    if (din[0]) {  // dv[xi] = dm[xi] u[xi]^T
      for (int xi = 0; xi < kWinogradPoints; ++xi)
        gemm(ctx.threads, false, false, T, C, N, 1.f, wino_m_.f() + xi * T * N, wino_u_.f() + xi * N * C, 0.f,
             wino_dv_.f() + xi * T * C);
      FF_DISPATCH(dev, winograd_input_grad)(g, wino_dv_.f(), nb, din[0]->f() + (b0 + b) * image);
    }
  }
}

namespace {
const OpRegistrar kConv1D({"conv1d", "Conv1D", conv_defaults(1),
                           [](const Attrs& a) -> OpPtr { return std::make_shared<Conv>("Conv1D", 1, a); }});
const OpRegistrar kConv2D({"conv2d", "Conv2D", conv_defaults(2),
                           [](const Attrs& a) -> OpPtr { return std::make_shared<Conv>("Conv2D", 2, a); }});
}  // namespace

}  // namespace fastfit
