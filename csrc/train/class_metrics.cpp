// Metrics over per-class (or per-output) sums, as Keras folds them:
//   iou          IoU, MeanIoU, BinaryIoU, OneHot(Mean)IoU. acc = the confusion matrix (C, C), true class by
//                predicted class; Keras keeps it in integers, so weights are truncated unless `int_weights`
//                is off (a float dtype).
//   fbeta_score  F1Score, FBetaScore. acc = [tp | fp | fn | weights of y_true], each (C,).
//   r2_score     R2Score. acc = [sum y | sum y^2 | sum (y - p)^2 | sum w], each (D,), then the sample count.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "train/metric_helpers.h"

namespace fastfit {
namespace {

constexpr double kEpsilon = 1e-7;

void expect_layout(const char* what, MetricState& s, size_t size) {
  if (s.acc.empty()) s.acc.assign(size, 0.0);
  FF_CHECK(s.acc.size() == size, std::string(what) + ": this batch has another number of classes (or outputs) "
                                                     "than the batches before it");
}

struct IoU final : Metric {
  int64_t classes_;
  std::vector<int64_t> targets_;  // the classes averaged over
  int64_t ignore_;                // a true class left out (outside [0, classes): none)
  bool sparse_true_, sparse_pred_, int_weights_;
  double threshold_;  // >= 0: BinaryIoU's predictions are y_pred >= threshold
  IoU(const Attrs& a)
      : classes_(a.get<int64_t>("num_classes")),
        targets_(a.get<std::vector<int64_t>>("target_class_ids")),
        ignore_(a.get<int64_t>("ignore_class")),
        sparse_true_(a.get<bool>("sparse_y_true")),
        sparse_pred_(a.get<bool>("sparse_y_pred")),
        int_weights_(a.get<bool>("int_weights")),
        threshold_(a.get<double>("threshold")) {
    FF_CHECK(classes_ > 0, "IoU: `num_classes` must be positive, got " + std::to_string(classes_));
    for (int64_t t : targets_)
      FF_CHECK(t >= 0 && t < classes_, "IoU: target class id " + std::to_string(t) + " is out of range [0, " +
                                           std::to_string(classes_) + ")");
  }

  // Class ids of one input: sparse values truncated to integers (Keras casts to int), or the argmax
  // of each row of one-hot scores.
  static int64_t id(const Tensor& t, bool sparse, int64_t i) {
    if (sparse) return int64_t(value_at(t, i));
    const int64_t C = t.cols();
    int64_t best = 0;
    for (int64_t j = 1; j < C; ++j)
      if (value_at(t, i * C + j) > value_at(t, i * C + best)) best = j;
    return best;
  }

  void fold(const Tensor& y, const Tensor& p, const Tensor* weights, MetricState& s) const override {
    const int64_t n = sparse_true_ ? y.size() : y.rows(), np = sparse_pred_ ? p.size() : p.rows();
    FF_CHECK(n == np, "IoU: " + std::to_string(n) + " labels in y_true " + y.shape.str() + " but " +
                          std::to_string(np) + " predictions in y_pred " + p.shape.str());
    FF_CHECK(!weights || weights->size() == n || weights->size() == 1,
             "IoU: expected one sample weight per label (" + std::to_string(n) + "), got " + weights->shape.str());
    expect_layout("IoU", s, size_t(classes_ * classes_));
    for (int64_t i = 0; i < n; ++i) {
      const int64_t t = id(y, sparse_true_, i);
      const int64_t q = threshold_ >= 0 ? int64_t(value_at(p, i) >= threshold_) : id(p, sparse_pred_, i);
      if (t < 0 || t >= classes_ || q < 0 || q >= classes_ || t == ignore_) continue;
      double w = weights ? value_at(*weights, weights->size() == 1 ? 0 : i) : 1.0;
      if (int_weights_) w = std::trunc(w);
      s.acc[size_t(t * classes_ + q)] += w;
    }
  }

  std::vector<double> result(const MetricState& s) const override {
    if (s.acc.empty()) return {0.0};
    double sum = 0, valid = 0;
    for (int64_t c : targets_) {
      double predicted = 0, actual = 0;
      for (int64_t k = 0; k < classes_; ++k) {
        predicted += s.acc[size_t(k * classes_ + c)];
        actual += s.acc[size_t(c * classes_ + k)];
      }
      const double tp = s.acc[size_t(c * classes_ + c)], denominator = predicted + actual - tp;
      if (denominator > 1e-9) sum += tp / (denominator + kEpsilon), valid += 1;
    }
    return {sum / (valid + kEpsilon)};
  }
};

struct FBeta final : Metric {
  std::string average_;  // "none", "micro", "macro", "weighted"
  double beta_, threshold_;  // threshold < 0: each row's maximum is its prediction
  FBeta(const Attrs& a)
      : average_(a.get<std::string>("average")), beta_(a.get<double>("beta")), threshold_(a.get<double>("threshold")) {}
  bool scalar() const override { return average_ != "none"; }

