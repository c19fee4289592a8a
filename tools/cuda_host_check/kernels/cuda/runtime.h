// Host stand-in for kernels/cuda/runtime.h (found first on the include path): no streams, launches
// that cannot fail, one record for the checking kernels, read at once.
#pragma once
#include <cstdint>

#include "kernels/cuda/backend.h"

typedef void* cudaStream_t;

namespace fastfit::cuda {

inline cudaStream_t stream() { return nullptr; }
inline void check_launch(const char*) {}
inline unsigned blocks_for(int64_t n, int block) { return unsigned(n > 0 ? (n + block - 1) / block : 1); }
inline unsigned long long g_record = ~0ull;
inline unsigned long long* check_record(const char*, int64_t) { return &g_record; }
inline int64_t first_bad(unsigned long long* record) {
  const unsigned long long found = std::exchange(*record, ~0ull);
  return found == ~0ull ? -1 : int64_t(found >> 32);
}

}  // namespace fastfit::cuda
