// Embedding lookup (cpu/embedding.cpp). The backward adds each row of dy into its id's row with atomic
// adds: rows with the same id add up in no fixed order (the CPU adds them in order).
#include "kernels/cuda/launch.cuh"

namespace fastfit::cuda {

int64_t gather_forward(const float* table, int64_t V, int64_t D, Labels ids, int64_t n, float* y) {
  unsigned long long* bad = check_record("gather_forward", V);
  const void* data = ids.data;
  const bool is_int = ids.is_int;
  each("gather_forward", n * D, [=] __device__(int64_t e) {
    const int64_t i = e / D, j = e % D;
    const int32_t id = dev::label_at(data, is_int, i);
    if (id < 0 || id >= V) {
      dev::record_bad(bad, i, id);
      y[e] = 0.f;
      return;
    }
    y[e] = table[int64_t(id) * D + j];
  });
  return first_bad(bad);
}

void gather_backward(const float* dy, Labels ids, int64_t n, int64_t V, int64_t D, float* dtable, bool acc) {
  if (!acc) fill(dtable, V * D, 0.f);
  const void* data = ids.data;
  const bool is_int = ids.is_int;
  each("gather_backward", n * D, [=] __device__(int64_t e) {
    const int64_t i = e / D, j = e % D;
    atomicAdd(dtable + int64_t(dev::label_at(data, is_int, i)) * D + j, dy[e]);
  });
}

}  // namespace fastfit::cuda
