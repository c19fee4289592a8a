// Update rules: the update_step of each Keras 3 optimizer (keras/src/optimizers/<name>.py), as one
// fused pass over a flat range of a variable, its gradient and its state.
#pragma once
#include <cstdint>
#include <vector>

namespace fastfit {

enum class OptKind { sgd, rmsprop, adam, adagrad, adadelta, adamax, nadam, ftrl, lion };

// A rule's hyperparameters, with Keras' names and defaults. Those Keras combines in Python before
// they meet a tensor (1 - rho, 2 * l2_shrinkage) are doubles, to round as Keras' do.
struct RuleConfig {
  OptKind kind = OptKind::sgd;
  double momentum = 0;  // sgd, rmsprop
  bool nesterov = false;
  double rho = 0.9;  // rmsprop, adadelta
  bool centered = false;
  double beta_1 = 0.9, beta_2 = 0.999;  // adam, adamax, nadam, lion
  bool amsgrad = false;
  double epsilon = 1e-7;
  double initial_accumulator_value = 0.1;  // adagrad, ftrl
  double learning_rate_power = -0.5, l1_regularization_strength = 0, l2_regularization_strength = 0,
         l2_shrinkage_regularization_strength = 0, beta = 0;  // ftrl
};

// A kind of state the rule keeps per variable, in Keras' build order. Consecutive slots of one group
// are created variable by variable (Keras' add_optimizer_variables with several names).
struct SlotSpec {
  const char* name;
  int group;
  float initial;
};
std::vector<SlotSpec> rule_slots(const RuleConfig& c);

// The scalars of one step, computed once in float32 as Keras computes them.
struct RuleStep {
  float lr = 0;
  float k[5] = {};  // what else depends on the step, per rule (see step_scalars)
};
// `step`: Keras' optimizer.iterations before the step; `u_product`: Nadam's running product, which
// Keras advances before the rule runs.
RuleStep step_scalars(const RuleConfig& c, float lr, int64_t step, float& u_product);

// The state a step reads and writes: one pointer per slot, in rule_slots order (null past the last).
// The step itself is the kernel apply_rule (kernels/kernels.def): for the CPU in rules.cpp, where
// `first`, the index of w[0] in its variable of `size` elements, matters to Ftrl only (TensorFlow's pow
// computes the last size % 8 elements of a tensor differently: see tf_pow.h).
constexpr int kMaxRuleSlots = 3;
struct RuleSlots {
  float* s[kMaxRuleSlots] = {};
};

}  // namespace fastfit
