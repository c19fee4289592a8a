// What the metric files share: reading values, weights that fit a batch, the running-mean fold.
#pragma once
#include <string>

#include "train/metrics.h"

namespace fastfit {

float value_at(const Tensor& t, int64_t i);  // float32 or int32, as a float

// `y_true` and `y_pred` of one shape, up to a trailing axis of 1 (Keras' squeeze_or_expand_to_same_rank).
void expect_same_elements(const char* what, const Tensor& y, const Tensor& p);

// The weight of flat element e of values of shape `values`: weights of shape values[:k] apply to
// every element of their block (one per sample, one per element), a scalar to all. Null: 1.
struct WeightMap {
  const Tensor* w;
  int64_t block = 1;
  WeightMap(const char* what, const Tensor* weights, const Shape& values);  // ValueError when they do not fit
  double operator()(int64_t e) const { return w ? double(value_at(*w, e / block)) : 1.0; }
};

// The layout fold_mean folds values of shape `shape` in (samples, values per sample, values per
// weight), as the metric_fold kernel takes it; raises as WeightMap when the weights do not fit.
void fold_layout(const char* what, const Shape& shape, const Tensor* weights, MetricFold& f);

// Keras' Mean (Sum with `sum`) over values of shape `shape`, value(e) for flat element e: each sample
// (the first axis; everything, under a scalar weight) adds the mean of w * value to total and the
// mean of its weights to count (Sum: the sum of w * value to total).
template <class F>
void fold_mean(const char* what, const Shape& shape, const Tensor* weights, bool sum, MetricState& s, F value) {
  const WeightMap w(what, weights, shape);
  const int64_t n = shape.numel();
  const int64_t samples = (weights && weights->rank() == 0) || !shape.rank ? 1 : shape.d[0];
  const int64_t per = samples ? n / samples : 0;
  if (per == 0) return;
  for (int64_t i = 0; i < samples; ++i) {
    double tv = 0, tw = 0;
    for (int64_t e = i * per; e < (i + 1) * per; ++e) {
      const double we = w(e);
      tv += we * value(e);
      tw += we;
    }
    s.total += sum ? tv : tv / double(per);
    s.count += tw / double(per);
  }
}

}  // namespace fastfit
