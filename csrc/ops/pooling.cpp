// Pooling, channels last: max and average over windows (MaxPooling1D/2D, AveragePooling1D/2D) and over
// the whole input (GlobalMaxPooling1D/2D, GlobalAveragePooling1D/2D: one window of the input's size).
#include "ops/window.h"

namespace fastfit {
namespace {

enum class Pool { max, avg };

struct Pooling final : Op {
  Window win_;
  Pool kind_;
  bool global_, keepdims_;  // keepdims: global pooling keeps the spatial axes, as size 1
  int64_t size_[2] = {1, 1};
  Tensor argmax_;  // max: each output's maximum, an index into the input, for the backward
  Pooling(Window win, Pool kind, bool global, bool keepdims, const Attrs& a)
      : win_(win), kind_(kind), global_(global), keepdims_(keepdims) {
    if (!global_) read_sizes(win_.op, win_.rank, a, "pool_size", size_);
  }
  int arity() const override { return 1; }
  bool rowwise(const Tensor* const*, const bool*) const override { return true; }
  ConvGeom geometry(const Tensor& x) const {
    if (!global_) return win_.over(x, size_, "pool_size");
    const ConvGeom in = win_.input(x);
    const int64_t whole[2] = {win_.rank == 2 ? in.H : in.W, in.W};
    return win_.over(x, whole, "pool_size");
  }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    const Tensor& x = *in[0];
    const ConvGeom g = geometry(x);
    FF_CHECK(x.size() <= INT32_MAX, std::string(win_.op) + ": inputs of 2^31 elements or more are not supported");
    s = x.shape;
    if (global_ && !keepdims_) s = Shape{g.B, g.C};
    else if (x.rank() == 4) s[1] = g.OH;
    if (!global_ || keepdims_) s[-2] = g.OW;
    d = DType::f32;
  }
  void forward(const ExecCtx&, const Tensor* const* in, Tensor& out) override {
    const ConvGeom g = geometry(*in[0]);
    if (kind_ == Pool::avg) return FF_DISPATCH(out.device, avg_pool_forward)(g, in[0]->f(), out.f());
    resize_scratch(argmax_, out.device, out.shape, DType::i32);
    FF_DISPATCH(out.device, max_pool_forward)(g, in[0]->f(), out.f(), argmax_.i32());
  }
  void backward(const ExecCtx&, const Tensor* const* in, const Tensor& out, const Tensor& dy, Tensor* const* din,
                const bool* acc) override {
    if (!din[0]) return;
    const ConvGeom g = geometry(*in[0]);
    if (kind_ == Pool::avg) FF_DISPATCH(out.device, avg_pool_backward)(g, dy.f(), din[0]->f(), acc[0]);
    else FF_DISPATCH(out.device, max_pool_backward)(g, argmax_.i32(), dy.f(), din[0]->f(), acc[0]);
  }
};

// Registry and display names, by [global][kind][rank - 1].
constexpr const char* kName[2][2][2] = {{{"max_pool1d", "max_pool2d"}, {"avg_pool1d", "avg_pool2d"}},
                                        {{"global_max_pool1d", "global_max_pool2d"},
                                         {"global_avg_pool1d", "global_avg_pool2d"}}};
constexpr const char* kDisplay[2][2][2] = {{{"MaxPool1D", "MaxPool2D"}, {"AvgPool1D", "AvgPool2D"}},
                                           {{"GlobalMaxPool1D", "GlobalMaxPool2D"},
                                            {"GlobalAvgPool1D", "GlobalAvgPool2D"}}};

template <bool Global, Pool Kind, int Rank>
OpDef pool_def() {
  Attrs a{{"keepdims", false}};  // global: one 'valid' window of the input's size
  if (!Global) {
    a = window_defaults(Rank, false);
    a.set("pool_size", std::vector<int64_t>(Rank, 2));
  }
  return {kName[Global][int(Kind)][Rank - 1], kDisplay[Global][int(Kind)][Rank - 1], a, [](const Attrs& at) -> OpPtr {
            const char* op = kDisplay[Global][int(Kind)][Rank - 1];
            const Window win(op, Rank, Global ? window_defaults(Rank, false) : at);
            return std::make_shared<Pooling>(win, Kind, Global, Global && at.get<bool>("keepdims"), at);
          }};
}

const OpRegistrar kMaxPool1D(pool_def<false, Pool::max, 1>());
const OpRegistrar kMaxPool2D(pool_def<false, Pool::max, 2>());
const OpRegistrar kAvgPool1D(pool_def<false, Pool::avg, 1>());
const OpRegistrar kAvgPool2D(pool_def<false, Pool::avg, 2>());
const OpRegistrar kGlobalMaxPool1D(pool_def<true, Pool::max, 1>());
const OpRegistrar kGlobalMaxPool2D(pool_def<true, Pool::max, 2>());
const OpRegistrar kGlobalAvgPool1D(pool_def<true, Pool::avg, 1>());
const OpRegistrar kGlobalAvgPool2D(pool_def<true, Pool::avg, 2>());

}  // namespace
}  // namespace fastfit
