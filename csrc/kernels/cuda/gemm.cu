// Matrix products on cuBLASLt, FP32 compute (no TF32: the CPU's precision), row-major as the CPU's:
// C = op(A) op(B) is the column-major product C^T = op(B)^T op(A)^T. Dense fuses its bias and relu
// into cuBLASLt's epilogue. A plan (descriptors and the heuristic's algorithm) is made once per shape,
// epilogue and pointer alignment, per thread, and reused: a captured step calls no heuristic.
// Workspaces are per stream (see workspace()).
#include <cublasLt.h>

#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "kernels/cuda/launch.cuh"

namespace fastfit::cuda {
namespace {

constexpr size_t kWorkspace = size_t(32) << 20;

void check_lt(cublasStatus_t s, const char* what) {
  if (s != CUBLAS_STATUS_SUCCESS)
    throw std::runtime_error(std::string("cuBLASLt ") + what + ": " + cublasLtGetStatusString(s));
}

int alignment(const void* p) {  // 16, 8 or 4 bytes
  const auto a = reinterpret_cast<uintptr_t>(p);
  return a % 16 == 0 ? 16 : a % 8 == 0 ? 8 : 4;
}

struct Key {
  bool ta, tb;
  int64_t M, N, K;
  int epilogue;
  int align[4];  // A, B, C (= D), bias
  bool operator==(const Key& o) const {
    return ta == o.ta && tb == o.tb && M == o.M && N == o.N && K == o.K && epilogue == o.epilogue &&
           align[0] == o.align[0] && align[1] == o.align[1] && align[2] == o.align[2] && align[3] == o.align[3];
  }
};
struct KeyHash {
  size_t operator()(const Key& k) const {
    const size_t aligns = size_t(k.align[0] + 3 * k.align[1] + 7 * k.align[2] + 11 * k.align[3]);
    const size_t h = size_t(k.M) * 1000003u ^ size_t(k.N) * 10007u ^ size_t(k.K) * 101u;
    return h ^ size_t(k.ta) << 1 ^ size_t(k.tb) << 2 ^ size_t(k.epilogue) << 3 ^ aligns << 9;
  }
};
struct Plan {
  cublasLtMatmulDesc_t desc;
  cublasLtMatrixLayout_t a, b, c;  // cuBLASLt's A (our B), B (our A), C = D
  cublasLtMatmulAlgo_t algo;
};

// Per thread, never destroyed: at exit the CUDA context may already be gone.
struct Context {
  cublasLtHandle_t handle = nullptr;
  std::unordered_map<Key, Plan, KeyHash> plans;
};
thread_local Context* g_context = nullptr;

Context& context() {
  if (!g_context) {
    auto* c = new Context;
    check_lt(cublasLtCreate(&c->handle), "cublasLtCreate");
    g_context = c;
  }
  return *g_context;
}

// One workspace per stream: products on one stream run one after another, and a captured graph keeps
// using the workspace of the stream it was captured on, whichever thread launches it.
void* workspace(cudaStream_t s) {
  static std::mutex m;
  static std::unordered_map<cudaStream_t, void*> spaces;
  std::lock_guard<std::mutex> lk(m);
  void*& w = spaces[s];
  if (!w) check(cudaMalloc(&w, kWorkspace), "cudaMalloc");
  return w;
}

const Plan& plan_for(Context& ctx, const Key& k, const float* bias) {
  auto it = ctx.plans.find(k);
  if (it != ctx.plans.end()) return it->second;
  Plan p{};
  check_lt(cublasLtMatmulDescCreate(&p.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), "cublasLtMatmulDescCreate");
  const cublasOperation_t op_a = k.tb ? CUBLAS_OP_T : CUBLAS_OP_N, op_b = k.ta ? CUBLAS_OP_T : CUBLAS_OP_N;
  const auto epilogue = cublasLtEpilogue_t(k.epilogue);
  check_lt(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSA, &op_a, sizeof op_a), "TRANSA");
  check_lt(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_TRANSB, &op_b, sizeof op_b), "TRANSB");
  check_lt(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof epilogue), "EPILOGUE");
  if (bias) check_lt(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias), "BIAS");
  // Column-major: our B is N x K (op N) or stored K x N (op T); our A is K x M (op N) or M x K (op T).
  check_lt(cublasLtMatrixLayoutCreate(&p.a, CUDA_R_32F, k.tb ? k.K : k.N, k.tb ? k.N : k.K, k.tb ? k.K : k.N), "layout");
  check_lt(cublasLtMatrixLayoutCreate(&p.b, CUDA_R_32F, k.ta ? k.M : k.K, k.ta ? k.K : k.M, k.ta ? k.M : k.K), "layout");
  check_lt(cublasLtMatrixLayoutCreate(&p.c, CUDA_R_32F, k.N, k.M, k.N), "layout");
  cublasLtMatmulPreference_t pref;
  check_lt(cublasLtMatmulPreferenceCreate(&pref), "cublasLtMatmulPreferenceCreate");
  const size_t workspace = kWorkspace;
  const uint32_t align_a = k.align[1], align_b = k.align[0], align_c = k.align[2];
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace, sizeof workspace);
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &align_a, sizeof align_a);
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &align_b, sizeof align_b);
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &align_c, sizeof align_c);
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &align_c, sizeof align_c);
  cublasLtMatmulHeuristicResult_t found{};
  int count = 0;
  const cublasStatus_t s =
      cublasLtMatmulAlgoGetHeuristic(ctx.handle, p.desc, p.a, p.b, p.c, p.c, pref, 1, &found, &count);
  cublasLtMatmulPreferenceDestroy(pref);
  check_lt(s, "cublasLtMatmulAlgoGetHeuristic");
  if (count < 1)
    throw std::runtime_error("cuBLASLt has no algorithm for a " + std::to_string(k.M) + "x" + std::to_string(k.K) +
                             " by " + std::to_string(k.K) + "x" + std::to_string(k.N) + " float32 product");
  p.algo = found.algo;
  return ctx.plans.emplace(k, p).first->second;
}

