// Built without CUDA: no GPU, and every cuda:: entry point throws (one stub per kernel of kernels.def).
#include <stdexcept>
#include <string>

#include "kernels/kernels.h"

namespace fastfit::cuda {
namespace {
[[noreturn]] void unavailable(const char* what) {
  throw std::runtime_error(std::string(what) + " has no GPU implementation: fastfit was built without CUDA");
}
}  // namespace

bool is_available() { return false; }
void* alloc(size_t) { unavailable("GPU memory"); }
void free(void*) { unavailable("GPU memory"); }
void copy(void*, const void*, size_t) { unavailable("GPU memory"); }

#pragma GCC diagnostic ignored "-Wunused-parameter"  // the stubs name their parameters but ignore them
#define FF_KERNEL(ret, name, params) \
  ret name params { unavailable("kernel " #name); }
#include "kernels/kernels.def"
#undef FF_KERNEL

}  // namespace fastfit::cuda
