// Ops that move data between shapes: reshape, transpose, tile, upsample, slice, pad. Each is a copy
// (kernels/cpu/shape.cpp); its gradient is the reverse copy, summed where elements were repeated.
#include "autograd/grad_ops.h"
#include "ops/op.h"

namespace fastfit {
namespace {

Shape shape_of(const std::vector<int64_t>& v) {
  Shape s;
  for (int64_t d : v) s.push(d);
  return s;
}

Shape origin(int rank) {  // index 0 on every axis
  Shape s;
  s.rank = rank;
  return s;
}

// The whole tensor as one window: a flat copy.
void copy_all(Device device, const float* src, float* dst, int64_t n, bool acc) {
  const Shape flat{n};
  FF_DISPATCH(device, copy_window)(src, flat, Shape{0}, dst, flat, Shape{0}, flat, acc);
}

// y = x with another shape; the elements keep their order. One entry of `shape` may be -1: what is
// left. keep_batch: `shape` is per row, after x's batch axis (Keras' Reshape and Flatten).
struct Reshape final : Op {
  std::vector<int64_t> shape_;
  bool keep_batch_;
  Reshape(std::vector<int64_t> shape, bool keep_batch) : shape_(std::move(shape)), keep_batch_(keep_batch) {
    int unknown = 0;
    for (int64_t d : shape_) {
      FF_CHECK(d >= -1, "reshape: each entry of `shape` must be >= 0, or -1 once, got " + ints_str(shape_));
      unknown += d == -1;
    }
    FF_CHECK(unknown <= 1, "reshape: `shape` may hold -1 only once, got " + ints_str(shape_));
  }
  int arity() const override { return 1; }
  // Rows stay rows when the batch axis is kept, or is the -1 and the rest is one input row.
  bool rowwise(const Tensor* const* in, const bool* b) const override {
    if (!b[0] || keep_batch_) return true;
    const Tensor& x = *in[0];
    if (shape_.empty() || shape_[0] != -1 || x.rank() == 0 || x.shape[0] == 0) return false;
    int64_t row = 1;
    for (size_t i = 1; i < shape_.size(); ++i) row *= shape_[i];
    return row * x.shape[0] == x.size();
  }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    const Tensor& x = *in[0];
    expect_dtype("reshape", "tensor", x, DType::f32);
    if (keep_batch_) expect_rank_at_least("reshape", "tensor", x, 1);
    int64_t want = 1, known = 1;  // elements to fill (per row with keep_batch), and the product of the given dims
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
    FF_CHECK(fits, "reshape: `shape` " + ints_str(shape_) + " does not fit the " + std::to_string(want) +
                       " elements of " + (keep_batch_ ? "each row of " : "") + "`tensor` " + x.desc());
    if (unknown >= 0) s.d[unknown] = want / known;
    d = DType::f32;
  }
  void forward(const ExecCtx&, const Tensor* const* in, Tensor& out) override {
    copy_all(out.device, in[0]->f(), out.f(), out.size(), false);
  }
  void backward(const ExecCtx&, const Tensor* const*, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    if (din[0]) copy_all(out.device, g.f(), din[0]->f(), g.size(), acc[0]);
  }
  std::vector<TensorPtr> vjp_ops(const std::vector<TensorPtr>& in, const TensorPtr&, const TensorPtr& g,
                                 const std::vector<char>&) const override {
    return {grad::reshape(g, in[0]->shape)};
  }
};

// y's axis k is x's axis perm[k] (tf.transpose, Keras' Permute).
struct Transpose final : Op {
  std::vector<int64_t> perm_, inverse_;
  explicit Transpose(std::vector<int64_t> perm) : perm_(std::move(perm)), inverse_(perm_.size(), -1) {
    const int64_t n = int64_t(perm_.size());
    for (int64_t k = 0; k < n; ++k) {
      const int64_t p = perm_[k];
      FF_CHECK(p >= 0 && p < n && inverse_[p] < 0,
               "transpose: `perm` must order the axes 0.." + std::to_string(n - 1) + ", got " + ints_str(perm_));
      inverse_[p] = k;
    }
  }
  int arity() const override { return 1; }
  bool rowwise(const Tensor* const*, const bool* b) const override {
    return !b[0] || (!perm_.empty() && perm_[0] == 0);
  }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    const Tensor& x = *in[0];
    expect_dtype("transpose", "a", x, DType::f32);
    FF_CHECK(int(perm_.size()) == x.rank(), "transpose: `perm` must order the " + std::to_string(x.rank()) +
                                                " axes of `a` " + x.desc() + ", got " + ints_str(perm_));
    s = x.shape;
    for (int k = 0; k < x.rank(); ++k) s.d[k] = x.shape.d[perm_[k]];
    d = DType::f32;
  }
  void forward(const ExecCtx&, const Tensor* const* in, Tensor& out) override {
    FF_DISPATCH(out.device, transpose)(in[0]->f(), in[0]->shape, perm_.data(), out.f(), false);
  }
  void backward(const ExecCtx&, const Tensor* const*, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    if (din[0]) FF_DISPATCH(out.device, transpose)(g.f(), g.shape, inverse_.data(), din[0]->f(), acc[0]);
  }
  std::vector<TensorPtr> vjp_ops(const std::vector<TensorPtr>&, const TensorPtr&, const TensorPtr& g,
                                 const std::vector<char>&) const override {
    return {grad::op("transpose", {g}, {{"perm", inverse_}})};
  }
};

