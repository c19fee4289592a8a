// Eager op application and reverse-mode differentiation over recorded ops.
#include "autograd/tape.h"

#include <algorithm>
#include <stdexcept>
#include <unordered_map>

#include "autograd/backward_plan.h"
#include "autograd/grad_ops.h"
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

TensorPtr apply(const OpPtr& op, const std::vector<TensorPtr>& given) {
  // Inputs that live on another device are copied there by recorded ops, so gradients flow back.
  const Device device = op_device(*op, given);
  std::vector<TensorPtr> in = given;
  Device own;
  if (!op->places(own))
    for (auto& t : in)
      if (t && t->device != device) t = apply(to_device_op(device), {t});
  auto out = run_op(*op, in, ExecCtx::eager());
  if (op->keeps_logits()) out->logits = in[0];
  if (op->random_state() >= 0) advance_random_state(*given[op->random_state()]);  // fresh numbers next call
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

// Whether a tape that may take a gradient later is recording now: another one, or this one if
// persistent. Then a gradient must be built of recorded ops.
bool Tape::recorded_by_others() const {
  for (const Tape* t : g_tapes)
    if (!t->record_all && (t != this || persistent)) return true;
  return false;
}

std::vector<TensorPtr> Tape::gradient(const std::vector<TensorPtr>& targets, const std::vector<TensorPtr>& sources,
                                      const std::vector<TensorPtr>& seeds) {
  FF_CHECK(seeds.size() == targets.size(), "GradientTape.gradient: expected one output gradient per target");
  for (size_t t = 0; t < targets.size(); ++t)
    if (seeds[t])
      FF_CHECK(seeds[t]->shape == targets[t]->shape, "GradientTape.gradient: output_gradients must have the target's "
                                                      "shape " + targets[t]->shape.str() + ", got " +
                                                      seeds[t]->shape.str());
  if (used && !persistent)  // as TensorFlow: a RuntimeError in Python
    throw std::runtime_error("A non-persistent GradientTape can only be used to compute one set of gradients; "
                             "create the tape with persistent=True to call gradient() more than once");
  used = true;
  const bool differentiable = recorded_by_others();
  // Recording the gradient may append to `records`: walk a copy.
  const std::vector<Record> recs = differentiable ? records : std::vector<Record>{};
  const std::vector<Record>& walk = differentiable ? recs : records;
  // Number every tensor the records and the request touch, then plan as a graph.
  std::unordered_map<const Tensor*, int> id;
  std::vector<const Tensor*> values;
  auto number = [&](const TensorPtr& t) {
    auto it = id.emplace(t.get(), int(values.size()));
    if (it.second) values.push_back(t.get());
    return it.first->second;
  };
  std::vector<int> src, tgt;
  for (auto& s : sources) src.push_back(number(s));
  std::vector<GraphStep> steps;
  for (auto& r : walk) {
    GraphStep g{r.op.get(), {}, 0};
    for (auto& t : r.in) g.in.push_back(number(t));
    g.out = number(r.out);
    steps.push_back(std::move(g));
  }
  for (auto& t : targets) tgt.push_back(number(t));
  const BackwardPlan plan = plan_backward(steps, int(values.size()), src, tgt);

  FlushDenormals flush;
  std::vector<TensorPtr> grad(values.size());
  for (size_t t = 0; t < targets.size(); ++t) {  // each target's seed, added up where a target repeats
    if (!plan.has_grad[tgt[t]]) continue;
    const Device device = targets[t]->device;
    TensorPtr seed = seeds[t] ? Tensor::on(device, seeds[t]) : nullptr;
    if (!seed) {
      seed = Tensor::make(targets[t]->shape, DType::f32, device);
      seed->fill(1.f);
    }
    TensorPtr& g = grad[tgt[t]];
    if (differentiable) {
      g = g ? grad::add(g, seed) : seed;
    } else {
      if (!g) {  // the vjps may add into it: the caller's seed stays untouched
        g = Tensor::make(seed->shape, DType::f32, device);
        g->fill(0.f);
      }
      FF_DISPATCH(g->device, axpy_store)(1.f, seed->f(), seed->size(), g->f(), true);
    }
  }
  for (int i : plan.order) {
    const Record& r = walk[i];
    const size_t n = r.in.size();
    std::vector<char> need(n, 0);
    for (size_t k = 0; k < n; ++k) need[k] = r.op->differentiable(int(k)) && plan.has_grad[steps[i].in[k]];
    if (differentiable) {
      const std::vector<TensorPtr> d = r.op->vjp_ops(r.in, r.out, grad[steps[i].out], need);
      for (size_t k = 0; k < n; ++k) {
        if (!need[k]) continue;
        TensorPtr& g = grad[steps[i].in[k]];
        g = g ? grad::add(g, d[k]) : d[k];
      }
      continue;
    }
    std::vector<const Tensor*> raw(n);
    std::vector<Tensor*> din(n, nullptr);
    std::unique_ptr<bool[]> acc(new bool[n]);
    for (size_t k = 0; k < n; ++k) {
      raw[k] = r.in[k].get();
      acc[k] = plan.accumulate[i][k];
      const int v = steps[i].in[k];
      if (!need[k]) continue;
      if (!grad[v]) grad[v] = Tensor::make(raw[k]->shape, DType::f32, raw[k]->device);
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
