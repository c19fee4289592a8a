// Tensor: a shaped, contiguous float32/int32 buffer; buffers grow but never shrink, so replay reuses them.
#pragma once
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>

#include "core/device.h"

namespace fastfit {

enum class DType : uint8_t { f32, i32 };
inline const char* dtype_name(DType d) { return d == DType::f32 ? "float32" : "int32"; }

[[noreturn]] void fail(const std::string& msg);  // throws std::invalid_argument (Python ValueError)
struct TypeError : std::invalid_argument {       // a value of the wrong type (Python TypeError)
  using std::invalid_argument::invalid_argument;
};
[[noreturn]] void fail_type(const std::string& msg);
struct NotImplemented : std::logic_error {  // something fastfit does not do yet (Python NotImplementedError)
  using std::logic_error::logic_error;
};
#define FF_CHECK(cond, msg)                     \
  do {                                          \
    if (!(cond)) ::fastfit::fail(msg);          \
  } while (0)

// Fixed-capacity shape: no heap allocation, so shape inference on the hot path allocates nothing.
struct Shape {
  static constexpr int kMaxRank = 8;
  int64_t d[kMaxRank] = {0};
  int rank = 0;
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims) {
    for (int64_t v : dims) d[rank++] = v;
  }
  int64_t& operator[](int i) { return d[i < 0 ? i + rank : i]; }
  int64_t operator[](int i) const { return d[i < 0 ? i + rank : i]; }
  int64_t numel() const {
    int64_t n = 1;
    for (int i = 0; i < rank; ++i) n *= d[i];
    return n;
  }
  bool operator==(const Shape& o) const {
    if (rank != o.rank) return false;
    for (int i = 0; i < rank; ++i)
      if (d[i] != o.d[i]) return false;
    return true;
  }
  bool operator!=(const Shape& o) const { return !(*this == o); }
  void push(int64_t v) {
    FF_CHECK(rank < kMaxRank, "tensors of rank above 8 are not supported");
    d[rank++] = v;
  }
  std::string str() const;
};

struct Tensor;
using TensorPtr = std::shared_ptr<Tensor>;

struct Tensor {
  Shape shape;
  DType dtype = DType::f32;
  Device device = Device::cpu;
  void* data = nullptr;
  size_t capacity = 0;          // bytes usable at data
  std::shared_ptr<void> owner;  // keeps data alive: our aligned block, or a numpy array we view
  bool trainable = false;       // a trainable variable: every tape watches it
  TensorPtr logits;             // set on softmax and sigmoid outputs: crossentropy reads them (Keras' _keras_logits)

  static TensorPtr make(const Shape& s, DType d = DType::f32, Device dev = Device::cpu);
  // `t` itself when it lives on `dev`, else a copy there (waits for queued GPU work).
  static TensorPtr on(Device dev, const TensorPtr& t);
  static TensorPtr zeros(const Shape& s, DType d = DType::f32);
  static TensorPtr scalar(float v);

  // Reshape to s, reallocating only if the buffer is too small (contents are then undefined).
  void resize(const Shape& s, DType d);
  void resize(const Shape& s) { resize(s, dtype); }
  void zero() { fill(0.f); }  // all bits 0: float 0 and int 0 alike
  void fill(float v);
  void copy_to_host(void* dst) const;  // nbytes() bytes, wherever the tensor lives
  void copy_from_host(const void* src);
  void copy_from(const Tensor& src);  // same shape and dtype, either device

  int64_t size() const { return shape.numel(); }
  size_t nbytes() const { return size_t(size()) * 4; }
  int rank() const { return shape.rank; }
  int64_t rows() const { return shape.rank ? size() / shape[-1] : 1; }  // product of all but the last dim
  int64_t cols() const { return shape.rank ? shape[-1] : 1; }
  float* f() { return static_cast<float*>(data); }
  const float* f() const { return static_cast<const float*>(data); }
  int32_t* i32() { return static_cast<int32_t*>(data); }
  const int32_t* i32() const { return static_cast<const int32_t*>(data); }
  std::string desc() const;  // "float32 (64, 10)"
};

}  // namespace fastfit
