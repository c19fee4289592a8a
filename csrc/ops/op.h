// Op: one operation's shape rule, forward and backward (vjp) together, created by name from a registry.
// Kernels live in kernels/; ops call them through FF_DISPATCH (core/device.h).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/attrs.h"
#include "core/tensor.h"
#include "kernels/kernels.h"

namespace fastfit {

// How one call of an op runs, chosen by its caller (eager apply, a Program's replica).
struct ExecCtx {
  int threads = 1;   // threads this call's matrix products may use
  int64_t row0 = 0;  // first row of this call within the whole batch: random ops draw by global row
  static ExecCtx eager();  // an eager call: the configured thread count (tf.config.threading), whole batch
};

struct OpDef;
struct Op;
using OpPtr = std::shared_ptr<Op>;

struct Op {
  virtual ~Op() = default;
  const char* name() const;           // TensorFlow's op name, for messages: "MatMul"
  const char* registry_name() const;  // the name make_op knows it by: "matmul"
  const Attrs& attrs() const { return attrs_; }
  std::string key() const;  // registry name and every attribute, canonical: equal keys compute the same
  OpPtr clone() const;      // same configuration, own scratch

  // Validate the inputs (clear errors here; kernels trust them) and give the output's shape and dtype.
  virtual void infer(const Tensor* const* in, Shape& shape, DType& dtype) const = 0;
  virtual void forward(const ExecCtx& ctx, const Tensor* const* in, Tensor& out) = 0;
  // Gradient w.r.t. input i into din[i], added to it when acc[i]; din[i] == nullptr: not needed.
  // Gets the forward output, so vjps reuse it (relu, sigmoid, softmax) instead of recomputing.
  virtual void backward(const ExecCtx& ctx, const Tensor* const* in, const Tensor& out, const Tensor& dout,
                        Tensor* const* din, const bool* acc) = 0;
  // The vjp built from ops run through apply() (autograd/grad_ops.h), so the tapes still recording record
  // it and it can be differentiated again: what a gradient taken under another recording tape runs.
  // in, out: the forward's; g: d(target)/d(out). One gradient per input, null where need[k] is 0. By
  // default NotImplementedError: no higher derivatives through this op yet.
  virtual std::vector<TensorPtr> vjp_ops(const std::vector<TensorPtr>& in, const TensorPtr& out, const TensorPtr& g,
                                         const std::vector<char>& need) const;
  virtual int arity() const = 0;
  virtual bool differentiable(int /*input*/) const { return true; }  // labels are not
  virtual bool keeps_logits() const { return false; }  // softmax, sigmoid: the output carries its input (logits)
  // The input holding a random op's state [seed, counter] (int32 (2,)); -1 for other ops.
  virtual int random_state() const { return -1; }
  // An op that picks its own device (to_device, which copies between devices) sets it and says true;
  // every other op runs where op_device puts it, on inputs that are there.
  virtual bool places(Device& /*device*/) const { return false; }

  // For splitting a batch's rows across threads (train/program.h). batched[i]: input i carries the
  // batch on axis 0. True when each output row depends only on the same input rows.
  virtual bool rowwise(const Tensor* const* in, const bool* batched) const = 0;
  // A loss reduction over every element: 1 for a sum, 2 for a mean; 0 otherwise.
  virtual int reduces_all() const { return 0; }

 private:
  friend OpPtr instantiate(const OpDef& def, Attrs attrs);
  const OpDef* def_ = nullptr;
  Attrs attrs_;
};

// The registry. Each op registers itself in its own .cpp with a static OpRegistrar.
struct OpDef {
  const char* name;     // registry name: "matmul"
  const char* display;  // TensorFlow's op name: "MatMul"
  Attrs defaults;       // every attribute the op takes, with its default (which fixes its type)
  OpPtr (*create)(const Attrs& attrs);  // attrs: complete and type-checked
};
struct OpRegistrar {
  explicit OpRegistrar(OpDef def);
};

// The op registered as `name`, configured by `attrs` (missing ones take their defaults). Unknown
// names and attributes: ValueError listing the known ones; an attribute of the wrong type: TypeError.
OpPtr make_op(const std::string& name, const Attrs& attrs = {});
std::vector<std::string> op_names();  // sorted

// Where an eager call of `op` on `in` runs: the op's own choice (to_device), else this thread's
// fastfit.device scope, else the GPU when an input is there, else the CPU (as TensorFlow places ops).
// With no GPU backend, the GPU raises RuntimeError "<Op> has no GPU implementation".
Device op_device(const Op& op, const std::vector<TensorPtr>& in);

// Runs `op` once now on `in`, on op_device, recording nothing. Checks the inputs (ValueError; an input
// on another device is one: autograd's apply copies them first) before anything runs.
TensorPtr run_op(Op& op, const std::vector<TensorPtr>& in, const ExecCtx& ctx);

// The op that copies a tensor to `device` (gradients flow back across it): what apply inserts before
// an input that lives elsewhere, as TensorFlow copies implicitly.
OpPtr to_device_op(Device device);

// Element i of a float32 or int32 tensor on either device, as an integer (for messages).
int64_t int_at(const Tensor& t, int64_t i);

// An op's scratch tensor (kept for the backward, reused across calls), resized on `device`.
void resize_scratch(Tensor& t, Device device, const Shape& shape, DType dtype = DType::f32);

// The activation attribute of ops with a fused one: linear, relu, sigmoid or tanh; else ValueError.
Act activation_named(const char* op, const std::string& name);

// Random ops' state [seed, counter]: advance the counter, so the next call draws fresh numbers.
void advance_random_state(Tensor& state);

// numpy broadcasting of two shapes (ValueError naming `op` when they do not fit), and whether a
// broadcasting op on a batch keeps rows apart (for splitting batches, train/graph.h).
Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b);
bool broadcast_rowwise(const Tensor* const* in, const bool* batched, int n = 2);

// Shape-check helpers shared by the ops: messages name the op, the argument, the expected and received.
void expect_dtype(const char* op, const char* arg, const Tensor& t, DType d);
void expect_rank_at_least(const char* op, const char* arg, const Tensor& t, int r);
// `axis` (negative: counted from the end) as an index in [0, rank).
int normalize_axis(const char* op, const char* arg, int64_t axis, int rank);
// Attribute values for messages: "[1, -1, 3]".
std::string ints_str(const std::vector<int64_t>& v);

}  // namespace fastfit
