// Graph planning: slots, per-mode step lists, splittability, gradients.
#include "train/graph.h"

#include <algorithm>

namespace fastfit {

int Graph::slot_of(const Tensor* t) const {
  auto it = index_.find(t);
  return it == index_.end() ? -1 : it->second;
}

Graph::Graph(const Trace& trace, const std::vector<TensorPtr>& batch_consts, const std::vector<TensorPtr>& params) {
  auto add = [&](const TensorPtr& t, bool planned) {
    const int id = int(external.size());
    index_[t.get()] = id;
    external.push_back(planned ? nullptr : t);
    shape.push_back(t->shape);
    dtype.push_back(t->dtype);
    return id;
  };
  auto find_or_add = [&](const TensorPtr& t) {
    const int s = slot_of(t.get());
    return s >= 0 ? s : add(t, false);
  };
  for (auto& t : trace.inputs) inputs.push_back(add(t, true));
  for (auto& t : trace.targets) targets.push_back(add(t, true));
  for (auto& t : batch_consts) {  // filled per batch: planned buffers, not the traced constant
    batch_constants.push_back(add(t, true));
  }
  for (auto& r : trace.records) {
    Step s{r.op, {}, 0, nullptr};
    for (auto& t : r.in) s.in.push_back(find_or_add(t));
    s.out = add(r.out, true);
    const int rs = r.op->random_state();
    if (rs >= 0 && std::find(random_states.begin(), random_states.end(), s.in[rs]) == random_states.end())
      random_states.push_back(s.in[rs]);
    steps.push_back(std::move(s));
  }
  auto lookup = [&](const TensorPtr& t, const char* what) {
    const int s = slot_of(t.get());
    FF_CHECK(s >= 0, std::string("Program: the ") + what + " was not computed from the traced inputs");
    return s;
  };
  for (auto& t : trace.outputs) outputs.push_back(lookup(t, "model output"));
  if (trace.labels.empty()) labels = targets;
  for (auto& t : trace.labels) labels.push_back(lookup(t, "metric target"));
  if (trace.loss) {
    loss = lookup(trace.loss, "loss");
    FF_CHECK(trace.loss->rank() == 0, "Program: the loss must be a scalar, got " + trace.loss->desc());
  }
  for (auto& a : trace.assigns) {
    const int var = find_or_add(a.variable);
    FF_CHECK(!external[var] || external[var] == a.variable, "Program: a variable update writes to a traced value");
    assigns.push_back({var, lookup(a.value, "value assigned to a variable")});
  }
  predict_steps = ancestors(outputs);
  std::vector<int> roots = outputs;
  if (loss >= 0) roots.push_back(loss);
  for (auto& a : assigns) roots.push_back(a.second);
  roots.insert(roots.end(), labels.begin(), labels.end());
  test_steps = ancestors(roots);
  plan_splitting(trace);
  has_grad.assign(external.size(), 0);
  if (loss >= 0 && !params.empty()) plan_gradients(params);
  index_ = {};
}

// The steps needed to compute `roots`, in order.
std::vector<int> Graph::ancestors(const std::vector<int>& roots) const {
  std::vector<char> need(external.size(), 0);
  for (int r : roots) need[r] = 1;
  std::vector<int> list;
  for (int i = int(steps.size()) - 1; i >= 0; --i) {
    if (!need[steps[i].out]) continue;
    list.push_back(i);
    for (int j : steps[i].in) need[j] = 1;
  }
  std::reverse(list.begin(), list.end());
  return list;
}

// Rows can be split when every step that sees the batch is row-wise, except the loss's own reduction
// over all elements (the shards' loss weights account for it). Batch-size constants and variable
// updates are whole-batch quantities: such a graph runs unsplit.
void Graph::plan_splitting(const Trace& trace) {
  std::vector<char> batched(external.size(), 0);
  for (int i : inputs) batched[i] = 1;
  for (int i : targets) batched[i] = 1;
  for (int i : batch_constants) batched[i] = 1;
  int loss_step = -1;
  std::vector<char> rowwise(steps.size(), 1);
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    std::unique_ptr<bool[]> flags(new bool[s.in.size()]);
    bool any = false;
    for (size_t k = 0; k < s.in.size(); ++k) any |= (flags[k] = batched[s.in[k]]);
    if (s.out == loss) loss_step = int(i);
    if (!any) continue;
    batched[s.out] = 1;
    std::vector<const Tensor*> traced;
    for (auto& t : trace.records[i].in) traced.push_back(t.get());
    rowwise[i] = s.op->rowwise(traced.data(), flags.get());
  }
  if (loss_step >= 0) loss_reduction = steps[loss_step].op->reduces_all();
  auto splittable = [&](const std::vector<int>& list) {
    if (!batch_constants.empty() || !assigns.empty()) return false;
    for (int i : list)
      if (!rowwise[i] && !(i == loss_step && loss_reduction)) return false;
    return true;
  };
  split[int(Mode::predict)] = splittable(predict_steps);
  split[int(Mode::test)] = splittable(test_steps) && (loss < 0 || (loss_step >= 0 && loss_reduction));
  split[int(Mode::train)] = split[int(Mode::test)];
}

void Graph::plan_gradients(const std::vector<TensorPtr>& param_tensors) {
  std::vector<GraphStep> g;
  for (auto& s : steps) g.push_back({s.op.get(), s.in, s.out});
  std::vector<int> sources;
  for (auto& p : param_tensors) {
    const int s = slot_of(p.get());
    sources.push_back(s >= 0 ? s : int(external.size()));  // not in the trace: no gradient
  }
  const int n = int(external.size()) + 1;  // one extra value stands for the variables the trace never read
  BackwardPlan plan = plan_backward(g, n, sources, loss);
  plan.has_grad.pop_back();
  has_grad = plan.has_grad;
  backward_steps = plan.order;
  for (int i : backward_steps) {
    steps[i].acc.reset(new bool[steps[i].in.size()]);
    std::copy(plan.accumulate[i].begin(), plan.accumulate[i].end(), steps[i].acc.get());
  }
  for (size_t k = 0; k < param_tensors.size(); ++k) {
    params.push_back(sources[k] < int(external.size()) ? sources[k] : -1);
    param_connected.push_back(params.back() >= 0 && has_grad[params.back()]);
  }
}

}  // namespace fastfit
