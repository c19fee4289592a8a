// The metric registry and the running means: Mean, Sum, the root mean (RootMeanSquaredError) and the
// accuracies, each folding per-sample values into (total, count) as Keras' Mean does with
// reduce_to_samplewise_values: a sample's values are averaged (summed, for Sum) with their weights.
#include "train/metrics.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include "train/metric_helpers.h"

namespace fastfit {
namespace {

std::map<std::string, MetricDef>& registry() {
  static std::map<std::string, MetricDef> metrics;  // built during static initialisation, read-only after
  return metrics;
}

int64_t argmax_row(const Tensor& t, int64_t r) {
  const int64_t C = t.cols();
  int64_t best = 0;
  for (int64_t j = 1; j < C; ++j)
    if (value_at(t, r * C + j) > value_at(t, r * C + best)) best = j;
  return best;
}

Shape without_last(const Tensor& t) {
  Shape s = t.shape;
  if (s.rank) --s.rank;
  return s;
}

// Mean, Sum and the root of the mean: per-sample values in y_pred.
struct Running final : Metric {
  enum Kind { mean, sum, root_mean } kind_;
  explicit Running(Kind k) : kind_(k) {}
  void fold(const Tensor&, const Tensor& v, const Tensor* w, MetricState& s) const override {
    fold_mean("mean", v.shape, w, kind_ == sum, s, [&](int64_t e) { return double(value_at(v, e)); });
  }
  std::vector<double> result(const MetricState& s) const override {
    if (kind_ == sum) return {s.total};
    const double m = s.count != 0 ? s.total / s.count : 0.0;
    return {kind_ == root_mean ? std::sqrt(m) : m};
  }
  bool device_fold(const Tensor&, const Tensor& v, const Tensor* w, MetricFold& f) const override {
    if (v.dtype != DType::f32) return false;
    f.kind = kind_ == sum ? MetricFold::sum : MetricFold::mean;
    fold_layout("mean", v.shape, w, f);
    return true;
  }
};

// Accuracies: 1 where the prediction matches, per element (accuracy, binary) or per sample.
struct Accuracy final : Metric {
  enum Kind { exact, binary, categorical, sparse, top_k, sparse_top_k } kind_;
  const char* name_;
  float threshold_ = 0.5f;
  int64_t k_ = 5;
  bool sorted_ids_ = false;
  Accuracy(Kind kind, const char* name, const Attrs& a) : kind_(kind), name_(name) {
    if (auto* t = a.find("threshold")) threshold_ = float(std::get<double>(*t));
    if (auto* k = a.find("k")) k_ = std::get<int64_t>(*k);
    if (auto* ids = a.find("from_sorted_ids")) sorted_ids_ = std::get<bool>(*ids);
  }

  // Whether label `t` ranks among the k largest of row r (ties at the boundary count, as in_top_k).
  bool in_top_k(const Tensor& p, int64_t r, int64_t t) const {
    const int64_t C = p.cols();
    if (t < 0 || t >= C || !std::isfinite(value_at(p, r * C + t))) return false;
    if (sorted_ids_) {  // y_pred holds class ids, best first
      for (int64_t j = 0; j < std::min(k_, C); ++j)
        if (int64_t(value_at(p, r * C + j)) == t) return true;
      return false;
    }
    int64_t above = 0;
    for (int64_t j = 0; j < C; ++j) above += value_at(p, r * C + j) > value_at(p, r * C + t);
    return above < k_;
  }

  // The shape of the per-sample values (one per element, or one per row of classes), after the checks.
  Shape values_shape(const Tensor& y, const Tensor& p) const {
    if (kind_ == exact || kind_ == binary) {
      expect_same_elements(name_, y, p);
      return p.shape;
    }
    FF_CHECK(p.rank() >= 1, std::string(name_) + ": `y_pred` must have a class axis, got " + p.desc());
    if (kind_ == categorical || kind_ == top_k)
      FF_CHECK(y.shape == p.shape, std::string(name_) + ": `y_true` and `y_pred` must have the same shape, got " +
                                       y.shape.str() + " and " + p.shape.str());
    else
      FF_CHECK(y.size() == p.rows(), std::string(name_) + ": expected " + std::to_string(p.rows()) +
                                         " labels for y_pred " + p.shape.str() + ", got y_true " + y.shape.str());
    return without_last(p);
  }

  bool device_fold(const Tensor& y, const Tensor& p, const Tensor* w, MetricFold& f) const override {
    if (p.dtype != DType::f32 || kind_ == top_k || kind_ == sparse_top_k) return false;
    const Shape shape = values_shape(y, p);
    f.kind = kind_ == exact ? MetricFold::exact
             : kind_ == binary ? MetricFold::binary
             : kind_ == categorical ? MetricFold::categorical
                                    : MetricFold::sparse;
    f.threshold = threshold_;
    f.C = kind_ == exact || kind_ == binary ? 1 : p.cols();
    fold_layout(name_, shape, w, f);
    return true;
  }

