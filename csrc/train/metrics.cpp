// The built-in metrics by name: per-sample values folded straight into (total, count), each sample
// counted with its weight when the metric is weighted (Keras' MeanMetricWrapper with sample_weight).
#include "train/metrics.h"

#include <algorithm>

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

// Folds `rows` samples, each with `per_row` values: value(i, j) for element j of sample i. A sample's
// values count with its weight (1 unweighted).
template <class F>
void fold(const char* name, int64_t rows, int64_t per_row, const Tensor* w, MetricState& s, F value) {
  if (w)
    FF_CHECK(w->size() == rows, std::string(name) + ": expected " + std::to_string(rows) + " sample weights, got " +
                                    w->shape.str());
  for (int64_t i = 0; i < rows; ++i) {
    double sum = 0;
    for (int64_t j = 0; j < per_row; ++j) sum += value(i, j);
    const double weight = w ? double(w->f()[i]) : 1.0;
    s.total += weight * sum;
    s.count += weight * double(per_row);
  }
}

void mean(float, const Tensor&, const Tensor& p, const Tensor* w, MetricState& s) {
  const int64_t rows = p.rank() ? p.shape[0] : 1;
  const int64_t per_row = p.size() / std::max<int64_t>(rows, 1);
  fold("mean", rows, per_row, w, s, [&](int64_t i, int64_t j) { return double(value_at(p, i * per_row + j)); });
}

void sparse_categorical_accuracy(float, const Tensor& y, const Tensor& p, const Tensor* w, MetricState& s) {
  const int64_t B = p.rows();
  FF_CHECK(p.rank() >= 1 && y.size() == B, "sparse_categorical_accuracy: expected " + std::to_string(B) +
                                               " labels for y_pred " + p.shape.str() + ", got y_true " + y.shape.str());
  fold("sparse_categorical_accuracy", B, 1, w, s, [&](int64_t i, int64_t) {
    return double(argmax_row(p, i)) == double(value_at(y, i)) ? 1.0 : 0.0;
  });
}

void categorical_accuracy(float, const Tensor& y, const Tensor& p, const Tensor* w, MetricState& s) {
  same_shape("categorical_accuracy", y, p);
  fold("categorical_accuracy", p.rows(), 1, w, s,
       [&](int64_t i, int64_t) { return argmax_row(p, i) == argmax_row(y, i) ? 1.0 : 0.0; });
}

void accuracy(float, const Tensor& y, const Tensor& p, const Tensor* w, MetricState& s) {
  same_shape("accuracy", y, p);
  const int64_t rows = p.rank() ? p.shape[0] : 1, per_row = p.size() / std::max<int64_t>(rows, 1);
  fold("accuracy", rows, per_row, w, s, [&](int64_t i, int64_t j) {
    return value_at(y, i * per_row + j) == value_at(p, i * per_row + j) ? 1.0 : 0.0;
  });
}

// Per sample: the mean over the last axis of f(y, p).
template <class F>
void row_mean(const char* name, const Tensor& y, const Tensor& p, const Tensor* w, MetricState& s, F f) {
  same_shape(name, y, p);
  const int64_t C = p.cols();
  fold(name, p.rows(), 1, w, s, [&](int64_t i, int64_t) {
    double row = 0;
    for (int64_t j = 0; j < C; ++j) row += f(value_at(y, i * C + j), value_at(p, i * C + j));
    return row / double(C);
  });
}

void binary_accuracy(float threshold, const Tensor& y, const Tensor& p, const Tensor* w, MetricState& s) {
  row_mean("binary_accuracy", y, p, w, s,
           [&](float yt, float yp) { return (yp > threshold ? 1.f : 0.f) == yt ? 1.0 : 0.0; });
}

void mean_squared_error(float, const Tensor& y, const Tensor& p, const Tensor* w, MetricState& s) {
  row_mean("mean_squared_error", y, p, w, s, [](float yt, float yp) { return double(yp - yt) * double(yp - yt); });
}

const struct {
  const char* name;
  MetricUpdate update;
} kMetrics[] = {{"accuracy", accuracy},
                {"binary_accuracy", binary_accuracy},
                {"categorical_accuracy", categorical_accuracy},
                {"mean", mean},
                {"mean_squared_error", mean_squared_error},
                {"sparse_categorical_accuracy", sparse_categorical_accuracy}};

}  // namespace

MetricUpdate metric_named(const std::string& name) {
  std::string known;
  for (auto& m : kMetrics) {
    if (name == m.name) return m.update;
    known += (known.empty() ? "" : ", ") + std::string(m.name);
  }
  fail("unknown metric '" + name + "'; known metrics: " + known);
}

}  // namespace fastfit
