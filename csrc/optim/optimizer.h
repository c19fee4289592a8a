// Optimizers: Keras 3's update rules as one fused pass over a flat range of parameters and their state.
#pragma once
#include <unordered_map>
#include <vector>

#include "core/tensor.h"
#include "optim/param_arena.h"

namespace fastfit {

enum class OptKind { sgd, rmsprop, adam };

struct OptimizerConfig {
  OptKind kind = OptKind::sgd;
  float learning_rate = 0.01f;
  float momentum = 0.f;  // sgd, rmsprop
  bool nesterov = false;
  double rho = 0.9;  // rmsprop; double as given: Keras takes 1 - rho in Python, then rounds to float32
  bool centered = false;
  double beta_1 = 0.9, beta_2 = 0.999;  // adam; double for the same reason
  bool amsgrad = false;
  float epsilon = 1e-7f;
};

// The state is one ParamArena per kind of slot, named as Keras names its lists ("momentum",
// "velocity", ...), and every slot arena is laid out like the variables it serves, in the order
// build() first saw them. So element i of every slot belongs to the same parameter element, and a
// model whose weights lie packed in that order updates in one pass over one flat range.
class Optimizer {
 public:
  struct Slot {
    const char* name;  // Keras' suffix: "<variable path with / as _>_<name>"
    ParamArena arena;  // holds state[k] for variables()[k]
    std::vector<TensorPtr> state;
  };
  struct SlotVariable {
    const char* slot;
    size_t var;  // index in variables()
    TensorPtr state;
  };

  explicit Optimizer(OptimizerConfig c);

  OptimizerConfig cfg;
  int64_t iterations = 0;  // completed steps, as Keras' optimizer.iterations

  // Zeroed state for each variable not seen before, appended in order to every slot arena.
  void build(const std::vector<TensorPtr>& vars);
  // Where a variable's state starts in the slot layout (floats); -1 if build() has not seen it.
  int64_t offset(const Tensor& var) const;
  // One step of the rule for n parameter elements whose state is [offset, offset + n) of the slot
  // layout; w and g point at those elements. Disjoint ranges may run on different threads.
  void update(float* w, const float* g, int64_t offset, int64_t n) const;
  // The eager step: each variable (built on first sight) gets its gradient, then iterations += 1.
  void apply(const std::vector<TensorPtr>& vars, const std::vector<TensorPtr>& grads);

  const std::vector<TensorPtr>& variables() const { return vars_; }  // those served, in build order
  // The state tensors in the order of Keras' optimizer.variables (after iteration and learning_rate).
  std::vector<SlotVariable> slot_variables() const;

 private:
  std::vector<Slot> slots_;  // in Keras' build order, which the kernels follow
  int interleaved_ = 1;      // leading slots Keras' build adds variable by variable (Adam: 2), the rest slot by slot
  std::vector<TensorPtr> vars_;
  Layout layout_;  // of vars_: the offsets in every slot arena
  std::unordered_map<const Tensor*, size_t> index_;  // vars_ holds the tensors: no address is reused
};

}  // namespace fastfit
