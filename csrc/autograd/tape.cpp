// Eager op application and reverse-mode differentiation over recorded ops.
#include "autograd/tape.h"

#include <algorithm>
#include <unordered_map>

namespace fastfit {
namespace {
thread_local std::vector<Tape*> g_tapes;
}

void push_tape(Tape* t) { g_tapes.push_back(t); }
void pop_tape(Tape* t) {
  auto it = std::find(g_tapes.begin(), g_tapes.end(), t);
  if (it != g_tapes.end()) g_tapes.erase(it);
}

TensorPtr apply(const OpPtr& op, const std::vector<TensorPtr>& in) {
  auto out = run_op(*op, in, ExecCtx::eager());
  if (op->is_softmax()) out->logits = in[0];
  if (op->random_state() >= 0) advance_random_state(*in[op->random_state()]);  // fresh numbers next call
  for (Tape* t : g_tapes) {
    bool hit = t->record_all;
    for (size_t i = 0; i < in.size() && !hit; ++i)
      hit = op->differentiable(int(i)) && ((t->watch_variables && in[i]->trainable) || t->watched.count(in[i].get()));
    if (!hit) continue;
    t->records.push_back({op, in, out});
    if (!t->record_all) t->watched.insert(out.get());
  }
  return out;
}

std::vector<TensorPtr> Tape::gradient(const TensorPtr& target, const std::vector<TensorPtr>& sources,
                                      const TensorPtr& seed) {
  FF_CHECK(persistent || !used, "GradientTape.gradient can only be called once on a non-persistent tape; "
                                "create the tape with persistent=True to call it more than once");
  used = true;
  // Which tensors depend on a source (forward sweep), so the backward skips everything else.
  std::unordered_set<const Tensor*> live;
  for (auto& s : sources) live.insert(s.get());
  for (auto& r : records)
    for (size_t i = 0; i < r.in.size(); ++i)
      if (r.op->differentiable(int(i)) && live.count(r.in[i].get())) {
        live.insert(r.out.get());
        break;
      }

  std::unordered_map<const Tensor*, TensorPtr> grads;
  if (seed) {
    FF_CHECK(seed->shape == target->shape, "GradientTape.gradient: output_gradients must have the target's shape " +
                                               target->shape.str() + ", got " + seed->shape.str());
    grads[target.get()] = seed;
  } else {
    auto ones = Tensor::make(target->shape);
    ones->fill(1.f);
    grads[target.get()] = ones;
  }
  for (auto r = records.rbegin(); r != records.rend(); ++r) {
    auto g = grads.find(r->out.get());
    if (g == grads.end()) continue;
    const size_t n = r->in.size();
    std::vector<const Tensor*> raw(n);
    std::vector<Tensor*> din(n, nullptr);
    std::unique_ptr<bool[]> acc(new bool[n]);
    for (size_t i = 0; i < n; ++i) {
      raw[i] = r->in[i].get();
      acc[i] = false;
      if (!r->op->differentiable(int(i)) || !live.count(raw[i])) continue;
      auto& slot = grads[raw[i]];
      if (slot) acc[i] = true;
      else slot = Tensor::make(raw[i]->shape);
      din[i] = slot.get();
    }
    TensorPtr dout = g->second;  // keep alive: grads may rehash while we insert
    r->op->backward(ExecCtx::eager(), raw.data(), *r->out, *dout, din.data(), acc.get());
  }
  std::vector<TensorPtr> result;
  for (auto& s : sources) {
    auto it = grads.find(s.get());
    result.push_back(it == grads.end() ? nullptr : it->second);
  }
  if (!persistent) records.clear();
  return result;
}

}  // namespace fastfit
