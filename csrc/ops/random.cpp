// Random ops: Dropout, and random numbers shaped like a tensor (the noise of GaussianNoise,
// GaussianDropout, AlphaDropout, SpatialDropout), drawing counter-based random numbers
// (kernels/cpu/random.cpp) from a state [seed, counter] that is an input, as Keras 3's SeedGenerator
// state, so traces replay it.
#include <cstdio>

#include "ops/op.h"

namespace fastfit {

void advance_random_state(Tensor& state) { FF_DISPATCH(state.device, random_advance)(state.i32()); }

namespace {

// y = x / keep_prob where the element is kept (probability keep_prob = 1 - rate), else 0. Element c
// of row r (rows: along axis 0) draws number (row0 + r) * row size + c of the stream, so a batch
// split across threads draws the numbers of the whole.
struct Dropout final : Op {
  float keep_;
  Tensor mask_;  // 1 / keep_prob where kept, else 0: the backward is dy * mask
  explicit Dropout(double rate) : keep_(float(1.0 - rate)) {
    char got[32];
    std::snprintf(got, sizeof got, "%g", rate);
    FF_CHECK(rate >= 0.0 && rate <= 1.0, std::string("dropout: `rate` must be between 0 and 1, got ") + got);
  }
  int arity() const override { return 2; }
  bool differentiable(int i) const override { return i == 0; }
  int random_state() const override { return 1; }
  bool rowwise(const Tensor* const*, const bool* b) const override { return !b[1]; }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    expect_dtype("dropout", "x", *in[0], DType::f32);
    expect_dtype("dropout", "state", *in[1], DType::i32);
    FF_CHECK(in[1]->shape == Shape{2}, "dropout: `state` must have shape (2,) (seed, counter), got " +
                                           in[1]->shape.str());
    s = in[0]->shape;
    d = DType::f32;
  }
  void forward(const ExecCtx& ctx, const Tensor* const* in, Tensor& out) override {
    const Tensor& x = *in[0];
    const int64_t row_size = x.rank() && x.shape[0] ? x.size() / x.shape[0] : 1;
    resize_scratch(mask_, out.device, x.shape);
    FF_DISPATCH(out.device, dropout_forward)(x.f(), x.size(), in[1]->i32(), uint64_t(ctx.row0 * row_size), keep_,
                                             out.f(), mask_.f());
  }
  void backward(const ExecCtx&, const Tensor* const*, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    if (din[0]) FF_DISPATCH(out.device, dropout_backward)(mask_.f(), g.f(), g.size(), din[0]->f(), acc[0]);
  }
};

// Uniform numbers in [0, 1) or standard normal ones, in the shape of `x` (whose values are not read)
// with the `broadcast` axes of size 1: a noise shape, one number per (row, channel) for SpatialDropout.
// The batch axis (0) cannot be broadcast: element c of row r draws number (row0 + r) * row size + c,
// so a batch split across threads draws the numbers of the whole.
struct RandomLike final : Op {
  bool normal_;
  std::vector<int64_t> broadcast_;
  RandomLike(const std::string& distribution, std::vector<int64_t> broadcast)
      : normal_(distribution == "normal"), broadcast_(std::move(broadcast)) {
    FF_CHECK(normal_ || distribution == "uniform",
             "random_like: `distribution` must be 'uniform' or 'normal', got '" + distribution + "'");
  }
  int arity() const override { return 2; }
  bool differentiable(int) const override { return false; }
  int random_state() const override { return 1; }
  bool rowwise(const Tensor* const*, const bool* b) const override { return !b[1]; }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    expect_dtype("random_like", "state", *in[1], DType::i32);
    FF_CHECK(in[1]->shape == Shape{2}, "random_like: `state` must have shape (2,) (seed, counter), got " +
                                           in[1]->shape.str());
    const Tensor& x = *in[0];
    s = x.shape;
    for (int64_t a : broadcast_) {
      const int k = normalize_axis("random_like", "broadcast", a, x.rank());
      FF_CHECK(k > 0, "random_like: the batch axis (0) cannot be broadcast, got broadcast=" + ints_str(broadcast_));
      s.d[k] = 1;
    }
    d = DType::f32;
  }
  void forward(const ExecCtx& ctx, const Tensor* const* in, Tensor& out) override {
    const int64_t row_size = out.rank() && out.shape[0] ? out.size() / out.shape[0] : 1;
    FF_DISPATCH(out.device, random_fill)(in[1]->i32(), uint64_t(ctx.row0 * row_size), out.size(), normal_, out.f());
  }
  void backward(const ExecCtx&, const Tensor* const*, const Tensor&, const Tensor&, Tensor* const*,
                const bool*) override {}
};

const OpRegistrar kRandomLike({"random_like", "RandomLike",
                               {{"distribution", std::string("uniform")}, {"broadcast", std::vector<int64_t>{}}},
                               [](const Attrs& a) -> OpPtr {
                                 return std::make_shared<RandomLike>(a.get<std::string>("distribution"),
                                                                     a.get<std::vector<int64_t>>("broadcast"));
                               }});

const OpRegistrar kDropout({"dropout", "Dropout", {{"rate", 0.5}},
                            [](const Attrs& a) -> OpPtr { return std::make_shared<Dropout>(a.get<double>("rate")); }});

}  // namespace
}  // namespace fastfit
