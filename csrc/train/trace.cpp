// Trace comparison: a walk over both traces' records in step.
#include "train/trace.h"

#include <cstring>
#include <unordered_map>
#include <vector>

namespace fastfit {
namespace {

// Where a tensor comes from within one trace: an input, a target, a step's output, or outside
// (a variable or a constant; kind 0).
struct Origin {
  int kind = 0, index = 0;  // 1 input, 2 target, 3 step output
  bool operator==(const Origin& o) const { return kind == o.kind && index == o.index; }
};

struct Origins {
  std::unordered_map<const Tensor*, Origin> of;
  explicit Origins(const Trace& t) {
    for (size_t i = 0; i < t.inputs.size(); ++i) of[t.inputs[i].get()] = {1, int(i)};
    for (size_t i = 0; i < t.targets.size(); ++i) of.emplace(t.targets[i].get(), Origin{2, int(i)});
  }
  Origin operator()(const Tensor* t) const {
    auto it = of.find(t);
    return it == of.end() ? Origin{} : it->second;
  }
};

std::vector<char> bytes_of(const Tensor& t) {  // on the host, wherever t lives
  std::vector<char> b(t.nbytes());
  t.copy_to_host(b.data());
  return b;
}

bool same_values(const Tensor& x, const Tensor& y) {
  return x.dtype == y.dtype && x.shape == y.shape && bytes_of(x) == bytes_of(y);
}

bool holds(const Tensor& t, int64_t value) {
  if (t.size() != 1) return false;
  const std::vector<char> b = bytes_of(t);
  if (t.dtype == DType::i32) {
    int32_t v;
    std::memcpy(&v, b.data(), 4);
    return v == value;
  }
  float v;
  std::memcpy(&v, b.data(), 4);
  return v == float(value);
}

std::string at(size_t step, const Record& r) {
  return "op #" + std::to_string(step) + " (" + r.op->name() + ")";
}

}  // namespace

std::string compare_traces(const Trace& a, const Trace& b, std::vector<TensorPtr>& batch_constants) {
  batch_constants.clear();
  if (a.records.size() != b.records.size())
    return "the call ran " + std::to_string(a.records.size()) + " ops on " + std::to_string(a.rows()) + " rows but " +
           std::to_string(b.records.size()) + " ops on " + std::to_string(b.rows()) +
           " rows (a Python loop or branch that depends on the data or the batch size)";
  Origins oa(a), ob(b);
  // Constants of `a` already matched, with the tensor they matched in `b`.
  std::unordered_map<const Tensor*, const Tensor*> matched;
  for (size_t i = 0; i < a.records.size(); ++i) {
    const Record &ra = a.records[i], &rb = b.records[i];
    if (ra.op->key() != rb.op->key())
      return "the op sequence differs between batch sizes: " + at(i, ra) + " against " + at(i, rb);
    for (size_t k = 0; k < ra.in.size(); ++k) {
      const Tensor *xa = ra.in[k].get(), *xb = rb.in[k].get();
      const Origin ga = oa(xa), gb = ob(xb);
      if (!(ga == gb)) return "input " + std::to_string(k) + " of " + at(i, ra) + " is wired differently between batch sizes";
      if (ga.kind != 0 || xa == xb) continue;  // traced values, or the same variable or constant object
      auto m = matched.find(xa);
      if (m != matched.end()) {
        if (m->second != xb) return "input " + std::to_string(k) + " of " + at(i, ra) + " is a different constant";
        continue;
      }
      matched[xa] = xb;
      if (same_values(*xa, *xb)) continue;
      if (holds(*xa, a.rows()) && holds(*xb, b.rows())) {
        batch_constants.push_back(ra.in[k]);
        continue;
      }
      return "input " + std::to_string(k) + " of " + at(i, ra) + " is a constant that changes with the data or the " +
             "batch size (" + xa->desc() + "), computed in Python or NumPy outside fastfit's ops";
    }
    oa.of[ra.out.get()] = {3, int(i)};
    ob.of[rb.out.get()] = {3, int(i)};
  }
  auto same_origin = [&](const TensorPtr& x, const TensorPtr& y) {
    return x && y ? (oa(x.get()) == ob(y.get()) && (oa(x.get()).kind != 0 || x == y)) : x == y;
  };
  if (a.outputs.size() != b.outputs.size()) return "the number of model outputs differs between batch sizes";
  for (size_t k = 0; k < a.outputs.size(); ++k)
    if (!same_origin(a.outputs[k], b.outputs[k])) return "model output " + std::to_string(k) + " differs between batch sizes";
  if (!same_origin(a.loss, b.loss)) return "the loss is computed differently between batch sizes";
  if (a.loss_terms.size() != b.loss_terms.size()) return "the loss terms differ between batch sizes";
  for (size_t k = 0; k < a.loss_terms.size(); ++k)
    if (!same_origin(a.loss_terms[k], b.loss_terms[k])) return "loss term " + std::to_string(k) + " differs";
  if (a.labels.size() != b.labels.size()) return "the metrics' targets differ between batch sizes";
  for (size_t k = 0; k < a.labels.size(); ++k)
    if (!same_origin(a.labels[k], b.labels[k])) return "target " + std::to_string(k) + " differs between batch sizes";
  if (a.assigns.size() != b.assigns.size()) return "the variable updates differ between batch sizes";
  for (size_t k = 0; k < a.assigns.size(); ++k)
    if (a.assigns[k].variable != b.assigns[k].variable || !same_origin(a.assigns[k].value, b.assigns[k].value))
      return "variable update " + std::to_string(k) + " differs between batch sizes";
  return "";
}

}  // namespace fastfit
