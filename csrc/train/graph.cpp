// Graph planning: slots, per-mode step lists, splittability, gradients.
#include "train/graph.h"

#include <algorithm>

#include "train/fusion.h"

namespace fastfit {

int Graph::slot_of(const Tensor* t) const {
  auto it = index_.find(t);
  return it == index_.end() ? -1 : it->second;
}

Graph::Graph(const Trace& traced, const std::vector<TensorPtr>& batch_consts, const std::vector<TensorPtr>& params) {
  const Trace trace = fuse_ops(traced);
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
  for (int r : random_states)  // advanced in place after each step: it must be the generator's own variable
    FF_CHECK(external[r], "Program: a random op draws from a state computed in the call, not a generator's variable");
  for (auto& t : trace.outputs) outputs.push_back(lookup(t, "model output"));
  for (auto& t : trace.loss_terms) loss_terms.push_back(lookup(t, "loss term"));
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
  roots.insert(roots.end(), loss_terms.begin(), loss_terms.end());
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

// Rows can be split between shards when every step that sees the batch is row-wise, except the
// loss's reductions over the batch: the loss (and each tracked term) must be a linear combination of
// means over the batch (then the batch's value is the shards' values weighted by their share of the
// rows; constants may be added) or of sums over it (then the shards' values add up). The shards'
// loss weights account for that. A sum over the batch divided by the batch size (an activity
// regularizer's penalty) is a mean: each shard divides by its own row count. Other uses of the batch
// size, and variable updates, are whole-batch quantities: such a graph runs unsplit.
void Graph::plan_splitting(const Trace& trace) {
  enum Kind : char { kConstant, kRows, kSum, kMean, kBatch, kMixed };  // how a value depends on the batch
  std::vector<char> kind(external.size(), kConstant);
  for (int i : inputs) kind[i] = kRows;
  for (int i : targets) kind[i] = kRows;
  for (int i : batch_constants) kind[i] = kBatch;
  std::vector<char> rowwise(steps.size(), 1);
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& s = steps[i];
    const std::string op = s.op->registry_name();
    std::unique_ptr<bool[]> flags(new bool[s.in.size()]);
    char k[2] = {kConstant, kConstant};
    bool any = false, scalars = false;
    for (size_t j = 0; j < s.in.size(); ++j) {
      const char kj = kind[s.in[j]];
      any |= (flags[j] = kj != kConstant);
      scalars |= kj == kSum || kj == kMean || kj == kBatch || kj == kMixed;
      if (j < 2) k[j] = kj;
    }
    if (!any) continue;
    char out = kMixed;
    if (!scalars) {  // batched tensors in: the op's own row rule
      std::vector<const Tensor*> traced;
      for (auto& t : trace.records[i].in) traced.push_back(t.get());
      rowwise[i] = s.op->rowwise(traced.data(), flags.get());
      const int r = s.op->reduces_all();
      out = rowwise[i] ? kRows : r == 2 ? kMean : r == 1 ? kSum : kMixed;
      if (r) rowwise[i] = 1;  // a reduction over the batch: the loss weights account for it
    } else if (op == "add" || op == "subtract") {  // of two batch statistics, or one and a constant
      const char a = k[0], b = k[1];
      if (a == b && (a == kSum || a == kMean)) out = a;
      else if ((a == kMean && b == kConstant) || (a == kConstant && b == kMean)) out = kMean;
    } else if ((op == "multiply" && (k[0] == kConstant || k[1] == kConstant)) ||
               (op == "divide" && k[1] == kConstant)) {  // scaled by a constant
      out = k[0] == kConstant ? k[1] : k[0];
    } else if (op == "divide" && k[0] == kSum && k[1] == kBatch) {
      out = kMean;
    }
    kind[s.out] = out;
    if (out == kMixed) rowwise[i] = 0;
  }
  auto reduction = [&](int slot) { return kind[slot] == kMean ? 2 : kind[slot] == kSum ? 1 : 0; };
  if (loss >= 0) loss_reduction = reduction(loss);
  for (int t : loss_terms) term_reduction.push_back(reduction(t));
  // Outputs and labels are written or compared per shard: they must stay rows.
  auto rows = [&](const std::vector<int>& slots) {
    for (int v : slots)
      if (kind[v] != kRows && kind[v] != kConstant) return false;
    return true;
  };
  auto splittable = [&](const std::vector<int>& list) {
    if (!assigns.empty() || !rows(outputs)) return false;
    for (int i : list)
      if (!rowwise[i]) return false;
    return true;
  };
  bool scalars_linear = (loss < 0 || loss_reduction) && rows(labels);
  for (int r : term_reduction) scalars_linear &= r != 0;
  split[int(Mode::predict)] = splittable(predict_steps);
  split[int(Mode::test)] = splittable(test_steps) && scalars_linear;
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
  BackwardPlan plan = plan_backward(g, n, sources, {loss});
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
