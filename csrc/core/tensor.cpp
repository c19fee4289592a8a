// Tensor storage: 64-byte aligned blocks that are reused while they fit.
#include "core/tensor.h"

#include <algorithm>
#include <cstdlib>

namespace fastfit {

void fail(const std::string& msg) { throw std::invalid_argument(msg); }

std::string Shape::str() const {
  std::string s = "(";
  for (int i = 0; i < rank; ++i) {
    if (i) s += ", ";
    s += std::to_string(d[i]);
  }
  if (rank == 1) s += ",";
  return s + ")";
}

std::string Tensor::desc() const { return std::string(dtype_name(dtype)) + " " + shape.str(); }

void Tensor::resize(const Shape& s, DType d) {
  size_t need = size_t(s.numel()) * 4;
  if (need > capacity || !data) {
    size_t bytes = (std::max<size_t>(need, 4) + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, bytes);
    if (!p) throw std::bad_alloc();
    owner = std::shared_ptr<void>(p, std::free);
    data = p;
    capacity = bytes;
  }
  shape = s;
  dtype = d;
}

TensorPtr Tensor::make(const Shape& s, DType d) {
  auto t = std::make_shared<Tensor>();
  t->resize(s, d);
  return t;
}

TensorPtr Tensor::zeros(const Shape& s, DType d) {
  auto t = make(s, d);
  t->zero();
  return t;
}

TensorPtr Tensor::scalar(float v) {
  auto t = make(Shape{});
  t->f()[0] = v;
  return t;
}

void Tensor::fill(float v) {
  float* p = f();
  for (int64_t i = 0, n = size(); i < n; ++i) p[i] = v;
}

}  // namespace fastfit
