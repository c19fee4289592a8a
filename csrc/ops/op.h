// Op: one operation's shape rule, forward and backward (vjp) together. Kernels live in kernels/.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "kernels/cpu/kernels.h"

namespace fastfit {

struct Op {
  virtual ~Op() = default;
  virtual const char* name() const = 0;
  // Validate the inputs (clear errors here; kernels trust them) and give the output's shape and dtype.
  virtual void infer(const Tensor* const* in, Shape& shape, DType& dtype) const = 0;
  virtual void forward(const Tensor* const* in, Tensor& out) = 0;
  // Gradient w.r.t. input i into din[i], added to it when acc[i]; din[i] == nullptr: not needed.
  // Gets the forward output, so vjps reuse it (relu, sigmoid, softmax) instead of recomputing.
  virtual void backward(const Tensor* const* in, const Tensor& out, const Tensor& dout, Tensor* const* din,
                        const bool* acc) = 0;
  virtual int arity() const = 0;
  virtual bool differentiable(int /*input*/) const { return true; }  // labels are not
  virtual bool is_softmax() const { return false; }                   // output carries its logits
  virtual std::shared_ptr<Op> clone() const = 0;                      // same configuration, own scratch

  // For splitting a batch's rows across threads (train/program.h). batched[i]: input i carries the
  // batch on axis 0. True when each output row depends only on the same input rows.
  virtual bool rowwise(const Tensor* const* in, const bool* batched) const = 0;
  // A loss reduction over every element: 1 for a sum, 2 for a mean; 0 otherwise.
  virtual int reduces_all() const { return 0; }
  // What makes two ops compute the same thing: the name and attributes (compared across traces).
  virtual std::string key() const { return name(); }
  // The input holding the random generator state the op draws from, or -1.
  virtual int random_state() const { return -1; }
};
using OpPtr = std::shared_ptr<Op>;

// Factories (one op family per file).
OpPtr make_matmul(bool trans_a, bool trans_b);                          // matmul.cpp
OpPtr make_dense(cpu::Act act, bool use_bias);                          // x W + b, activation fused
OpPtr make_bias_add();
OpPtr make_activation(cpu::Act act);                                    // activation.cpp
OpPtr make_softmax();
OpPtr make_sparse_crossentropy(bool from_logits);                       // crossentropy.cpp: (labels, pred)
OpPtr make_crossentropy(bool from_logits);                              //   (one-hot, pred)
OpPtr make_squared_error();                                             // (y_true, y_pred) -> mean over last axis
enum class ReduceKind { sum, mean };
OpPtr make_reduce(ReduceKind kind, std::vector<int> axes, bool keepdims);  // reduce.cpp; empty axes: all
enum class BinaryKind { add, sub, mul, div };
OpPtr make_binary(BinaryKind kind);                                     // elementwise.cpp, numpy broadcasting
enum class UnaryKind { neg, square, sqrt, exp, log, abs };
OpPtr make_unary(UnaryKind kind);

// Shape-check helpers shared by the ops: messages name the op, the argument, the expected and received.
void expect_dtype(const char* op, const char* arg, const Tensor& t, DType d);
void expect_rank_at_least(const char* op, const char* arg, const Tensor& t, int r);

}  // namespace fastfit
