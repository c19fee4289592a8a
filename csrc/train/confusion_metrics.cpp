// Thresholded confusion counts and what Keras computes from them: TruePositives, FalsePositives,
// TrueNegatives, FalseNegatives, Precision, Recall, SensitivityAtSpecificity, SpecificityAtSensitivity,
// PrecisionAtRecall, RecallAtPrecision and AUC, folded as Keras' update_confusion_matrix_variables
// (top_k, class_id, label weights, multi_label; the bucketing shortcut for evenly spaced thresholds).
// State: acc = [tp | fp | tn | fn], each (thresholds, labels) with the label fastest; labels is 1
// unless multi_label. Results are computed in float32, as Keras' variables are.
#include <algorithm>
#include <cmath>

#include "train/metric_helpers.h"

namespace fastfit {
namespace {

constexpr float kNegInf = -1e10f;  // Keras' NEG_INF: what top_k filtering leaves outside the top k

enum class Result { tp, fp, tn, fn, precision, recall, sensitivity_at_specificity, specificity_at_sensitivity,
                    precision_at_recall, recall_at_precision, auc };

float ratio(float a, float b) { return b != 0.f ? a / b : 0.f; }  // divide_no_nan

struct Confusion final : Metric {
  Result result_;
  std::vector<float> thresholds_;
  bool evenly_;  // Keras buckets the predictions instead of comparing them with each threshold
  int64_t top_k_, class_id_, num_labels_;  // 0, -1, 0: not set
  bool multi_label_, from_logits_;
  std::vector<double> label_weights_;  // empty: none
  double value_;                       // the constraint of the *At* metrics
  std::string curve_, summation_;      // AUC

  Confusion(Result r, const Attrs& a)
      : result_(r),
        evenly_(a.get<bool>("evenly")),
        top_k_(a.get<int64_t>("top_k")),
        class_id_(a.get<int64_t>("class_id")),
        num_labels_(a.get<int64_t>("num_labels")),
        multi_label_(a.get<bool>("multi_label")),
        from_logits_(a.get<bool>("from_logits")),
        label_weights_(a.get<std::vector<double>>("label_weights")),
        value_(a.get<double>("value")),
        curve_(a.get<std::string>("curve")),
        summation_(a.get<std::string>("summation_method")) {
    for (double t : a.get<std::vector<double>>("thresholds")) thresholds_.push_back(float(t));
    FF_CHECK(!thresholds_.empty(), "confusion metric: `thresholds` must not be empty");
  }
  bool scalar() const override { return result_ > Result::recall || thresholds_.size() == 1; }  // else per threshold

  void fold(const Tensor& y, const Tensor& p, const Tensor* weights, MetricState& s) const override;
  std::vector<double> result(const MetricState& s) const override;

