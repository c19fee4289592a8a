// The one reverse-mode planner: which values get gradients and in what order the vjps run. The eager
// tape (tape.cpp) and the compiled Program (train/graph.cpp) both plan their backward pass here.
#pragma once
#include <vector>

#include "ops/op.h"

namespace fastfit {

// A step of a graph of values numbered 0..num_values-1: out = op(in...).
struct GraphStep {
  const Op* op;
  std::vector<int> in;
  int out;
};

struct BackwardPlan {
  std::vector<char> has_grad;               // per value: depends on a source and leads to the target
  std::vector<int> order;                   // steps whose vjp runs, last step first
  std::vector<std::vector<char>> accumulate;  // per step, per input: add into a gradient already written
};

// Gradients of the sum of `targets` with respect to `sources`. A value's first contribution (in backward
// order) overwrites its gradient buffer and later ones add to it, so no buffer needs zeroing; a
// target's buffer holds its seed first, so contributions to it add.
BackwardPlan plan_backward(const std::vector<GraphStep>& steps, int num_values, const std::vector<int>& sources,
                           const std::vector<int>& targets);

}  // namespace fastfit
