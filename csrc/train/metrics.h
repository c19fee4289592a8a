// Metric accumulators: the state behind every built-in keras.metrics object, folded in C++ on the hot
// path (a Program's batches, or one update_state call). Each metric is created by name with typed
// attributes (as ops are) and is immutable: its running state lives in a MetricState of its caller.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/attrs.h"
#include "core/tensor.h"
#include "kernels/kernels.h"

namespace fastfit {

struct Metric;
using MetricPtr = std::shared_ptr<const Metric>;

// One metric's running state. Running means (Mean, the accuracies, MeanMetricWrapper) keep (total,
// count); the others keep `acc`, laid out as their file documents (confusion counts per threshold, a
// confusion matrix, per-class sums), sized by their first batch.
struct MetricState {
  double total = 0, count = 0;
  std::vector<double> acc;
  MetricPtr metric;  // the metric that folded a batch in last: result() asks it (none yet: total / count)
  void reset();      // zeros, keeping the layout
  std::vector<double> result() const;
};

struct Metric : std::enable_shared_from_this<Metric> {
  virtual ~Metric() = default;
  // Folds one batch into `s`: targets, predictions (or per-sample values, for the means) and sample
  // weights (null: unweighted; else one per sample, one per element, or a scalar).
  void update(const Tensor& y_true, const Tensor& y_pred, const Tensor* weights, MetricState& s) const;
  virtual std::vector<double> result(const MetricState& s) const;  // default: total / count
  virtual bool scalar() const { return true; }  // false: result() is a vector (per threshold, class, ...)
  // The same fold as the metric_fold kernel computes it (to fold on a GPU): checks the shapes as fold
  // does, sets `f` and says true; false when this metric folds on the host only.
  virtual bool device_fold(const Tensor& /*y_true*/, const Tensor& /*y_pred*/, const Tensor* /*weights*/,
                           MetricFold& /*f*/) const {
    return false;
  }

 protected:
  virtual void fold(const Tensor& y_true, const Tensor& y_pred, const Tensor* weights, MetricState& s) const = 0;
};

// The registry, as ops have it: each metric family registers its names in its own .cpp file.
struct MetricDef {
  const char* name;  // "auc"
  Attrs defaults;    // every attribute it takes, with its default
  MetricPtr (*create)(const Attrs& attrs);
};
struct MetricRegistrar {
  explicit MetricRegistrar(MetricDef def);
};
// The metric registered as `name`; unknown names and attributes raise ValueError listing the known ones.
MetricPtr make_metric(const std::string& name, const Attrs& attrs = {});

}  // namespace fastfit
