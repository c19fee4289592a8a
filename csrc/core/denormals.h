// FlushDenormals: while one lives, this thread treats denormal floats as zero (inputs and results),
// as TensorFlow runs every op, so fastfit computes Keras' numbers. Denormals arise in decaying
// optimizer state, squares of tiny gradients and products of small activations, and each one costs
// the CPU a ~100-cycle assist (they made an RMSprop step 8-14x slower).
#pragma once
#if defined(__x86_64__)
#include <xmmintrin.h>
#endif

namespace fastfit {

class FlushDenormals {
 public:
#if defined(__x86_64__)
  FlushDenormals() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kFlushToZero | kDenormalsAreZero); }
  ~FlushDenormals() { _mm_setcsr(saved_); }
  FlushDenormals(const FlushDenormals&) = delete;
  FlushDenormals& operator=(const FlushDenormals&) = delete;

 private:
  static constexpr unsigned kFlushToZero = 1u << 15, kDenormalsAreZero = 1u << 6;  // MXCSR bits
  const unsigned saved_;
#endif
};

}  // namespace fastfit
