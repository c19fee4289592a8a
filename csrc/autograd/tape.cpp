// Eager op application and reverse-mode differentiation over recorded ops.
#include "autograd/tape.h"

#include <algorithm>
#include <unordered_map>

#include "autograd/backward_plan.h"
#include "core/denormals.h"

namespace fastfit {
namespace {
thread_local std::vector<Tape*> g_tapes;
thread_local std::vector<std::vector<Tape*>> g_suspended;
}

void push_tape(Tape* t) { g_tapes.push_back(t); }
void pop_tape(Tape* t) {
  auto it = std::find(g_tapes.begin(), g_tapes.end(), t);
  if (it != g_tapes.end()) g_tapes.erase(it);
}
void suspend_tapes() {
  g_suspended.push_back(std::move(g_tapes));
  g_tapes.clear();
}
void resume_tapes() {
  FF_CHECK(!g_suspended.empty(), "resume_tapes: no tapes were suspended");
  g_tapes = std::move(g_suspended.back());
  g_suspended.pop_back();
}

TensorPtr apply(const OpPtr& op, const std::vector<TensorPtr>& in) {
  auto out = run_op(*op, in, ExecCtx::eager());
  if (op->keeps_logits()) out->logits = in[0];
  if (op->random_state() >= 0) advance_random_state(*in[op->random_state()]);  // fresh numbers next call
  for (Tape* t : g_tapes) {
    bool hit = t->record_all;
    for (size_t i = 0; i < in.size() && !hit; ++i)
      hit = op->differentiable(int(i)) && ((t->watch_variables && in[i]->trainable) || t->watched.count(in[i].get()));
    if (!hit) continue;
    t->records.push_back({op, in, out});
    if (t->record_all) t->live.insert(out.get());
    else t->watched.insert(out.get());
  }
  return out;
}

std::vector<TensorPtr> Tape::gradient(const TensorPtr& target, const std::vector<TensorPtr>& sources,
                                      const TensorPtr& seed) {
  FF_CHECK(persistent || !used, "GradientTape.gradient can only be called once on a non-persistent tape; "
                                "create the tape with persistent=True to call it more than once");
  used = true;
  if (seed)
    FF_CHECK(seed->shape == target->shape, "GradientTape.gradient: output_gradients must have the target's shape " +
                                               target->shape.str() + ", got " + seed->shape.str());
  // Number every tensor the records and the request touch, then plan as a graph.
  std::unordered_map<const Tensor*, int> id;
  std::vector<const Tensor*> values;
  auto number = [&](const TensorPtr& t) {
    auto it = id.emplace(t.get(), int(values.size()));
    if (it.second) values.push_back(t.get());
    return it.first->second;
  };
  std::vector<int> src;
  for (auto& s : sources) src.push_back(number(s));
  std::vector<GraphStep> steps;
  for (auto& r : records) {
    GraphStep g{r.op.get(), {}, 0};
    for (auto& t : r.in) g.in.push_back(number(t));
    g.out = number(r.out);
    steps.push_back(std::move(g));
  }
  const int tgt = number(target);
  const BackwardPlan plan = plan_backward(steps, int(values.size()), src, tgt);

  FlushDenormals flush;
  std::vector<TensorPtr> grad(values.size());
  if (plan.has_grad[tgt]) {
    if (seed) {
      grad[tgt] = seed;
    } else {
      grad[tgt] = Tensor::make(target->shape);
      grad[tgt]->fill(1.f);
    }
  }
  for (int i : plan.order) {
    const Record& r = records[i];
    const size_t n = r.in.size();
    std::vector<const Tensor*> raw(n);
    std::vector<Tensor*> din(n, nullptr);
    std::unique_ptr<bool[]> acc(new bool[n]);
    for (size_t k = 0; k < n; ++k) {
      raw[k] = r.in[k].get();
      acc[k] = plan.accumulate[i][k];
      const int v = steps[i].in[k];
      if (!r.op->differentiable(int(k)) || !plan.has_grad[v]) continue;
      if (!grad[v]) grad[v] = Tensor::make(raw[k]->shape);
      din[k] = grad[v].get();
    }
    r.op->backward(ExecCtx::eager(), raw.data(), *r.out, *grad[steps[i].out], din.data(), acc.get());
  }
  std::vector<TensorPtr> result;
  for (int s : src) result.push_back(plan.has_grad[s] ? grad[s] : nullptr);
  if (!persistent) records.clear();
  return result;
}

}  // namespace fastfit
