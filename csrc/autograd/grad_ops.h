// Building blocks of the differentiable vjps (Op::vjp_ops): each runs an op through apply(), so the
// tapes still recording record the gradient computation, and a tape outside can differentiate it again.
#pragma once
#include <string>
#include <vector>

#include "autograd/tape.h"

namespace fastfit::grad {

TensorPtr op(const std::string& name, const std::vector<TensorPtr>& in, const Attrs& attrs = {});
TensorPtr scalar(float v);  // a constant
TensorPtr add(const TensorPtr& a, const TensorPtr& b);
TensorPtr sub(const TensorPtr& a, const TensorPtr& b);
TensorPtr mul(const TensorPtr& a, const TensorPtr& b);
TensorPtr div(const TensorPtr& a, const TensorPtr& b);
TensorPtr neg(const TensorPtr& a);
TensorPtr reshape(const TensorPtr& a, const Shape& shape);
TensorPtr matmul(const TensorPtr& a, const TensorPtr& b, bool transpose_a, bool transpose_b);
TensorPtr sum(const TensorPtr& a, const std::vector<int64_t>& axes, bool keepdims);
// g, the gradient of a broadcast result, summed over the axes broadcasting added to reach `shape`.
TensorPtr sum_to(const TensorPtr& g, const Shape& shape);
// g (of a shape that broadcasts to `shape`) repeated to `shape`.
TensorPtr broadcast_to(const TensorPtr& g, const Shape& shape);
// The gradient through an activation given its output `y`: g * act'(x), as act_backward computes it.
TensorPtr act(Act a, const TensorPtr& y, const TensorPtr& g);

}  // namespace fastfit::grad
