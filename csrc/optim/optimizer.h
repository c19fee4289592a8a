// Optimizer: Keras 3's base optimizer around an update rule (rules.h): learning-rate schedule,
// gradient unscaling, accumulation and clipping, weight decay, moving averages of the weights.
#pragma once
#include <functional>
#include <unordered_map>
#include <vector>

#include "core/tensor.h"
#include "optim/param_arena.h"
#include "optim/rules.h"
#include "optim/schedule.h"

namespace fastfit {

// Keras' base optimizer arguments; 0 turns an option off.
struct OptimizerConfig {
  RuleConfig rule;
  Schedule learning_rate;
  double weight_decay = 0;
  double clipnorm = 0, clipvalue = 0, global_clipnorm = 0;
  bool use_ema = false;
  double ema_momentum = 0.99;
  int64_t ema_overwrite_frequency = 0;
  int64_t gradient_accumulation_steps = 0;
  double loss_scale_factor = 0;
};

// The state is one ParamArena per kind of slot, named as Keras names its lists ("momentum",
// "velocity", ...), and every slot arena is laid out like the variables it serves, in the order
// build() first saw them. So element i of every slot belongs to the same parameter element, and a
// model whose weights lie packed in that order updates in one pass over one flat range.
//
// A step runs in phases: start_step(); when clips_by_norm(), add_squares() for each variable with a
// gradient, then finish_norms(); update() over the ranges with gradients (disjoint ranges may run on
// different threads); finish_step().
class Optimizer {
 public:
  struct Slot {
    const char* name;  // Keras' suffix: "<variable path with / as _>_<name>"
    int group;         // consecutive slots of a group are listed variable by variable, as Keras builds them
    float initial;
    ParamArena arena;  // holds state[k] for variables()[k]
    std::vector<TensorPtr> state;
  };
  struct SlotVariable {
    const char* slot;
    int64_t var;  // index in variables(); -1 for state of the whole optimizer (Nadam's u_product)
    TensorPtr state;
  };

  explicit Optimizer(OptimizerConfig c);

  OptimizerConfig cfg;
  int64_t iterations = 0;  // calls to apply, as Keras' optimizer._iterations
  // Whether weight decay applies to a variable, asked once per variable at build (Keras'
  // exclude_from_weight_decay); unset: every variable.
  std::function<bool(const TensorPtr&)> decays;

  // Zeroed state for each variable not seen before, appended in order to every slot arena.
  void build(const std::vector<TensorPtr>& vars);
  // Where a variable's state starts in the slot layout (floats); -1 if build() has not seen it.
  int64_t offset(const Tensor& var) const;
  size_t index(const Tensor& var) const;  // its place in variables() (build() has seen it)

  void start_step();  // the learning rate (a Python schedule is called here) and the step's scalars
  bool clips_by_norm() const { return needs_norms_; }
  // The sum of squares of the gradient g of the variable whose state starts at `offset`. Different
  // variables may run on different threads; each sum has one order, whatever the thread count.
  void add_squares(const float* g, int64_t offset);
  void finish_norms();
  // The step for n parameter elements whose state is [offset, offset + n) of the slot layout; w and
  // g point at those elements (the padding between variables is left alone).
  void update(float* w, const float* g, int64_t offset, int64_t n) const;
  void finish_step();  // moving averages, accumulators reset, iterations += 1
  // The eager step: each variable (built on first sight) gets its gradient, through all the phases.
  void apply(const std::vector<TensorPtr>& vars, const std::vector<TensorPtr>& grads);

  const std::vector<TensorPtr>& variables() const { return vars_; }  // those served, in build order
  Device device() const { return device_; }  // where the variables (and so the state) live

  // The first option set that has no GPU kernel ("clipnorm", "use_ema", "Ftrl", ...), or null: a step
  // on the GPU is the rule (apply_rule) and the weight decay (decay_weights) alone.
  const char* gpu_unsupported() const;
  // For a step run elsewhere (a GPU Program): this step's scalars (after start_step), whether weight
  // decay applies to variable k, and the state of the rule's slot j (rule_slots' order): its arena's
  // buffer, laid out as offset() says.
  const RuleStep& scalars() const { return rule_; }
  bool decays_variable(size_t k) const { return decay_[k] != 0; }
  size_t num_rule_slots() const { return slots_.size() - rule_slot_; }
  float* rule_slot(size_t j) const { return slots_[rule_slot_ + j].arena.buffer().get(); }
  // The state tensors in the order of Keras' optimizer.variables (after iteration and learning_rate).
  std::vector<SlotVariable> slot_variables() const;
  bool built() const { return built_; }

 private:
  void update_variable(size_t k, float* w, const float* g, int64_t at, int64_t n) const;
  // The gradient as the rule sees it, before clipping: unscaled, averaged with the accumulated ones.
  const float* prepare(const float* g, int64_t at, int64_t n, float* buf) const;
  int64_t step() const;  // Keras' optimizer.iterations: counted in applied updates when accumulating

  std::vector<Slot> slots_;  // Keras' build order: average, gradient_accumulator, then the rule's
  size_t rule_slot_ = 0;     // the first of the rule's slots
  TensorPtr u_product_;      // Nadam's product of momentum factors
  std::vector<TensorPtr> vars_;
  Layout layout_;  // of vars_: the offsets in every slot arena
  std::unordered_map<const Tensor*, size_t> index_;  // vars_ holds the tensors: no address is reused
  std::vector<char> decay_;                           // per variable: weight decay applies
  bool built_ = false;
  Device device_ = Device::cpu;
  TensorPtr rule_on_device_;  // rule_ copied to the GPU, for steps of variables there

  // This step (start_step, finish_norms), read by update()
  RuleStep rule_;
  bool applies_ = true;     // false while gradients only accumulate
  bool transforms_ = false;  // the rule sees the gradient unscaled, accumulated or clipped
  bool needs_norms_ = false;
  std::vector<double> squares_;  // per variable
  std::vector<float> clip_;      // per variable: the clipnorm divisor, or the global scale
};

}  // namespace fastfit