  void fold(const Tensor& y, const Tensor& p, const Tensor* w, MetricState& s) const override {
    FF_CHECK(p.rank() == 2 && y.shape == p.shape, "FBetaScore expects y_true and y_pred of one shape (batch_size, "
                                                  "output_dim), got " + y.shape.str() + " and " + p.shape.str());
    const int64_t B = p.shape[0], C = p.shape[1];
    FF_CHECK(!w || w->size() == B, "FBetaScore: expected one sample weight per row, got " + w->shape.str());
    expect_layout("FBetaScore", s, size_t(4 * C));
    double *tp = s.acc.data(), *fp = tp + C, *fn = fp + C, *support = fn + C;
    for (int64_t i = 0; i < B; ++i) {
      float top = value_at(p, i * C);
      for (int64_t j = 1; j < C; ++j) top = std::max(top, value_at(p, i * C + j));
      const double wi = w ? value_at(*w, i) : 1.0;
      for (int64_t j = 0; j < C; ++j) {
        const float v = value_at(p, i * C + j);
        const double yp = threshold_ < 0 ? (v >= top && std::fabs(v) > 1e-9f) : v > threshold_;
        const double yt = value_at(y, i * C + j);
        tp[j] += wi * yp * yt;
        fp[j] += wi * yp * (1 - yt);
        fn[j] += wi * (1 - yp) * yt;
        support[j] += wi * yt;
      }
    }
  }

  std::vector<double> result(const MetricState& s) const override {
    const size_t C = s.acc.size() / 4;
    const double *tp = s.acc.data(), *fp = tp + C, *fn = fp + C, *support = fn + C;
    const double b2 = beta_ * beta_;
    auto score = [&](double t, double f_pos, double f_neg) {
      const double precision = t / (t + f_pos + kEpsilon), recall = t / (t + f_neg + kEpsilon);
      return precision * recall / (b2 * precision + recall + kEpsilon) * (1 + b2);
    };
    if (average_ == "micro")  // one score from the totals over the classes
      return {score(std::accumulate(tp, tp + C, 0.0), std::accumulate(fp, fp + C, 0.0),
                    std::accumulate(fn, fn + C, 0.0))};
    std::vector<double> f(C);
    for (size_t j = 0; j < C; ++j) f[j] = score(tp[j], fp[j], fn[j]);
    if (average_ == "none") return f;
    const double total_support = std::accumulate(support, support + C, 0.0);
    double r = 0;
    for (size_t j = 0; j < C; ++j) r += average_ == "weighted" ? f[j] * support[j] / (total_support + kEpsilon) : f[j];
    return {average_ == "weighted" ? r : r / double(std::max<size_t>(C, 1))};
  }
};

struct R2 final : Metric {
  std::string aggregation_;  // "none", "uniform_average", "variance_weighted_average"
  int64_t regressors_;
  R2(const Attrs& a)
      : aggregation_(a.get<std::string>("class_aggregation")), regressors_(a.get<int64_t>("num_regressors")) {}
  bool scalar() const override { return aggregation_ != "none"; }

  void fold(const Tensor& y, const Tensor& p, const Tensor* w, MetricState& s) const override {
    expect_same_elements("R2Score", y, p);
    FF_CHECK(p.rank() == 2 || (p.rank() == 1 && y.rank() == 2),
             "R2Score expects 2D inputs with shape (batch_size, output_dim), got y_pred " + p.shape.str());
    const int64_t D = p.rank() == 2 ? p.shape[1] : 1, B = p.size() / std::max<int64_t>(D, 1);
    const Shape values{B, D};
    const WeightMap wm("R2Score", w, values);
    expect_layout("R2Score", s, size_t(4 * D + 1));
    double *sum = s.acc.data(), *squares = sum + D, *residual = squares + D, *count = residual + D;
    for (int64_t e = 0; e < B * D; ++e) {
      const double yt = value_at(y, e), yp = value_at(p, e), we = wm(e);
      sum[e % D] += yt * we;
      squares[e % D] += yt * yt * we;
      residual[e % D] += (yt - yp) * (yt - yp) * we;
      count[e % D] += we;
    }
    s.acc[size_t(4 * D)] += double(B * D);
  }

  std::vector<double> result(const MetricState& s) const override {
    if (s.acc.empty()) return {0.0};
    const size_t D = (s.acc.size() - 1) / 4;
    const double* a = s.acc.data();
    std::vector<double> raw(D), total(D);
    for (size_t j = 0; j < D; ++j) {
      const double mean = a[j] / a[3 * D + j];
      total[j] = a[D + j] - a[j] * mean;
      raw[j] = 1 - a[2 * D + j] / total[j];
      if (std::isinf(raw[j])) raw[j] = 0;  // 0/0 stays NaN, as in Keras
    }
    if (aggregation_ == "none") return raw;
    double r2 = 0, weights = 0;
    for (size_t j = 0; j < D; ++j) {
      const double weight = aggregation_ == "uniform_average" ? 1.0 : total[j];
      r2 += raw[j] * weight;
      weights += weight;
    }
    r2 /= weights;
    const double n = a[4 * D], k = double(regressors_);
    if (k != 0 && k < n - 1) r2 = 1 - (1 - r2) * (n - 1) / (n - k - 1);  // adjusted; else Keras warns, keeps r2
    return {r2};
  }
};

template <class M>
MetricPtr make(const Attrs& a) {
  return std::make_shared<M>(a);
}

const MetricRegistrar kIoU({"iou",
                            {{"num_classes", int64_t(2)},
                             {"target_class_ids", std::vector<int64_t>{0, 1}},
                             {"ignore_class", int64_t(-1)},
                             {"sparse_y_true", true},
                             {"sparse_y_pred", true},
                             {"int_weights", true},
                             {"threshold", -1.0}},
                            make<IoU>});
const MetricRegistrar kFBeta({"fbeta_score",
                              {{"average", std::string("none")}, {"beta", 1.0}, {"threshold", -1.0}},
                              make<FBeta>});
const MetricRegistrar kR2({"r2_score",
                           {{"class_aggregation", std::string("uniform_average")}, {"num_regressors", int64_t(0)}},
                           make<R2>});

}  // namespace
}  // namespace fastfit
