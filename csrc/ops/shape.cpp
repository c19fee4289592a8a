// Reshape, the one shape op the convolution branch needs (Flatten in its CNN benchmark): a stand-in with
// the same registry name, attributes and rules as the `layers` branch's csrc/ops/shape.cpp, which
// replaces this file when the two merge.
#include "ops/op.h"

namespace fastfit {
namespace {

// y = x with another shape, elements in order. One entry of `shape` may be -1: what is left.
// keep_batch: `shape` is per row, after x's batch axis (Keras' Reshape and Flatten).
struct Reshape final : Op {
  std::vector<int64_t> shape_;
  bool keep_batch_;
  Reshape(std::vector<int64_t> shape, bool keep_batch) : shape_(std::move(shape)), keep_batch_(keep_batch) {
    int unknown = 0;
    for (int64_t d : shape_) {
      FF_CHECK(d >= -1, "reshape: each entry of `shape` must be >= 0, or -1 once");
      unknown += d == -1;
    }
    FF_CHECK(unknown <= 1, "reshape: `shape` may hold -1 only once");
  }
  int arity() const override { return 1; }
  bool rowwise(const Tensor* const*, const bool* b) const override { return !b[0] || keep_batch_; }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    const Tensor& x = *in[0];
    expect_dtype("reshape", "tensor", x, DType::f32);
    if (keep_batch_) expect_rank_at_least("reshape", "tensor", x, 1);
    int64_t want = 1, known = 1;  // elements to fill (per row with keep_batch), the product of the given dims
    for (int i = keep_batch_ ? 1 : 0; i < x.rank(); ++i) want *= x.shape[i];
    s = Shape{};
    if (keep_batch_) s.push(x.shape[0]);
    int unknown = -1;
    for (int64_t dim : shape_) {
      if (dim == -1) unknown = s.rank;
      else known *= dim;
      s.push(dim);
    }
    const bool fits = unknown >= 0 ? known > 0 && want % known == 0 : known == want;
    FF_CHECK(fits, "reshape: `shape` does not fit the " + std::to_string(want) + " elements of " +
                       (keep_batch_ ? "each row of " : "") + "`tensor` " + x.desc());
    if (unknown >= 0) s.d[unknown] = want / known;
    d = DType::f32;
  }
  void forward(const ExecCtx&, const Tensor* const* in, Tensor& out) override {
    FF_DISPATCH(out.device, axpy_store)(1.f, in[0]->f(), out.size(), out.f(), false);  // an exact copy
  }
  void backward(const ExecCtx&, const Tensor* const*, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    if (din[0]) FF_DISPATCH(out.device, axpy_store)(1.f, g.f(), g.size(), din[0]->f(), acc[0]);
  }
};

const OpRegistrar kReshape({"reshape", "Reshape", {{"shape", std::vector<int64_t>{}}, {"keep_batch", false}},
                            [](const Attrs& a) -> OpPtr {
                              return std::make_shared<Reshape>(a.get<std::vector<int64_t>>("shape"),
                                                               a.get<bool>("keep_batch"));
                            }});

}  // namespace
}  // namespace fastfit
