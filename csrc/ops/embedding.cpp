// Gather: rows of a table picked by id (tf.gather on axis 0, Keras' Embedding); the backward adds the
// output gradient into the picked rows.
#include "ops/op.h"

namespace fastfit {
namespace {

// y[i..., :] = params[indices[i...], ...]: params (V, ...), indices int32, or float32 ids (Keras casts them).
struct Gather final : Op {
  int arity() const override { return 2; }
  bool differentiable(int i) const override { return i == 0; }
  bool rowwise(const Tensor* const*, const bool* b) const override { return !b[0]; }  // a batched table mixes rows
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    const Tensor &params = *in[0], &ids = *in[1];
    expect_dtype("gather", "params", params, DType::f32);
    expect_rank_at_least("gather", "params", params, 1);
    s = ids.shape;
    for (int k = 1; k < params.rank(); ++k) s.push(params.shape[k]);
    d = DType::f32;
  }
  void forward(const ExecCtx&, const Tensor* const* in, Tensor& out) override {
    const Tensor &params = *in[0], &ids = *in[1];
    const int64_t V = params.shape[0], D = row_size(params);
    const Labels labels{ids.data, ids.dtype == DType::i32};
    const int64_t bad = FF_DISPATCH(out.device, gather_forward)(params.f(), V, D, labels, ids.size(), out.f());
    if (bad >= 0) fail("gather: indices" + position(ids.shape, bad) + " = " + std::to_string(int_at(ids, bad)) +
                       " is not in [0, " + std::to_string(V) + ")");
  }
  void backward(const ExecCtx&, const Tensor* const* in, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    const Tensor &params = *in[0], &ids = *in[1];
    if (!din[0]) return;
    FF_DISPATCH(out.device, gather_backward)(g.f(), Labels{ids.data, ids.dtype == DType::i32}, ids.size(),
                                             params.shape[0], row_size(params), din[0]->f(), acc[0]);
  }
  static int64_t row_size(const Tensor& params) {
    int64_t n = 1;
    for (int k = 1; k < params.rank(); ++k) n *= params.shape[k];
    return n;
  }
  // "[1, 2]": the index of flat element i in a tensor of shape s, as TensorFlow prints it.
  static std::string position(const Shape& s, int64_t i) {
    std::string p;
    for (int k = s.rank - 1; k >= 0; --k) {
      p = std::to_string(i % s.d[k]) + (p.empty() ? "" : ",") + p;
      i /= s.d[k];
    }
    return "[" + p + "]";
  }
};

const OpRegistrar kGather({"gather", "GatherV2", {}, [](const Attrs&) -> OpPtr { return std::make_shared<Gather>(); }});

}  // namespace
}  // namespace fastfit
