// Optimizers: Keras 3 update rules as one fused in-place pass over each variable.
#pragma once
#include <unordered_map>
#include <vector>

#include "core/tensor.h"

namespace fastfit {

enum class OptKind { sgd, rmsprop, adam };

struct OptimizerConfig {
  OptKind kind = OptKind::sgd;
  float learning_rate = 0.01f;
  float momentum = 0.f;  // sgd, rmsprop
  bool nesterov = false;
  float rho = 0.9f;  // rmsprop
  bool centered = false;
  float beta_1 = 0.9f, beta_2 = 0.999f;  // adam
  bool amsgrad = false;
  float epsilon = 1e-7f;
};

struct Optimizer {
  OptimizerConfig cfg;
  int64_t iterations = 0;  // completed steps, as Keras' optimizer.iterations

  struct Slots {  // per variable: sgd/rmsprop momentum, rmsprop velocity/average, adam m/v/v_hat
    Tensor a, b, c;
  };
  explicit Optimizer(OptimizerConfig c) : cfg(c) {}
  Slots& slots_for(const Tensor& w);  // created zeroed on first use
  // Elements [begin, end) of one variable (end < 0: to its end), at the current iteration; disjoint
  // ranges may run on different threads.
  void update(Tensor& w, const Tensor& g, Slots& s, int64_t begin = 0, int64_t end = -1) const;
  // One optimizer step over all variables, then iterations += 1.
  void apply(const std::vector<TensorPtr>& vars, const std::vector<TensorPtr>& grads);
  size_t num_slot_variables() const { return slots_.size(); }

 private:
  std::unordered_map<const Tensor*, std::unique_ptr<Slots>> slots_;
};

}  // namespace fastfit
