// The built-in metrics by name: per-sample values folded straight into (total, count).
#include "train/metrics.h"

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

void mean(float, const Tensor&, const Tensor& p, MetricState& s) {
  for (int64_t i = 0, n = p.size(); i < n; ++i) s.total += value_at(p, i);
  s.count += double(p.size());
}

void sparse_categorical_accuracy(float, const Tensor& y, const Tensor& p, MetricState& s) {
  const int64_t B = p.rows();
  FF_CHECK(p.rank() >= 1 && y.size() == B, "sparse_categorical_accuracy: expected " + std::to_string(B) +
                                               " labels for y_pred " + p.shape.str() + ", got y_true " + y.shape.str());
  for (int64_t i = 0; i < B; ++i) s.total += double(argmax_row(p, i)) == double(value_at(y, i)) ? 1.0 : 0.0;
  s.count += double(B);
}

void categorical_accuracy(float, const Tensor& y, const Tensor& p, MetricState& s) {
  same_shape("categorical_accuracy", y, p);
  const int64_t B = p.rows();
  for (int64_t i = 0; i < B; ++i) s.total += argmax_row(p, i) == argmax_row(y, i) ? 1.0 : 0.0;
  s.count += double(B);
}

void accuracy(float, const Tensor& y, const Tensor& p, MetricState& s) {
  same_shape("accuracy", y, p);
  for (int64_t i = 0, n = p.size(); i < n; ++i) s.total += value_at(y, i) == value_at(p, i) ? 1.0 : 0.0;
  s.count += double(p.size());
}

// Per sample: the mean over the last axis of f(y, p).
template <class F>
void row_mean(const char* name, const Tensor& y, const Tensor& p, MetricState& s, F f) {
  same_shape(name, y, p);
  const int64_t B = p.rows(), C = p.cols();
  for (int64_t i = 0; i < B; ++i) {
    double row = 0;
    for (int64_t j = 0; j < C; ++j) row += f(value_at(y, i * C + j), value_at(p, i * C + j));
    s.total += row / double(C);
  }
  s.count += double(B);
}

void binary_accuracy(float threshold, const Tensor& y, const Tensor& p, MetricState& s) {
  row_mean("binary_accuracy", y, p, s,
           [&](float yt, float yp) { return (yp > threshold ? 1.f : 0.f) == yt ? 1.0 : 0.0; });
}

void mean_squared_error(float, const Tensor& y, const Tensor& p, MetricState& s) {
  row_mean("mean_squared_error", y, p, s, [](float yt, float yp) { return double(yp - yt) * double(yp - yt); });
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
