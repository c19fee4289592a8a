// Program compilation (slots, step lists, gradient routing) and batch replay.
#include "train/program.h"

#include <algorithm>
#include <random>
#include <unordered_map>

namespace fastfit {

DataFeed::DataFeed(std::vector<TensorPtr> a, int64_t bs) : arrays(std::move(a)), batch_size(bs) {
  FF_CHECK(!arrays.empty(), "no arrays to feed");
  FF_CHECK(bs > 0, "batch_size must be a positive integer, got " + std::to_string(bs));
  n = arrays[0]->rank() ? arrays[0]->shape[0] : 1;
  for (auto& t : arrays)
    FF_CHECK(t->rank() >= 1 && t->shape[0] == n, "all arrays must have the same number of samples: got " +
                                                     std::to_string(n) + " and " + t->shape.str());
  order.resize(n);
  for (int64_t i = 0; i < n; ++i) order[i] = i;
}

void DataFeed::start_epoch(bool shuffle, uint64_t seed) {
  pos = 0;
  for (int64_t i = 0; i < n; ++i) order[i] = i;
  if (shuffle) {
    std::mt19937_64 rng(seed);
    for (int64_t i = n - 1; i > 0; --i) std::swap(order[i], order[std::uniform_int_distribution<int64_t>(0, i)(rng)]);
  }
}

Program::Program(const std::vector<Record>& records, const std::vector<TensorPtr>& inputs,
                 const std::vector<TensorPtr>& targets, const std::vector<TensorPtr>& outputs, const TensorPtr& loss,
                 const std::vector<TensorPtr>& params, std::shared_ptr<Optimizer> optimizer)
    : opt_(std::move(optimizer)) {
  std::unordered_map<const Tensor*, int> slot;
  auto fresh = [&](const TensorPtr& t) {  // a planned buffer of the traced shape
    slot[t.get()] = int(value_.size());
    value_.push_back(Tensor::make(t->shape, t->dtype));
    return int(value_.size()) - 1;
  };
  auto external = [&](const TensorPtr& t) {  // a variable or constant: the tensor itself
    auto it = slot.find(t.get());
    if (it != slot.end()) return it->second;
    slot[t.get()] = int(value_.size());
    value_.push_back(t);
    return int(value_.size()) - 1;
  };
  for (auto& t : inputs) inputs_.push_back(fresh(t));
  for (auto& t : targets) targets_.push_back(fresh(t));
  for (auto& r : records) {
    Step s;
    s.op = r.op;
    for (auto& t : r.in) s.in.push_back(external(t));
    s.out = fresh(r.out);
    steps_.push_back(std::move(s));
  }
  auto lookup = [&](const TensorPtr& t, const char* what) {
    auto it = slot.find(t.get());
    FF_CHECK(it != slot.end(), std::string("Program: the ") + what + " was not computed from the traced inputs");
    return it->second;
  };
  for (auto& t : outputs) outputs_.push_back(lookup(t, "model output"));
  if (loss) {
    loss_ = lookup(loss, "loss");
    FF_CHECK(loss->rank() == 0, "Program: the loss must be a scalar, got " + loss->desc());
  }
  const size_t S = value_.size();

  // Which steps each mode needs: ancestors of what it reads.
  auto ancestors = [&](std::vector<int> roots) {
    std::vector<char> need(S, 0);
    for (int r : roots) need[r] = 1;
    std::vector<int> list;
    for (int i = int(steps_.size()) - 1; i >= 0; --i) {
      if (!need[steps_[i].out]) continue;
      list.push_back(i);
      for (int j : steps_[i].in) need[j] = 1;
    }
    std::reverse(list.begin(), list.end());
    return list;
  };
  predict_steps_ = ancestors(outputs_);
  std::vector<int> test_roots = outputs_;
  if (loss_ >= 0) test_roots.push_back(loss_);
  test_steps_ = ancestors(test_roots);
  for (auto& s : steps_) {
    for (int j : s.in) s.in_ptrs.push_back(value_[j].get());
    s.din_ptrs.assign(s.in.size(), nullptr);
    s.acc.reset(new bool[s.in.size()]());
  }
  if (loss_ < 0 || !opt_) return;

  // Gradients flow where a slot both depends on a parameter and leads to the loss.
  std::vector<char> depends(S, 0), leads(S, 0);
  for (auto& p : params) {
    auto it = slot.find(p.get());
    if (it != slot.end()) depends[it->second] = 1;
  }
  for (auto& s : steps_)
    for (size_t i = 0; i < s.in.size(); ++i)
      if (s.op->differentiable(int(i)) && depends[s.in[i]]) depends[s.out] = 1;
  leads[loss_] = 1;
  for (int i = int(steps_.size()) - 1; i >= 0; --i)
    if (leads[steps_[i].out])
      for (size_t k = 0; k < steps_[i].in.size(); ++k)
        if (steps_[i].op->differentiable(int(k))) leads[steps_[i].in[k]] = 1;
  grad_.resize(S);
  for (size_t i = 0; i < S; ++i)
    if (depends[i] && leads[i]) grad_[i] = Tensor::zeros(value_[i]->shape);
  std::vector<char> written(S, 0);
  for (int i = int(steps_.size()) - 1; i >= 0; --i) {
    Step& s = steps_[i];
    if (!grad_[s.out]) continue;
    backward_steps_.push_back(i);
    for (size_t k = 0; k < s.in.size(); ++k) {
      if (!s.op->differentiable(int(k)) || !grad_[s.in[k]]) continue;
      s.din_ptrs[k] = grad_[s.in[k]].get();
      s.acc[k] = written[s.in[k]];
      written[s.in[k]] = 1;
    }
  }
  for (auto& p : params) {
    auto it = slot.find(p.get());
    if (it == slot.end() || !grad_[it->second]) continue;  // the loss does not depend on it
    params_.push_back(it->second);
    opt_slots_.push_back(&opt_->slots_for(*p));
  }
}

void Program::add_metric(MetricKind kind, float threshold, int output, int target, std::shared_ptr<MetricState> st) {
  FF_CHECK(output >= 0 && output < int(outputs_.size()), "metric: no model output " + std::to_string(output));
  FF_CHECK(target >= 0 && target < int(targets_.size()), "metric: no target " + std::to_string(target));
  metrics_.push_back({kind, threshold, outputs_[output], targets_[target], std::move(st)});
}

void Program::check_feed(const DataFeed& feed, size_t expected, const char* what) const {
  FF_CHECK(feed.arrays.size() == expected, std::string(what) + ": expected " + std::to_string(expected) +
                                               " arrays, got " + std::to_string(feed.arrays.size()));
  for (size_t j = 0; j < expected; ++j) {
    const Tensor &a = *feed.arrays[j], &v = *value_[j < inputs_.size() ? inputs_[j] : targets_[j - inputs_.size()]];
    Shape row_a = a.shape, row_v = v.shape;
    row_a.d[0] = row_v.d[0] = 0;
    FF_CHECK(a.dtype == v.dtype && row_a == row_v,
             std::string(what) + ": array " + std::to_string(j) + " has samples of " + a.desc() +
                 ", expected samples of " + v.desc() + " (first axis: batch)");
  }
}

void Program::gather(DataFeed& feed, int64_t count, bool with_targets) {
  const size_t n = inputs_.size() + (with_targets ? targets_.size() : 0);
  const int64_t* idx = feed.order.data() + feed.pos;
  const bool contiguous = idx[count - 1] - idx[0] == count - 1 && std::is_sorted(idx, idx + count);
  for (size_t j = 0; j < n; ++j) {
    const Tensor& src = *feed.arrays[j];
    Tensor& dst = *value_[j < inputs_.size() ? inputs_[j] : targets_[j - inputs_.size()]];
    Shape s = src.shape;
    s.d[0] = count;
    dst.resize(s, src.dtype);
    const size_t row = size_t(src.size() / std::max<int64_t>(src.shape[0], 1)) * 4;
    const char* base = static_cast<const char*>(src.data);
    char* out = static_cast<char*>(dst.data);
    if (contiguous) std::memcpy(out, base + idx[0] * row, row * count);
    else
      for (int64_t r = 0; r < count; ++r) std::memcpy(out + r * row, base + idx[r] * row, row);
  }
  feed.pos += count;
}

void Program::forward(const std::vector<int>& list) {
  for (int i : list) {
    Step& s = steps_[i];
    Shape shape;
    DType dtype;
    s.op->infer(s.in_ptrs.data(), shape, dtype);
    value_[s.out]->resize(shape, dtype);
    s.op->forward(s.in_ptrs.data(), *value_[s.out]);
  }
}

void Program::backward_and_update() {
  for (size_t i = 0; i < grad_.size(); ++i)
    if (grad_[i]) grad_[i]->resize(value_[i]->shape);
  grad_[loss_]->fill(1.f);
  for (int i : backward_steps_) {
    Step& s = steps_[i];
    s.op->backward(s.in_ptrs.data(), *value_[s.out], *grad_[s.out], s.din_ptrs.data(), s.acc.get());
  }
  for (size_t k = 0; k < params_.size(); ++k) opt_->update(*value_[params_[k]], *grad_[params_[k]], *opt_slots_[k]);
  ++opt_->iterations;
}

void Program::update_metrics(int64_t batch) {
  if (loss_ >= 0) {
    loss_tracker->total += double(value_[loss_]->f()[0]) * double(batch);
    loss_tracker->count += double(batch);
  }
  for (auto& m : metrics_) metric_update(m.kind, m.threshold, *value_[m.target], *value_[m.pred], *m.state);
}

int64_t Program::train(DataFeed& feed, int64_t max_steps) {
  FF_CHECK(loss_ >= 0 && opt_, "this program has no loss or optimizer to train with");
  check_feed(feed, inputs_.size() + targets_.size(), "fit");
  int64_t done = 0;
  for (; done < max_steps && feed.pos < feed.n; ++done) {
    const int64_t count = std::min(feed.batch_size, feed.n - feed.pos);
    gather(feed, count, true);
    forward(test_steps_);
    update_metrics(count);
    backward_and_update();
  }
  return done;
}

int64_t Program::test(DataFeed& feed, int64_t max_steps) {
  check_feed(feed, inputs_.size() + targets_.size(), "evaluate");
  int64_t done = 0;
  for (; done < max_steps && feed.pos < feed.n; ++done) {
    const int64_t count = std::min(feed.batch_size, feed.n - feed.pos);
    gather(feed, count, true);
    forward(test_steps_);
    update_metrics(count);
  }
  return done;
}

int64_t Program::predict(DataFeed& feed, int64_t max_steps, const std::vector<TensorPtr>& results) {
  check_feed(feed, inputs_.size(), "predict");
  FF_CHECK(results.size() == outputs_.size(), "predict: expected " + std::to_string(outputs_.size()) + " result arrays");
  int64_t done = 0;
  for (; done < max_steps && feed.pos < feed.n; ++done) {
    const int64_t count = std::min(feed.batch_size, feed.n - feed.pos), start = feed.pos;
    gather(feed, count, false);
    forward(predict_steps_);
    for (size_t k = 0; k < outputs_.size(); ++k) {
      const Tensor& y = *value_[outputs_[k]];
      Tensor& r = *results[k];
      const size_t row = size_t(y.size() / std::max<int64_t>(count, 1)) * 4;
      FF_CHECK(r.shape[0] == feed.n && size_t(r.size() / std::max<int64_t>(r.shape[0], 1)) * 4 == row,
               "predict: result array " + std::to_string(k) + " has the wrong shape " + r.shape.str());
      std::memcpy(static_cast<char*>(r.data) + start * row, y.data, row * count);
    }
  }
  return done;
}

std::vector<TensorPtr> Program::outputs() const {
  std::vector<TensorPtr> r;
  for (int o : outputs_) {
    auto t = Tensor::make(value_[o]->shape, value_[o]->dtype);
    std::memcpy(t->data, value_[o]->data, t->nbytes());
    r.push_back(t);
  }
  return r;
}

float Program::last_loss() const { return loss_ >= 0 ? value_[loss_]->f()[0] : 0.f; }

}  // namespace fastfit
