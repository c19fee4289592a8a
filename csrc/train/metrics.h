// Metric accumulators: the state behind every keras.metrics object, updated in C++ on the hot path.
#pragma once
#include <string>

#include "core/tensor.h"

namespace fastfit {

struct MetricState {
  double total = 0, count = 0;
  void reset() { total = count = 0; }
  double result() const { return count > 0 ? total / count : 0.0; }
};

// Accumulates one batch: per-sample values, then a running mean (Keras' MeanMetricWrapper). With
// `sample_weight` (one float per sample), each sample's values count with its weight.
using MetricUpdate = void (*)(float threshold, const Tensor& y_true, const Tensor& y_pred, const Tensor* sample_weight,
                              MetricState& s);

// The update registered as `name` ("mean", "sparse_categorical_accuracy", ...); unknown names raise
// ValueError listing the known ones.
MetricUpdate metric_named(const std::string& name);

}  // namespace fastfit