// Row-major C[M,N] = alpha op(A) op(B) + beta C, then the epilogue (bias per column, relu).
void matmul(bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha, const float* A, const float* B, float beta,
            float* C, const float* bias, cublasLtEpilogue_t epilogue) {
  Context& ctx = context();
  const Key key{ta, tb, M, N, K, int(epilogue), {alignment(A), alignment(B), alignment(C), bias ? alignment(bias) : 16}};
  const Plan& p = plan_for(ctx, key, bias);
  if (bias)  // the plan may have been made for another bias of the same alignment
    check_lt(cublasLtMatmulDescSetAttribute(p.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias), "BIAS");
  check_lt(cublasLtMatmul(ctx.handle, p.desc, &alpha, B, p.a, A, p.b, &beta, C, p.c, C, p.c, &p.algo,
                          workspace(stream()), kWorkspace, stream()),
           "cublasLtMatmul");
}

}  // namespace

void gemm(int /*threads*/, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
          const float* B, float beta, float* C) {
  if (M == 0 || N == 0) return;
  if (K == 0) {  // no products: C = beta * C
    if (beta == 0.f) fill(C, M * N, 0.f);
    else each("gemm", M * N, [=] __device__(int64_t i) { C[i] *= beta; });
    return;
  }
  matmul(trans_a, trans_b, M, N, K, alpha, A, B, beta, C, nullptr, CUBLASLT_EPILOGUE_DEFAULT);
}

void dense_forward(int /*threads*/, int64_t M, int64_t N, int64_t K, const float* x, const float* w, const float* bias,
                   Act act, float* y) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    if (bias) fill_rows(bias, M, N, y);
    else fill(y, M * N, 0.f);
    act_forward(act, y, M * N, y);
    return;
  }
  const bool relu = act == Act::relu;
  const cublasLtEpilogue_t epilogue = bias ? (relu ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_BIAS)
                                           : (relu ? CUBLASLT_EPILOGUE_RELU : CUBLASLT_EPILOGUE_DEFAULT);
  matmul(false, false, M, N, K, 1.f, x, w, 0.f, y, bias, epilogue);
  if (act == Act::sigmoid || act == Act::tanh) act_forward(act, y, M * N, y);  // no such epilogue
}

}  // namespace fastfit::cuda
