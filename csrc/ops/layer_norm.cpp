// LayerNormalization, fused: each row's mean and variance over the axes from `begin_norm_axis` on, then
// Keras 3's y = (x - mean) / sqrt(var + epsilon) * gamma + beta, with gamma and beta shaped like those axes.
#include "ops/op.h"

namespace fastfit {
namespace {

struct LayerNorm final : Op {
  float eps_;
  int64_t begin_;  // as given; normalised against the input's rank
  bool scale_, center_;
  Tensor stats_;  // each row's mean and 1/std, kept for the backward
  LayerNorm(double eps, int64_t begin, bool scale, bool center)
      : eps_(float(eps)), begin_(begin), scale_(scale), center_(center) {
    FF_CHECK(eps > 0, "layer_norm: `epsilon` must be positive, got " + std::to_string(eps));
  }
  // Inputs: x, then gamma when scale, then beta when center.
  int arity() const override { return 1 + scale_ + center_; }
  bool rowwise(const Tensor* const* in, const bool* b) const override {
    if (b[0] && normalize_axis("layer_norm", "begin_norm_axis", begin_, in[0]->rank()) == 0) return false;
    return !(scale_ && b[1]) && !(center_ && b[1 + scale_]);
  }
  // Rows (M) and the elements each is normalised over (N).
  void dims(const Tensor& x, int64_t& M, int64_t& N) const {
    const int begin = normalize_axis("layer_norm", "begin_norm_axis", begin_, x.rank());
    M = N = 1;
    for (int k = 0; k < x.rank(); ++k) (k < begin ? M : N) *= x.shape[k];
  }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    const Tensor& x = *in[0];
    expect_dtype("layer_norm", "x", x, DType::f32);
    expect_rank_at_least("layer_norm", "x", x, 1);
    const int begin = normalize_axis("layer_norm", "begin_norm_axis", begin_, x.rank());
    Shape param;
    for (int k = begin; k < x.rank(); ++k) param.push(x.shape[k]);
    for (int i = 1; i < arity(); ++i) {
      const char* arg = i == 1 && scale_ ? "gamma" : "beta";
      expect_dtype("layer_norm", arg, *in[i], DType::f32);
      FF_CHECK(in[i]->shape == param, std::string("layer_norm: `") + arg + "` must have shape " + param.str() +
                                          " (the normalized axes of x " + x.shape.str() + "), got " +
                                          in[i]->shape.str());
    }
    s = x.shape;
    d = DType::f32;
  }
  const float* gamma(const Tensor* const* in) const { return scale_ ? in[1]->f() : nullptr; }
  const float* beta(const Tensor* const* in) const { return center_ ? in[1 + scale_]->f() : nullptr; }
  void forward(const ExecCtx&, const Tensor* const* in, Tensor& out) override {
    int64_t M, N;
    dims(*in[0], M, N);
    resize_scratch(stats_, out.device, Shape{M, 2});
    FF_DISPATCH(out.device, layer_norm_forward)(in[0]->f(), M, N, gamma(in), beta(in), eps_, out.f(), stats_.f());
  }
  void backward(const ExecCtx&, const Tensor* const* in, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    int64_t M, N;
    dims(*in[0], M, N);
    Tensor* dgamma = scale_ ? din[1] : nullptr;
    Tensor* dbeta = center_ ? din[1 + scale_] : nullptr;
    FF_DISPATCH(out.device, layer_norm_backward)(
        in[0]->f(), stats_.f(), gamma(in), g.f(), M, N, din[0] ? din[0]->f() : nullptr, acc[0],
        dgamma ? dgamma->f() : nullptr, scale_ && acc[1], dbeta ? dbeta->f() : nullptr, center_ && acc[1 + scale_]);
  }
};

const OpRegistrar kLayerNorm(
    {"layer_norm", "LayerNorm",
     {{"epsilon", 1e-3}, {"begin_norm_axis", int64_t(-1)}, {"scale", true}, {"center", true}},
     [](const Attrs& a) -> OpPtr {
       return std::make_shared<LayerNorm>(a.get<double>("epsilon"), a.get<int64_t>("begin_norm_axis"),
                                          a.get<bool>("scale"), a.get<bool>("center"));
     }});

}  // namespace
}  // namespace fastfit