  void fold(const Tensor& y, const Tensor& p, const Tensor* w, MetricState& s) const override {
    const Shape shape = values_shape(y, p);
    if (kind_ == exact || kind_ == binary) {
      fold_mean(name_, shape, w, false, s, [&](int64_t e) {
        const float pred = kind_ == binary ? float(value_at(p, e) > threshold_) : value_at(p, e);
        return pred == value_at(y, e) ? 1.0 : 0.0;
      });
      return;
    }
    fold_mean(name_, shape, w, false, s, [&](int64_t r) {
      switch (kind_) {
        case categorical: return argmax_row(p, r) == argmax_row(y, r) ? 1.0 : 0.0;
        case sparse: return double(argmax_row(p, r)) == double(value_at(y, r)) ? 1.0 : 0.0;
        case top_k: return in_top_k(p, r, argmax_row(y, r)) ? 1.0 : 0.0;
        default: return in_top_k(p, r, int64_t(value_at(y, r))) ? 1.0 : 0.0;
      }
    });
  }
};

template <Running::Kind K>
MetricPtr make_running(const Attrs&) {
  return std::make_shared<Running>(K);
}

#define FF_ACCURACY(kind, name, ...)                                                                \
  const MetricRegistrar k_##kind({name, Attrs{__VA_ARGS__}, [](const Attrs& a) -> MetricPtr {     \
    return std::make_shared<Accuracy>(Accuracy::kind, name, a);                                   \
  }})

const MetricRegistrar kMean({"mean", {}, make_running<Running::mean>});
const MetricRegistrar kSum({"sum", {}, make_running<Running::sum>});
const MetricRegistrar kRootMean({"root_mean", {}, make_running<Running::root_mean>});
FF_ACCURACY(exact, "accuracy");
FF_ACCURACY(binary, "binary_accuracy", {"threshold", 0.5});
FF_ACCURACY(categorical, "categorical_accuracy");
FF_ACCURACY(sparse, "sparse_categorical_accuracy");
FF_ACCURACY(top_k, "top_k_categorical_accuracy", {"k", int64_t(5)});
FF_ACCURACY(sparse_top_k, "sparse_top_k_categorical_accuracy", {"k", int64_t(5)}, {"from_sorted_ids", false});
#undef FF_ACCURACY

}  // namespace

void MetricState::reset() {
  total = count = 0;
  std::fill(acc.begin(), acc.end(), 0.0);
}

std::vector<double> MetricState::result() const {
  if (metric) return metric->result(*this);
  return {count != 0 ? total / count : 0.0};
}

void Metric::update(const Tensor& y_true, const Tensor& y_pred, const Tensor* weights, MetricState& s) const {
  if (s.metric.get() != this) s.metric = shared_from_this();
  fold(y_true, y_pred, weights, s);
}

std::vector<double> Metric::result(const MetricState& s) const { return {s.count != 0 ? s.total / s.count : 0.0}; }

MetricRegistrar::MetricRegistrar(MetricDef def) {
  const std::string name = def.name;
  if (!registry().emplace(name, std::move(def)).second) throw std::logic_error("metric registered twice: " + name);
}

MetricPtr make_metric(const std::string& name, const Attrs& attrs) {
  auto it = registry().find(name);
  if (it == registry().end()) {
    std::string known;
    for (auto& entry : registry()) known += (known.empty() ? "" : ", ") + entry.first;
    fail("unknown metric '" + name + "'; known metrics: " + known);
  }
  return it->second.create(complete_attrs(name, it->second.defaults, attrs));
}

void fold_layout(const char* what, const Shape& shape, const Tensor* weights, MetricFold& f) {
  const WeightMap w(what, weights, shape);
  const int64_t n = shape.numel();
  f.samples = (weights && weights->rank() == 0) || !shape.rank ? 1 : shape.d[0];
  f.per = f.samples ? n / f.samples : 0;
  f.block = w.block;
}

float value_at(const Tensor& t, int64_t i) { return t.dtype == DType::i32 ? float(t.i32()[i]) : t.f()[i]; }

WeightMap::WeightMap(const char* what, const Tensor* weights, const Shape& values) : w(weights) {
  if (!w) return;
  // Weights (n, 1) for values (n,) are the same thing: trailing ones beyond the values' rank drop.
  int rank = w->rank();
  while (rank > values.rank && w->shape[rank - 1] == 1) --rank;
  bool prefix = rank <= values.rank;
  for (int i = 0; prefix && i < rank; ++i) prefix = w->shape[i] == values.d[i];
  FF_CHECK(prefix, std::string(what) + ": sample weights of shape " + w->shape.str() +
                       " do not fit values of shape " + values.str() +
                       " (expected a scalar, one weight per sample, or one per element)");
  block = std::max<int64_t>(values.numel() / std::max<int64_t>(w->size(), 1), 1);
}

void expect_same_elements(const char* what, const Tensor& y, const Tensor& p) {
  // Keras squeezes or expands a trailing axis of 1 before comparing: (n,) and (n, 1) match.
  Shape a = y.shape, b = p.shape;
  while (a.rank && a[-1] == 1 && a.rank > b.rank) --a.rank;
  while (b.rank && b[-1] == 1 && b.rank > a.rank) --b.rank;
  FF_CHECK(a == b, std::string(what) + ": `y_true` and `y_pred` must have the same shape, got " + y.shape.str() +
                       " and " + p.shape.str());
}

}  // namespace fastfit
