// Per-sample metric values folded straight into (total, count).
#include "train/metrics.h"

#include <string>

namespace fastfit {
namespace {

float value_at(const Tensor& t, int64_t i) { return t.dtype == DType::i32 ? float(t.i32()[i]) : t.f()[i]; }

int64_t argmax_row(const Tensor& t, int64_t r) {
  const int64_t C = t.cols();
  int64_t best = 0;
  for (int64_t j = 1; j < C; ++j)
    if (value_at(t, r * C + j) > value_at(t, r * C + best)) best = j;
  return best;
}

void same_shape(const char* name, const Tensor& a, const Tensor& b) {
  FF_CHECK(a.shape == b.shape, std::string(name) + ": `y_true` and `y_pred` must have the same shape, got " +
                                   a.shape.str() + " and " + b.shape.str());
}

}  // namespace

void metric_update(MetricKind kind, float threshold, const Tensor& y, const Tensor& p, MetricState& s) {
  switch (kind) {
    case MetricKind::mean:
      for (int64_t i = 0, n = p.size(); i < n; ++i) s.total += value_at(p, i);
      s.count += double(p.size());
      break;
    case MetricKind::sparse_categorical_accuracy: {
      const int64_t B = p.rows();
      FF_CHECK(p.rank() >= 1 && y.size() == B, "sparse_categorical_accuracy: expected " + std::to_string(B) +
                                                   " labels for y_pred " + p.shape.str() + ", got y_true " + y.shape.str());
      for (int64_t i = 0; i < B; ++i) s.total += double(argmax_row(p, i)) == double(value_at(y, i)) ? 1.0 : 0.0;
      s.count += double(B);
      break;
    }
    case MetricKind::categorical_accuracy: {
      same_shape("categorical_accuracy", y, p);
      const int64_t B = p.rows();
      for (int64_t i = 0; i < B; ++i) s.total += argmax_row(p, i) == argmax_row(y, i) ? 1.0 : 0.0;
      s.count += double(B);
      break;
    }
    case MetricKind::accuracy:
      same_shape("accuracy", y, p);
      for (int64_t i = 0, n = p.size(); i < n; ++i) s.total += value_at(y, i) == value_at(p, i) ? 1.0 : 0.0;
      s.count += double(p.size());
      break;
    case MetricKind::binary_accuracy:
    case MetricKind::mean_squared_error: {  // both: mean over the last axis per sample
      same_shape(kind == MetricKind::binary_accuracy ? "binary_accuracy" : "mean_squared_error", y, p);
      const int64_t B = p.rows(), C = p.cols();
      for (int64_t i = 0; i < B; ++i) {
        double row = 0;
        for (int64_t j = 0; j < C; ++j) {
          const float yt = value_at(y, i * C + j), yp = value_at(p, i * C + j);
          if (kind == MetricKind::binary_accuracy) row += (yp > threshold ? 1.f : 0.f) == yt ? 1.0 : 0.0;
          else row += double(yp - yt) * double(yp - yt);
        }
        s.total += row / double(C);
      }
      s.count += double(B);
      break;
    }
  }
}

}  // namespace fastfit
