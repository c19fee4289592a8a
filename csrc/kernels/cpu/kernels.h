// CPU kernels: plain loops over raw pointers. Ops validate shapes; kernels assume valid input.
#pragma once
#include <cstdint>

// Run-time ISA dispatch for the elementwise loops: GCC emits AVX-512, AVX2 and baseline clones
// and picks one at load time, so a portable build still uses the CPU it runs on.
#if defined(__GNUC__) && defined(__x86_64__) && !defined(__clang__)
#define FF_MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define FF_MULTIVERSION
#endif

namespace fastfit::cpu {

enum class Act : int { linear = 0, relu = 1, sigmoid = 2, tanh = 3 };

// C[M,N] = alpha * op(A)[M,K] op(B)[K,N] + beta * C, row-major (OpenBLAS sgemm).
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          const float* B, float beta, float* C);
// y[M,N] = act(x[M,K] w[K,N] + bias): bias and relu applied in the product's registers when our kernel runs.
void dense_forward(int64_t M, int64_t N, int64_t K, const float* x, const float* w, const float* bias, Act act,
                   float* y);
void set_num_threads(int n);
int num_threads();
// While on, matrix products run on the calling thread only: the caller already keeps every core busy.
void set_blas_single_threaded(bool on);

void broadcast_rows(const float* row, int64_t M, int64_t N, float* out);     // out[i,:] = row
void act_forward(Act act, const float* x, int64_t n, float* y);             // y = act(x) (in place ok)
// dx (+)= dy * act'(.) written in terms of the output y.
void act_backward(Act act, const float* y, const float* dy, int64_t n, float* dx, bool acc);
void column_sum(const float* x, int64_t M, int64_t N, float* out, bool acc);  // out[j] (+)= sum_i x[i,j]
float softmax_row(const float* x, int64_t N, float* p);  // p = softmax(x) for one row; returns logsumexp(x)
void softmax_rows(const float* x, int64_t M, int64_t N, float* y);
void softmax_backward(const float* y, const float* dy, int64_t M, int64_t N, float* dx, bool acc);
void axpy_store(float a, const float* x, int64_t n, float* y, bool acc);      // y (+)= a * x

}  // namespace fastfit::cpu
