// Metric accumulators on the device (cpu/metrics.cpp gives the fold): float64 totals, one thread per
// sample, added with atomics (samples add up in no fixed order).
#include "kernels/cuda/launch.cuh"

namespace fastfit::cuda {
namespace {

__device__ double value_of(const MetricFold& f, const void* y, bool y_int, const float* p, int64_t e) {
  auto label = [&](int64_t i) {
    return y_int ? float(static_cast<const int32_t*>(y)[i]) : static_cast<const float*>(y)[i];
  };
  auto pred = [&](int64_t j) { return p[e * f.C + j]; };
  auto row_label = [&](int64_t j) { return label(e * f.C + j); };
  auto first_max = [&](auto at) {
    int64_t best = 0;
    for (int64_t j = 1; j < f.C; ++j)
      if (at(j) > at(best)) best = j;
    return best;
  };
  switch (f.kind) {
    case MetricFold::mean:
    case MetricFold::sum: return p[e];
    case MetricFold::exact: return p[e] == label(e) ? 1.0 : 0.0;
    case MetricFold::binary: return float(p[e] > f.threshold) == label(e) ? 1.0 : 0.0;
    case MetricFold::categorical:
      return first_max(pred) == first_max(row_label) ? 1.0 : 0.0;
    case MetricFold::sparse: return double(first_max(pred)) == double(label(e)) ? 1.0 : 0.0;
  }
  return 0.0;
}

}  // namespace

void accumulate_scalar(const float* x, double scale, double* acc) {
  each("accumulate_scalar", 1, [=] __device__(int64_t) { acc[0] += double(x[0]) * scale; });
}

void metric_fold(const MetricFold& f, Labels y, const float* p, const float* w, double* acc) {
  if (f.per == 0) return;  // no values: nothing folds in (fold_mean's rule)
  const MetricFold fold = f;
  const void* data = y.data;
  const bool is_int = y.is_int;
  each("metric_fold", f.samples, [=] __device__(int64_t i) {
    double tv = 0, tw = 0;
    for (int64_t e = i * fold.per; e < (i + 1) * fold.per; ++e) {
      const double we = w ? double(w[e / fold.block]) : 1.0;
      tv += we * value_of(fold, data, is_int, p, e);
      tw += we;
    }
    atomicAdd(acc, fold.kind == MetricFold::sum ? tv : tv / double(fold.per));
    atomicAdd(acc + 1, tw / double(fold.per));
  });
}

}  // namespace fastfit::cuda
