// Our skinny matrix-product kernels, one per ISA (gemm_avx2.cpp, gemm_avx512.cpp); gemm.cpp picks one.
#pragma once
#include <cstdint>

namespace fastfit::cpu {

// How a product starts and ends: C (+)= A B, optionally + bias row, then relu, all in registers.
struct Epilogue {
  bool acc = false;             // start from C
  const float* bias = nullptr;  // start from the bias row
  bool relu = false;
};

// C[M, N] = epilogue(A[M, K] B[K, N]) with A(r, k) = A[r*rs + k*cs], B and C row-major, unpacked.
// Every element is its start value plus the products over k = 0, 1, ..., K-1, each added with one
// fused multiply-add in that order, whatever the kernel, the ISA or the rows a call is given: the
// kernels give identical results, and splitting rows between threads changes no row's arithmetic.
using SkinnyKernel = void (*)(int64_t M, int64_t N, int64_t K, const float* A, int64_t rs, int64_t cs,
                              const float* B, float* C, const Epilogue& e);
void skinny_avx2(int64_t M, int64_t N, int64_t K, const float* A, int64_t rs, int64_t cs, const float* B, float* C,
                 const Epilogue& e);
void skinny_avx512(int64_t M, int64_t N, int64_t K, const float* A, int64_t rs, int64_t cs, const float* B, float* C,
                   const Epilogue& e);

}  // namespace fastfit::cpu