  // y_pred after from_logits and top_k filtering: element j of a row of C.
  float pred(const Tensor& p, int64_t row, int64_t j, int64_t C) const {
    float v = value_at(p, row * C + j);
    if (from_logits_) v = 1.f / (1.f + std::exp(-v));
    if (top_k_ <= 0) return v;
    int64_t better = 0;  // top_k's order: larger first, the lower index first among equals
    for (int64_t i = 0; i < C && better < top_k_; ++i) {
      const float u = value_at(p, row * C + i);
      better += u > value_at(p, row * C + j) || (u == value_at(p, row * C + j) && i < j);
    }
    return better < top_k_ ? v : kNegInf;
  }
};

void Confusion::fold(const Tensor& y, const Tensor& p, const Tensor* weights, MetricState& s) const {
  const char* what = "confusion metric";
  expect_same_elements(what, y, p);
  const int64_t C = p.cols(), rows = p.size() / std::max<int64_t>(C, 1);
  FF_CHECK(class_id_ < 0 || (p.rank() >= 2 && class_id_ < C),
           "class_id " + std::to_string(class_id_) + " needs y_pred of shape (samples, classes > class_id), got " +
               p.shape.str());
  FF_CHECK(!multi_label_ || p.rank() == 2, "AUC: `y_pred` must have rank 2 when multi_label=True, got " + p.desc());
  FF_CHECK(!multi_label_ || num_labels_ <= 0 || C == num_labels_,
           "AUC: num_labels=" + std::to_string(num_labels_) + " but y_pred has " + std::to_string(C) + " labels");
  const int64_t L = multi_label_ ? C : 1, T = int64_t(thresholds_.size());
  if (s.acc.empty()) s.acc.assign(size_t(4 * T * L), 0.0);
  FF_CHECK(int64_t(s.acc.size()) == 4 * T * L, std::string(what) + ": y_pred " + p.shape.str() +
                                                   " has another number of labels than the batches before it");
  FF_CHECK(label_weights_.empty() || int64_t(label_weights_.size()) == C,
           "AUC: " + std::to_string(label_weights_.size()) + " label_weights for " + std::to_string(C) + " labels");
  double *tp = s.acc.data(), *fp = tp + T * L, *tn = fp + T * L, *fn = tn + T * L;
  const WeightMap w(what, weights, p.shape);
  const bool with_epsilon = thresholds_.front() < 0.f || thresholds_.back() > 1.f;
  const int64_t first = class_id_ < 0 ? 0 : class_id_, last = class_id_ < 0 ? C : class_id_ + 1;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = first; j < last; ++j) {
      const int64_t e = r * C + j, l = multi_label_ ? j : 0;
      double we = w(e);
      if (!label_weights_.empty() && !multi_label_) we *= label_weights_[j];
      const bool positive = value_at(y, e) != 0.f;
      const float v = pred(p, r, j, C);
      // Thresholds at which the prediction is positive: a prefix [0, up) when bucketing.
      int64_t up = T;
      if (evenly_) {
        const float b = std::ceil(std::min(std::max(v, 0.f), 1.f) * float(T - 1)) - 1.f;
        up = int64_t(with_epsilon ? std::max(b, 0.f) : b) + 1;
      }
      for (int64_t t = 0; t < T; ++t) {
        const bool above = evenly_ ? t < up : v > thresholds_[t];
        double* cell = positive ? (above ? tp : fn) : (above ? fp : tn);
        cell[t * L + l] += we;
      }
    }
  }
}

std::vector<double> Confusion::result(const MetricState& s) const {
  const int64_t T = int64_t(thresholds_.size());
  const int64_t L = s.acc.empty() ? 1 : int64_t(s.acc.size()) / (4 * T);
  std::vector<float> c(size_t(4 * T * L), 0.f);
  std::copy(s.acc.begin(), s.acc.end(), c.begin());
  const float *tp = c.data(), *fp = tp + T * L, *tn = fp + T * L, *fn = tn + T * L;
  std::vector<double> out;
  auto per_threshold = [&](auto f) {
    for (int64_t t = 0; t < T; ++t) out.push_back(f(t));
    return out;
  };
  switch (result_) {
    case Result::tp: return per_threshold([&](int64_t t) { return tp[t]; });
    case Result::fp: return per_threshold([&](int64_t t) { return fp[t]; });
    case Result::tn: return per_threshold([&](int64_t t) { return tn[t]; });
    case Result::fn: return per_threshold([&](int64_t t) { return fn[t]; });
    case Result::precision: return per_threshold([&](int64_t t) { return ratio(tp[t], tp[t] + fp[t]); });
    case Result::recall: return per_threshold([&](int64_t t) { return ratio(tp[t], tp[t] + fn[t]); });
    case Result::auc: break;
    default: {  // the best `dependent` over the thresholds where `constrained` >= value, or 0
      float best = 0.f;
      for (int64_t t = 0; t < T; ++t) {
        const float sens = ratio(tp[t], tp[t] + fn[t]), spec = ratio(tn[t], tn[t] + fp[t]);
        const float prec = ratio(tp[t], tp[t] + fp[t]);
        float constrained = spec, dependent = sens;  // sensitivity at specificity
        if (result_ == Result::specificity_at_sensitivity) constrained = sens, dependent = spec;
        if (result_ == Result::precision_at_recall) constrained = sens, dependent = prec;
        if (result_ == Result::recall_at_precision) constrained = prec, dependent = sens;
        if (constrained >= float(value_)) best = std::max(best, dependent);
      }
      return {best};
    }
  }
  // AUC: a Riemann sum over the thresholds per label (Keras' AUC.result), then the labels' (weighted) mean.
  std::vector<float> by_label(size_t(L), 0.f);
  auto at = [&](const float* a, int64_t t, int64_t l) { return a[t * L + l]; };
  for (int64_t l = 0; l < L; ++l) {
    float sum = 0.f;
    for (int64_t t = 0; t + 1 < T; ++t) {
      const float tp0 = at(tp, t, l), tp1 = at(tp, t + 1, l);
      if (curve_ == "PR" && summation_ == "interpolation") {  // Davis & Goadrich interpolation
        const float p0 = tp0 + at(fp, t, l), p1 = tp1 + at(fp, t + 1, l);
        const float dtp = tp0 - tp1, dp = p0 - p1;
        const float slope = ratio(dtp, std::max(dp, 0.f));
        const float intercept = tp1 - slope * p1;
        const float safe = p0 > 0.f && p1 > 0.f ? ratio(p0, std::max(p1, 0.f)) : 1.f;
        sum += ratio(slope * (dtp + intercept * std::log(safe)), std::max(tp1 + at(fn, t + 1, l), 0.f));
        continue;
      }
      float x[2], h[2];
      for (int k = 0; k < 2; ++k) {
        const float tpk = at(tp, t + k, l), fpk = at(fp, t + k, l), tnk = at(tn, t + k, l), fnk = at(fn, t + k, l);
        const float recall = ratio(tpk, tpk + fnk);
        if (curve_ == "ROC") {
          x[k] = ratio(fpk, fpk + tnk), h[k] = recall;
        } else if (curve_ == "PR") {
          x[k] = recall, h[k] = ratio(tpk, tpk + fpk);
        } else {  // PRGAIN
          const float scale = ratio(tpk + fnk, tnk + fpk);
          x[k] = tpk == 0.f ? 0.f : std::max(1.f - scale * ratio(fnk, tpk), 0.f);
          h[k] = tpk == 0.f ? 1.f : 1.f - scale * ratio(fpk, tpk);
        }
      }
      const float height = summation_ == "interpolation" ? (h[0] + h[1]) / 2.f
                           : summation_ == "minoring"    ? std::min(h[0], h[1])
                                                         : std::max(h[0], h[1]);
      sum += (x[0] - x[1]) * height;
    }
    by_label[size_t(l)] = sum;
  }
  if (!multi_label_) return {by_label[0]};
  float num = 0.f, den = 0.f;
  for (int64_t l = 0; l < L; ++l) {
    const float lw = label_weights_.empty() ? 1.f : float(label_weights_[size_t(l)]);
    num += by_label[size_t(l)] * lw;
    den += lw;
  }
  return {label_weights_.empty() ? num / float(L) : ratio(num, den)};
}

