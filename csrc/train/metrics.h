// Metric accumulators: the state behind every keras.metrics object, updated in C++ on the hot path.
#pragma once
#include "core/tensor.h"

namespace fastfit {

enum class MetricKind { mean, sparse_categorical_accuracy, categorical_accuracy, accuracy, binary_accuracy,
                        mean_squared_error };

struct MetricState {
  double total = 0, count = 0;
  void reset() { total = count = 0; }
  double result() const { return count > 0 ? total / count : 0.0; }
};

// Accumulate one batch: per-sample values, then a running mean (Keras' MeanMetricWrapper).
void metric_update(MetricKind kind, float threshold, const Tensor& y_true, const Tensor& y_pred, MetricState& s);

}  // namespace fastfit