// Each axis k of x made factors[k] times longer: tile repeats the whole axis (tf.tile), upsample repeats
// each element (nearest-neighbour upsampling; UpSampling2D passes [1, h, w, 1]).
struct Expand final : Op {
  bool tile_;
  const char *op_, *attr_;  // for messages (the registry name is not known yet in the constructor)
  std::vector<int64_t> factors_;
  Expand(bool tile, std::vector<int64_t> factors)
      : tile_(tile), op_(tile ? "tile" : "upsample"), attr_(tile ? "multiples" : "size"), factors_(std::move(factors)) {
    for (int64_t f : factors_)
      FF_CHECK(f >= 1, std::string(op_) + ": each entry of `" + attr_ + "` must be >= 1, got " + ints_str(factors_));
  }
  int arity() const override { return 1; }
  bool rowwise(const Tensor* const*, const bool* b) const override {
    return !b[0] || (!factors_.empty() && factors_[0] == 1);
  }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    const Tensor& x = *in[0];
    expect_dtype(op_, "input", x, DType::f32);
    FF_CHECK(int(factors_.size()) == x.rank(), std::string(op_) + ": `" + attr_ +
                                                   "` needs one entry per axis of `input` " + x.desc() + ", got " +
                                                   ints_str(factors_));
    s = x.shape;
    for (int k = 0; k < x.rank(); ++k) s.d[k] *= factors_[k];
    d = DType::f32;
  }
  void forward(const ExecCtx&, const Tensor* const* in, Tensor& out) override {
    FF_DISPATCH(out.device, expand_forward)(in[0]->f(), in[0]->shape, out.shape, tile_, out.f());
  }
  void backward(const ExecCtx&, const Tensor* const* in, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    if (din[0]) FF_DISPATCH(out.device, expand_backward)(g.f(), in[0]->shape, out.shape, tile_, din[0]->f(), acc[0]);
  }
};

// y = x[begin : begin + size] on each axis (tf.slice; a size of -1 runs to the end). Cropping layers.
struct Slice final : Op {
  std::vector<int64_t> begin_, size_;
  Shape start_;  // begin_ as the window's position
  Slice(std::vector<int64_t> begin, std::vector<int64_t> size)
      : begin_(std::move(begin)), size_(std::move(size)), start_(shape_of(begin_)) {
    FF_CHECK(begin_.size() == size_.size(), "slice: `begin` " + ints_str(begin_) + " and `size` " + ints_str(size_) +
                                                " must have one entry per axis each");
  }
  int arity() const override { return 1; }
  bool rowwise(const Tensor* const*, const bool* b) const override {
    return !b[0] || (!begin_.empty() && begin_[0] == 0 && size_[0] == -1);
  }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    const Tensor& x = *in[0];
    expect_dtype("slice", "input_", x, DType::f32);
    bool fits = int(begin_.size()) == x.rank();
    s = x.shape;
    for (int k = 0; fits && k < x.rank(); ++k) {
      s.d[k] = size_[k] == -1 ? x.shape[k] - begin_[k] : size_[k];
      fits = begin_[k] >= 0 && s.d[k] >= 0 && begin_[k] + s.d[k] <= x.shape[k];
    }
    FF_CHECK(fits, "slice: `begin` " + ints_str(begin_) + " and `size` " + ints_str(size_) +
                       " must give a window inside `input_` " + x.desc());
    d = DType::f32;
  }
  void forward(const ExecCtx&, const Tensor* const* in, Tensor& out) override {
    const Tensor& x = *in[0];
    FF_DISPATCH(out.device, copy_window)(x.f(), x.shape, start_, out.f(), out.shape, origin(x.rank()),
                                         out.shape, false);
  }
  void backward(const ExecCtx&, const Tensor* const* in, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    if (!din[0]) return;
    const Tensor& x = *in[0];
    if (!acc[0]) FF_DISPATCH(out.device, fill)(din[0]->f(), x.size(), 0.f);
    FF_DISPATCH(out.device, copy_window)(g.f(), g.shape, origin(x.rank()), din[0]->f(), x.shape, start_,
                                         g.shape, true);
  }
};

