// Differentiable vjp building blocks: ops through apply().
#include "autograd/grad_ops.h"

namespace fastfit::grad {

TensorPtr op(const std::string& name, const std::vector<TensorPtr>& in, const Attrs& attrs) {
  return fastfit::apply(make_op(name, attrs), in);
}
TensorPtr scalar(float v) { return Tensor::scalar(v); }
TensorPtr add(const TensorPtr& a, const TensorPtr& b) { return op("add", {a, b}); }
TensorPtr sub(const TensorPtr& a, const TensorPtr& b) { return op("subtract", {a, b}); }
TensorPtr mul(const TensorPtr& a, const TensorPtr& b) { return op("multiply", {a, b}); }
TensorPtr div(const TensorPtr& a, const TensorPtr& b) { return op("divide", {a, b}); }
TensorPtr neg(const TensorPtr& a) { return op("negative", {a}); }

TensorPtr reshape(const TensorPtr& a, const Shape& shape) {
  if (a->shape == shape) return a;
  return op("reshape", {a}, {{"shape", std::vector<int64_t>(shape.d, shape.d + shape.rank)}});
}

TensorPtr matmul(const TensorPtr& a, const TensorPtr& b, bool transpose_a, bool transpose_b) {
  return op("matmul", {a, b}, {{"transpose_a", transpose_a}, {"transpose_b", transpose_b}});
}

TensorPtr sum(const TensorPtr& a, const std::vector<int64_t>& axes, bool keepdims) {
  return op("reduce_sum", {a}, {{"axes", axes}, {"keepdims", keepdims}});
}

TensorPtr sum_to(const TensorPtr& g, const Shape& shape) {
  if (g->shape == shape) return g;
  const int lead = g->rank() - shape.rank;
  std::vector<int64_t> axes;
  for (int i = 0; i < g->rank(); ++i)
    if (i < lead || (shape[i - lead] == 1 && g->shape[i] != 1)) axes.push_back(i);
  return reshape(axes.empty() ? g : sum(g, axes, true), shape);
}

TensorPtr broadcast_to(const TensorPtr& g, const Shape& shape) {
  return g->shape == shape ? g : add(Tensor::zeros(shape), g);
}

TensorPtr act(Act a, const TensorPtr& y, const TensorPtr& g) {
  switch (a) {
    case Act::relu: return mul(g, op("greater", {y, scalar(0.f)}));  // 0 at 0, as act_backward
    case Act::sigmoid: return mul(g, mul(y, sub(scalar(1.f), y)));
    case Act::tanh: return mul(g, sub(scalar(1.f), mul(y, y)));
    case Act::linear: break;
  }
  return g;
}

}  // namespace fastfit::grad
