// Reverse-mode planning: a forward sweep marks what depends on a source, a backward sweep what leads
// to a target; gradients flow where both hold.
#include "autograd/backward_plan.h"

namespace fastfit {

BackwardPlan plan_backward(const std::vector<GraphStep>& steps, int num_values, const std::vector<int>& sources,
                           const std::vector<int>& targets) {
  std::vector<char> depends(num_values, 0), leads(num_values, 0), written(num_values, 0);
  for (int s : sources) depends[s] = 1;
  for (const GraphStep& s : steps)
    for (size_t k = 0; k < s.in.size(); ++k)
      if (s.op->differentiable(int(k)) && depends[s.in[k]]) depends[s.out] = 1;
  for (int t : targets) leads[t] = written[t] = 1;
  for (int i = int(steps.size()) - 1; i >= 0; --i)
    if (leads[steps[i].out])
      for (size_t k = 0; k < steps[i].in.size(); ++k)
        if (steps[i].op->differentiable(int(k))) leads[steps[i].in[k]] = 1;

  BackwardPlan plan;
  plan.has_grad.resize(num_values);
  for (int v = 0; v < num_values; ++v) plan.has_grad[v] = depends[v] && leads[v];
  plan.accumulate.resize(steps.size());
  for (int i = int(steps.size()) - 1; i >= 0; --i) {
    const GraphStep& s = steps[i];
    if (!plan.has_grad[s.out]) continue;
    plan.order.push_back(i);
    auto& acc = plan.accumulate[i];
    acc.assign(s.in.size(), 0);
    for (size_t k = 0; k < s.in.size(); ++k) {
      if (!s.op->differentiable(int(k)) || !plan.has_grad[s.in[k]]) continue;
      acc[k] = written[s.in[k]];
      written[s.in[k]] = 1;
    }
  }
  return plan;
}

}  // namespace fastfit