template <Result R>
MetricPtr make_confusion(const Attrs& a) {
  return std::make_shared<Confusion>(R, a);
}

const Attrs kAttrs{{"thresholds", std::vector<double>{0.5}},
                   {"evenly", false},
                   {"top_k", int64_t(0)},
                   {"class_id", int64_t(-1)},
                   {"num_labels", int64_t(0)},
                   {"multi_label", false},
                   {"from_logits", false},
                   {"label_weights", std::vector<double>{}},
                   {"value", 0.0},
                   {"curve", std::string("ROC")},
                   {"summation_method", std::string("interpolation")}};
const MetricRegistrar kTP({"true_positives", kAttrs, make_confusion<Result::tp>});
const MetricRegistrar kFP({"false_positives", kAttrs, make_confusion<Result::fp>});
const MetricRegistrar kTN({"true_negatives", kAttrs, make_confusion<Result::tn>});
const MetricRegistrar kFN({"false_negatives", kAttrs, make_confusion<Result::fn>});
const MetricRegistrar kPrecision({"precision", kAttrs, make_confusion<Result::precision>});
const MetricRegistrar kRecall({"recall", kAttrs, make_confusion<Result::recall>});
const MetricRegistrar kSensAtSpec({"sensitivity_at_specificity", kAttrs,
                                   make_confusion<Result::sensitivity_at_specificity>});
const MetricRegistrar kSpecAtSens({"specificity_at_sensitivity", kAttrs,
                                   make_confusion<Result::specificity_at_sensitivity>});
const MetricRegistrar kPrecAtRecall({"precision_at_recall", kAttrs, make_confusion<Result::precision_at_recall>});
const MetricRegistrar kRecallAtPrec({"recall_at_precision", kAttrs, make_confusion<Result::recall_at_precision>});
const MetricRegistrar kAUC({"auc", kAttrs, make_confusion<Result::auc>});

}  // namespace
}  // namespace fastfit
