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

// One step for n elements of one variable: weights w, gradient g, state s[i] in rule_slots order.
// `first`: the index of w[0] in its variable of `size` elements (TensorFlow's pow, which Ftrl calls,
// computes the last size % 8 elements of a tensor differently: see tf_pow.h).
void apply_rule(const RuleConfig& c, const RuleStep& st, float* w, const float* g, float* const* s, int64_t n,
                int64_t first, int64_t size);

}  // namespace fastfit