// y = x surrounded by zeros: `paddings` holds (before, after) per axis, flat (tf.pad's pairs).
// Zero padding is the adjoint of slicing: the backward reads dy's window.
struct Pad final : Op {
  std::vector<int64_t> paddings_;
  Shape before_;
  explicit Pad(std::vector<int64_t> paddings) : paddings_(std::move(paddings)) {
    FF_CHECK(paddings_.size() % 2 == 0, "pad: `paddings` must hold (before, after) pairs, got " + ints_str(paddings_));
    for (size_t i = 0; i < paddings_.size(); i += 2) {
      FF_CHECK(paddings_[i] >= 0 && paddings_[i + 1] >= 0,
               "pad: `paddings` must be >= 0, got " + ints_str(paddings_));
      before_.push(paddings_[i]);
    }
  }
  int arity() const override { return 1; }
  bool rowwise(const Tensor* const*, const bool* b) const override {
    return !b[0] || (!paddings_.empty() && paddings_[0] == 0 && paddings_[1] == 0);
  }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    const Tensor& x = *in[0];
    expect_dtype("pad", "tensor", x, DType::f32);
    FF_CHECK(before_.rank == x.rank(), "pad: `paddings` needs a (before, after) pair per axis of `tensor` " +
                                           x.desc() + ", got " + ints_str(paddings_));
    s = x.shape;
    for (int k = 0; k < x.rank(); ++k) s.d[k] += paddings_[2 * k] + paddings_[2 * k + 1];
    d = DType::f32;
  }
  void forward(const ExecCtx&, const Tensor* const* in, Tensor& out) override {
    const Tensor& x = *in[0];
    FF_DISPATCH(out.device, fill)(out.f(), out.size(), 0.f);
    FF_DISPATCH(out.device, copy_window)(x.f(), x.shape, origin(x.rank()), out.f(), out.shape, before_, x.shape, false);
  }
  void backward(const ExecCtx&, const Tensor* const* in, const Tensor& out, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    const Tensor& x = *in[0];
    if (din[0])
      FF_DISPATCH(out.device, copy_window)(g.f(), g.shape, before_, din[0]->f(), x.shape, origin(x.rank()), x.shape,
                                           acc[0]);
  }
};

using Ints = std::vector<int64_t>;
const OpRegistrar kReshape({"reshape", "Reshape", {{"shape", Ints{}}, {"keep_batch", false}},
                            [](const Attrs& a) -> OpPtr {
                              return std::make_shared<Reshape>(a.get<Ints>("shape"), a.get<bool>("keep_batch"));
                            }});
const OpRegistrar kTranspose({"transpose", "Transpose", {{"perm", Ints{}}}, [](const Attrs& a) -> OpPtr {
                                return std::make_shared<Transpose>(a.get<Ints>("perm"));
                              }});
const OpRegistrar kTile({"tile", "Tile", {{"multiples", Ints{}}}, [](const Attrs& a) -> OpPtr {
                           return std::make_shared<Expand>(true, a.get<Ints>("multiples"));
                         }});
const OpRegistrar kUpsample({"upsample", "UpSampling", {{"size", Ints{}}}, [](const Attrs& a) -> OpPtr {
                               return std::make_shared<Expand>(false, a.get<Ints>("size"));
                             }});
const OpRegistrar kSlice({"slice", "Slice", {{"begin", Ints{}}, {"size", Ints{}}}, [](const Attrs& a) -> OpPtr {
                            return std::make_shared<Slice>(a.get<Ints>("begin"), a.get<Ints>("size"));
                          }});
const OpRegistrar kPad({"pad", "Pad", {{"paddings", Ints{}}},
                        [](const Attrs& a) -> OpPtr { return std::make_shared<Pad>(a.get<Ints>("paddings")); }});

}  // namespace
}  // namespace fastfit
