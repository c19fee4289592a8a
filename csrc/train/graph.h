// Graph: a trace compiled for replay (after train/fusion.h fuses pairs of its ops). Every tensor of the trace becomes a slot; inputs, targets and
// op outputs get buffers per executor, variables and constants are used in place. Planned once:
// the steps each mode runs, the backward pass (autograd/backward_plan.h), and whether a batch's rows
// can be split between shards.
#pragma once
#include <unordered_map>
#include <vector>

#include "autograd/backward_plan.h"
#include "train/trace.h"

namespace fastfit {

enum class Mode { predict, test, train };

struct Graph {
  struct Step {
    OpPtr op;              // the traced op; executors run clones (ops keep scratch buffers)
    std::vector<int> in;   // slots
    int out;
    std::unique_ptr<bool[]> acc;  // backward: add into input k's gradient (another contribution came first)
  };
  std::vector<Step> steps;
  std::vector<TensorPtr> external;  // per slot: the variable or constant it is, or null (planned)
  std::vector<Shape> shape;         // per slot, as traced
  std::vector<DType> dtype;
  std::vector<int> inputs, targets, outputs;
  std::vector<int> labels;  // what metrics read (trace.labels, or the targets)
  int loss = -1;
  int loss_reduction = 0;            // the loss is a linear combination of: 1 sums, 2 means over the batch
  std::vector<int> loss_terms;       // scalars tracked beside the loss (each output's loss)
  std::vector<int> term_reduction;   // per term, as loss_reduction
  std::vector<int> batch_constants;          // slots that hold the batch size
  std::vector<std::pair<int, int>> assigns;  // (variable slot, value slot), run after each step
  std::vector<int> random_states;            // generator states a step draws from: advanced per step
  std::vector<int> predict_steps, test_steps;  // forward steps needed by each mode, in order
  std::vector<int> backward_steps;             // vjps, last step first
  std::vector<char> has_grad;                  // per slot
  std::vector<int> params;                     // slots of the trainable variables, as given
  std::vector<char> param_connected;           // per param: the loss depends on it
  bool split[3] = {false, false, false};       // per Mode: rows may be split between shards

  // params: the variables training updates (empty: no backward pass).
  Graph(const Trace& trace, const std::vector<TensorPtr>& batch_constants, const std::vector<TensorPtr>& params);
  bool splits(Mode m) const { return split[int(m)]; }

 private:
  std::unordered_map<const Tensor*, int> index_;  // tensor -> slot, while planning
  int slot_of(const Tensor* t) const;
  std::vector<int> ancestors(const std::vector<int>& roots) const;
  void plan_splitting(const Trace& trace);
  void plan_gradients(const std::vector<TensorPtr>& params);
};

}  // namespace fastfit
