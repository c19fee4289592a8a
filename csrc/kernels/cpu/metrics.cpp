// Metric accumulators as kernels (kernels.def): a loss tracker's sum, and Keras' running mean of
// per-sample values, folded in the order train/metric_helpers.h fold_mean folds them.
#include "kernels/cpu/kernels.h"

namespace fastfit::cpu {
namespace {

int64_t first_max(const float* row, int64_t C) {
  int64_t best = 0;
  for (int64_t j = 1; j < C; ++j)
    if (row[j] > row[best]) best = j;
  return best;
}

int64_t first_max(Labels y, int64_t r, int64_t C) {
  int64_t best = 0;
  for (int64_t j = 1; j < C; ++j)
    if (y.value(r * C + j) > y.value(r * C + best)) best = j;
  return best;
}

}  // namespace

void accumulate_scalar(const float* x, double scale, double* acc) { acc[0] += double(x[0]) * scale; }

void metric_fold(const MetricFold& f, Labels y, const float* p, const float* w, double* acc) {
  auto value = [&](int64_t e) -> double {
    switch (f.kind) {
      case MetricFold::mean:
      case MetricFold::sum: return p[e];
      case MetricFold::exact: return p[e] == y.value(e) ? 1.0 : 0.0;
      case MetricFold::binary: return float(p[e] > f.threshold) == y.value(e) ? 1.0 : 0.0;
      case MetricFold::categorical: return first_max(p + e * f.C, f.C) == first_max(y, e, f.C) ? 1.0 : 0.0;
      case MetricFold::sparse: return double(first_max(p + e * f.C, f.C)) == double(y.value(e)) ? 1.0 : 0.0;
    }
    return 0.0;
  };
  if (f.per == 0) return;  // no values: nothing folds in (fold_mean's rule)
  for (int64_t i = 0; i < f.samples; ++i) {
    double tv = 0, tw = 0;
    for (int64_t e = i * f.per; e < (i + 1) * f.per; ++e) {
      const double we = w ? double(w[e / f.block]) : 1.0;
      tv += we * value(e);
      tw += we;
    }
    acc[0] += f.kind == MetricFold::sum ? tv : tv / double(f.per);
    acc[1] += tw / double(f.per);
  }
}

}  // namespace fastfit::cpu
