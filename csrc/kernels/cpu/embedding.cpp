// Embedding lookup: rows of a table picked by id, and the gradient added back into those rows.
#include <cstring>

#include "kernels/cpu/kernels.h"

namespace fastfit::cpu {

int64_t gather_forward(const float* table, int64_t V, int64_t D, Labels ids, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) {
    const int32_t id = ids[i];
    if (id < 0 || id >= V) return i;
    std::memcpy(y + i * D, table + int64_t(id) * D, sizeof(float) * D);
  }
  return -1;
}

FF_MULTIVERSION void gather_backward(const float* dy, Labels ids, int64_t n, int64_t V, int64_t D, float* dtable,
                                     bool acc) {
  if (!acc) std::memset(dtable, 0, sizeof(float) * V * D);
  for (int64_t i = 0; i < n; ++i) {  // in order: an id seen twice gets its rows added in the same order
    float* __restrict row = dtable + int64_t(ids[i]) * D;
    const float* __restrict g = dy + i * D;
    for (int64_t j = 0; j < D; ++j) row[j] += g[j];
  }
}

}  // namespace fastfit::cpu
