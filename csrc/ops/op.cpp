// The op registry (make_op by name, generic clone and key), run_op (eager calls, the device check), shared checks.
#include "ops/op.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <stdexcept>

#include "core/denormals.h"
#include "kernels/cpu/kernels.h"

namespace fastfit {
namespace {

std::map<std::string, OpDef>& registry() {
  static std::map<std::string, OpDef> ops;  // built during static initialisation, read-only after
  return ops;
}

std::string joined(const std::vector<std::string>& names) {
  std::string s;
  for (auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s;
}

}  // namespace

OpRegistrar::OpRegistrar(OpDef def) {
  const std::string name = def.name;
  if (!registry().emplace(name, std::move(def)).second) throw std::logic_error("op registered twice: " + name);
}

std::vector<std::string> op_names() {
  std::vector<std::string> names;
  for (auto& entry : registry()) names.push_back(entry.first);
  return names;
}

OpPtr instantiate(const OpDef& def, Attrs attrs) {
  OpPtr op = def.create(attrs);
  op->def_ = &def;
  op->attrs_ = std::move(attrs);
  return op;
}

OpPtr make_op(const std::string& name, const Attrs& given) {
  auto it = registry().find(name);
  FF_CHECK(it != registry().end(), "unknown op '" + name + "'; known ops: " + joined(op_names()));
  const OpDef& def = it->second;
  return instantiate(def, complete_attrs(name, def.defaults, given));
}

const char* Op::name() const { return def_->display; }
const char* Op::registry_name() const { return def_->name; }
std::string Op::key() const { return std::string(def_->name) + "(" + attrs_.str() + ")"; }
OpPtr Op::clone() const { return instantiate(*def_, attrs_); }

std::vector<TensorPtr> Op::vjp_ops(const std::vector<TensorPtr>&, const TensorPtr&, const TensorPtr&,
                                   const std::vector<char>&) const {
  throw NotImplemented(std::string("second and higher derivatives through ") + name() +
                       " are not supported yet (a gradient was taken while another GradientTape was recording)");
}

ExecCtx ExecCtx::eager() { return ExecCtx{cpu::num_threads(), 0}; }

Device op_device(const Op& op, const std::vector<TensorPtr>& in) {
  Device d = Device::cpu;
  if (!op.places(d)) {
    if (has_device_scope()) d = current_device();
    for (auto& t : in)
      if (!has_device_scope() && t && t->device == Device::cuda) d = Device::cuda;
  }
  if (d == Device::cuda && !cuda::is_available())
    throw std::runtime_error(std::string(op.name()) + " has no GPU implementation");
  return d;
}

TensorPtr run_op(Op& op, const std::vector<TensorPtr>& in, const ExecCtx& ctx) {
  FF_CHECK(int(in.size()) == op.arity(), std::string(op.registry_name()) + ": expected " +
                                             std::to_string(op.arity()) + " inputs, got " + std::to_string(in.size()));
  const Device device = op_device(op, in);
  Device own;
  const bool moves = op.places(own);
  std::vector<const Tensor*> raw(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (!in[i]) fail_type(std::string(op.registry_name()) + ": input " + std::to_string(i) + " is None");
    FF_CHECK(moves || in[i]->device == device,
             std::string(op.name()) + ": input " + std::to_string(i) + " is on the " + device_name(in[i]->device) +
                 ", but the op runs on the " + device_name(device) + ": its inputs must be on its device");
    raw[i] = in[i].get();
  }
  Shape s;
  DType d;
  op.infer(raw.data(), s, d);
  auto out = Tensor::make(s, d, device);
  FlushDenormals flush;
  op.forward(ctx, raw.data(), *out);
  return out;
}

int64_t int_at(const Tensor& t, int64_t i) {
  int32_t v[1];
  const char* at = static_cast<const char*>(t.data) + i * 4;
  if (t.device == Device::cuda) cuda::copy(v, at, 4);
  else std::memcpy(v, at, 4);
  if (t.dtype == DType::i32) return v[0];
  float f;
  std::memcpy(&f, v, 4);
  return int64_t(f);
}

void resize_scratch(Tensor& t, Device device, const Shape& shape, DType dtype) {
  if (t.device != device) t = Tensor{};  // a buffer on another device cannot be reused
  t.device = device;
  t.resize(shape, dtype);
}

Act activation_named(const char* op, const std::string& name) {
  if (name == "linear") return Act::linear;
  if (name == "relu") return Act::relu;
  if (name == "sigmoid") return Act::sigmoid;
  if (name == "tanh") return Act::tanh;
  fail(std::string(op) + ": unknown activation '" + name + "'; expected one of: linear, relu, sigmoid, tanh");
}

// Batched inputs span every axis of the output; the others broadcast along the batch axis.
bool broadcast_rowwise(const Tensor* const* in, const bool* batched, int n) {
  int rank = 0;
  for (int i = 0; i < n; ++i) rank = std::max(rank, in[i]->rank());
  for (int i = 0; i < n; ++i) {
    if (batched[i] && in[i]->rank() != rank) return false;
    if (!batched[i] && in[i]->rank() == rank && in[i]->shape[0] != 1) return false;
  }
  return true;
}

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
  Shape o;
  o.rank = std::max(a.rank, b.rank);
  for (int i = 0; i < o.rank; ++i) {
    const int ia = i - (o.rank - a.rank), ib = i - (o.rank - b.rank);
    const int64_t da = ia >= 0 ? a.d[ia] : 1, db = ib >= 0 ? b.d[ib] : 1;
    FF_CHECK(da == db || da == 1 || db == 1,
             std::string(op) + ": shapes " + a.str() + " and " + b.str() + " cannot be broadcast together");
    o.d[i] = da == 1 ? db : da;
  }
  return o;
}

void expect_dtype(const char* op, const char* arg, const Tensor& t, DType d) {
  FF_CHECK(t.dtype == d, std::string(op) + ": `" + arg + "` must be " + dtype_name(d) + ", got " + t.desc());
}
void expect_rank_at_least(const char* op, const char* arg, const Tensor& t, int r) {
  FF_CHECK(t.rank() >= r, std::string(op) + ": `" + arg + "` must have rank >= " + std::to_string(r) + ", got " +
                              t.desc());
}

int normalize_axis(const char* op, const char* arg, int64_t axis, int rank) {
  FF_CHECK(axis >= -rank && axis < rank, std::string(op) + ": `" + arg + "` " + std::to_string(axis) +
                                             " is out of range for inputs of rank " + std::to_string(rank));
  return int(axis < 0 ? axis + rank : axis);
}
std::string ints_str(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

}  // namespace fastfit
