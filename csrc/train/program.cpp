// Program compilation (slots, step lists, gradient routing, replicas) and batch replay.
#include "train/program.h"

#include <algorithm>
#include <random>
#include <unordered_map>

#include "kernels/cpu/kernels.h"

namespace fastfit {

namespace {
constexpr int64_t kMinSplitRows = 16;  // smaller batches run on one thread: the handover would dominate
}

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
  const SlotMap slot = plan_slots(records, inputs, targets, outputs, loss);
  predict_steps_ = ancestors(outputs_);
  std::vector<int> test_roots = outputs_;
  if (loss_ >= 0) test_roots.push_back(loss_);
  test_steps_ = ancestors(test_roots);
  plan_splitting(records);
  has_grad_.assign(external_.size(), 0);
  if (loss_ >= 0 && opt_) plan_gradients(params, slot);
  make_replica(false);
  if ((split_predict_ || split_eval_) && cpu::num_threads() >= 2) make_replica(true);
}

// One slot per distinct tensor of the trace: inputs, targets and step outputs get planned buffers
// (per replica); weights and constants are used as they are.
Program::SlotMap Program::plan_slots(const std::vector<Record>& records, const std::vector<TensorPtr>& inputs,
                                     const std::vector<TensorPtr>& targets, const std::vector<TensorPtr>& outputs,
                                     const TensorPtr& loss) {
  SlotMap slot;
  auto add_slot = [&](const TensorPtr& t, bool internal) {
    const int id = int(external_.size());
    slot[t.get()] = id;
    external_.push_back(internal ? nullptr : t);
    traced_shape_.push_back(t->shape);
    traced_dtype_.push_back(t->dtype);
    return id;
  };
  for (auto& t : inputs) inputs_.push_back(add_slot(t, true));
  for (auto& t : targets) targets_.push_back(add_slot(t, true));
  for (auto& r : records) {
    StepPlan s;
    s.op = r.op;
    for (auto& t : r.in) {
      auto it = slot.find(t.get());
      s.in.push_back(it != slot.end() ? it->second : add_slot(t, false));
    }
    s.out = add_slot(r.out, true);
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
  return slot;
}

// The steps needed to compute `roots`, in order.
std::vector<int> Program::ancestors(const std::vector<int>& roots) const {
  std::vector<char> need(external_.size(), 0);
  for (int r : roots) need[r] = 1;
  std::vector<int> list;
  for (int i = int(steps_.size()) - 1; i >= 0; --i) {
    if (!need[steps_[i].out]) continue;
    list.push_back(i);
    for (int j : steps_[i].in) need[j] = 1;
  }
  std::reverse(list.begin(), list.end());
  return list;
}

// Can batch rows be split across replicas? Every step that sees the batch must be row-wise, except
// the loss's own reduction over all elements, which the replicas' loss weights account for.
void Program::plan_splitting(const std::vector<Record>& records) {
  std::vector<char> batched(external_.size(), 0);
  for (int i : inputs_) batched[i] = 1;
  for (int i : targets_) batched[i] = 1;
  int loss_step = -1;
  std::vector<char> rowwise(steps_.size(), 1);
  for (size_t i = 0; i < steps_.size(); ++i) {
    const StepPlan& s = steps_[i];
    std::unique_ptr<bool[]> flags(new bool[s.in.size()]);
    bool any = false;
    for (size_t k = 0; k < s.in.size(); ++k) any |= (flags[k] = batched[s.in[k]]);
    if (!any) continue;
    batched[s.out] = 1;
    std::vector<const Tensor*> traced;
    for (auto& t : records[i].in) traced.push_back(t.get());
    rowwise[i] = s.op->rowwise(traced.data(), flags.get());
    if (s.out == loss_) loss_step = int(i);
  }
  if (loss_step >= 0) loss_reduction_ = steps_[loss_step].op->reduces_all();
  auto splittable = [&](const std::vector<int>& list) {
    for (int i : list)
      if (!rowwise[i] && !(i == loss_step && loss_reduction_)) return false;
    return true;
  };
  split_predict_ = splittable(predict_steps_);
  split_eval_ = splittable(test_steps_) && (loss_ < 0 || (loss_step >= 0 && loss_reduction_));
  split_train_ = split_eval_ && opt_ != nullptr;
}

// Gradients flow where a slot both depends on a parameter and leads to the loss. A slot's first
// contribution (in backward order) overwrites its gradient buffer, later ones add to it.
void Program::plan_gradients(const std::vector<TensorPtr>& params, const SlotMap& slot) {
  const size_t S = external_.size();
  std::vector<char> depends(S, 0), leads(S, 0), written(S, 0);
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
  for (size_t i = 0; i < S; ++i) has_grad_[i] = depends[i] && leads[i];
  for (int i = int(steps_.size()) - 1; i >= 0; --i) {
    StepPlan& s = steps_[i];
    if (!has_grad_[s.out]) continue;
    backward_steps_.push_back(i);
    s.acc.reset(new bool[s.in.size()]());
    for (size_t k = 0; k < s.in.size(); ++k) {
      if (!s.op->differentiable(int(k)) || !has_grad_[s.in[k]]) continue;
      s.acc[k] = written[s.in[k]];
      written[s.in[k]] = 1;
    }
  }
  for (auto& p : params) {
    auto it = slot.find(p.get());
    if (it == slot.end() || !has_grad_[it->second]) continue;  // the loss does not depend on it
    params_.push_back(it->second);
    opt_slots_.push_back(&opt_->slots_for(*p));
  }
}

void Program::make_replica(bool clone_ops) {
  Replica r;
  const size_t S = external_.size();
  r.value.resize(S);
  r.grad.resize(S);
  for (size_t i = 0; i < S; ++i) {
    r.value[i] = external_[i] ? external_[i] : Tensor::make(traced_shape_[i], traced_dtype_[i]);
    if (has_grad_[i]) r.grad[i] = Tensor::zeros(traced_shape_[i]);
  }
  for (auto& plan : steps_) {
    Step s;
    s.op = clone_ops ? plan.op->clone() : plan.op;
    for (int j : plan.in) {
      s.in.push_back(r.value[j].get());
      s.din.push_back(has_grad_[j] ? r.grad[j].get() : nullptr);
    }
    for (size_t k = 0; k < plan.in.size(); ++k)
      if (!plan.op->differentiable(int(k))) s.din[k] = nullptr;
    s.out = r.value[plan.out].get();
    s.dout = r.grad[plan.out].get();
    r.steps.push_back(std::move(s));
  }
  reps_.push_back(std::move(r));
}

void Program::add_metric(MetricUpdate update, float threshold, int output, int target,
                         std::shared_ptr<MetricState> st) {
  FF_CHECK(output >= 0 && output < int(outputs_.size()), "metric: no model output " + std::to_string(output));
  FF_CHECK(target >= 0 && target < int(targets_.size()), "metric: no target " + std::to_string(target));
  metrics_.push_back({update, threshold, outputs_[output], targets_[target], std::move(st)});
}

void Program::check_feed(const DataFeed& feed, size_t expected, const char* what) const {
  FF_CHECK(feed.arrays.size() == expected, std::string(what) + ": expected " + std::to_string(expected) +
                                               " arrays, got " + std::to_string(feed.arrays.size()));
  for (size_t j = 0; j < expected; ++j) {
    const int s = j < inputs_.size() ? inputs_[j] : targets_[j - inputs_.size()];
    const Tensor& a = *feed.arrays[j];
    Shape row_a = a.shape, row_v = traced_shape_[s];
    row_a.d[0] = row_v.d[0] = 0;
    FF_CHECK(a.dtype == traced_dtype_[s] && row_a == row_v,
             std::string(what) + ": array " + std::to_string(j) + " has samples of " + a.desc() +
                 ", expected samples of " + dtype_name(traced_dtype_[s]) + " " + traced_shape_[s].str() +
                 " (first axis: batch)");
  }
}

// Batch rows into the replica's input slots. Rows that lie contiguous in the source (unshuffled
// data) are viewed in place, not copied; the slot's own buffer (its owner) stays for shuffled batches.
void Program::gather(Replica& r, DataFeed& feed, bool with_targets) {
  const size_t n = inputs_.size() + (with_targets ? targets_.size() : 0);
  const int64_t count = r.count;
  const int64_t* idx = feed.order.data() + feed.pos + r.begin;
  const bool contiguous = idx[count - 1] - idx[0] == count - 1 && std::is_sorted(idx, idx + count);
  for (size_t j = 0; j < n; ++j) {
    const Tensor& src = *feed.arrays[j];
    Tensor& dst = *r.value[j < inputs_.size() ? inputs_[j] : targets_[j - inputs_.size()]];
    Shape s = src.shape;
    s.d[0] = count;
    const size_t row = size_t(src.size() / std::max<int64_t>(src.shape[0], 1)) * 4;
    char* base = static_cast<char*>(src.data);
    if (contiguous) {
      dst.shape = s;
      dst.dtype = src.dtype;
      dst.data = base + idx[0] * row;  // read-only for the ops: inputs get no gradient
      continue;
    }
    dst.data = dst.owner.get();
    dst.resize(s, src.dtype);
    char* out = static_cast<char*>(dst.data);
    for (int64_t k = 0; k < count; ++k) std::memcpy(out + k * row, base + idx[k] * row, row);
  }
}

void Program::run_replica(Replica& r, Mode mode, DataFeed& feed, const std::vector<TensorPtr>* results) {
  gather(r, feed, mode != Mode::predict);
  const ExecCtx ctx{r.threads, r.begin};
  for (int i : mode == Mode::predict ? predict_steps_ : test_steps_) {
    Step& s = r.steps[i];
    Shape shape;
    DType dtype;
    s.op->infer(s.in.data(), shape, dtype);
    s.out->resize(shape, dtype);
    s.op->forward(ctx, s.in.data(), *s.out);
  }
  if (mode == Mode::train) {
    for (size_t i = 0; i < r.grad.size(); ++i)
      if (r.grad[i]) r.grad[i]->resize(r.value[i]->shape);
    r.grad[loss_]->fill(r.loss_weight);
    for (int i : backward_steps_) {
      Step& s = r.steps[i];
      s.op->backward(ctx, s.in.data(), *s.out, *s.dout, s.din.data(), steps_[i].acc.get());
    }
  }
  if (mode == Mode::predict) {
    for (size_t k = 0; k < outputs_.size(); ++k) {
      const Tensor& y = *r.value[outputs_[k]];
      Tensor& out = *(*results)[k];
      const size_t row = size_t(y.size() / std::max<int64_t>(r.count, 1)) * 4;
      std::memcpy(static_cast<char*>(out.data) + (feed.pos + r.begin) * row, y.data, row * r.count);
    }
  }
}

void Program::run_second(void* p) {
  Job& job = *static_cast<Job*>(p);
  if (job.mode == Mode::update) job.self->update_share(1, 2);
  else job.self->run_replica(job.self->reps_[1], job.mode, *job.feed, job.results);
}

void Program::update_metrics(const Replica& r, int64_t batch) {
  if (loss_ >= 0)  // the batch loss weighted by the batch size, as Keras' loss tracker
    loss_tracker->total += double(r.value[loss_]->f()[0]) * double(r.loss_weight) * double(batch);
  for (auto& m : metrics_) m.update(m.threshold, *r.value[m.target], *r.value[m.pred], *m.state);
}

// Elements of every parameter are cut into `shares` slices (64-byte aligned); slice `share` adds
// the second replica's gradient into the first's and applies the optimizer there.
void Program::update_share(int share, int shares) {
  const bool split = shares > 1;
  for (size_t k = 0; k < params_.size(); ++k) {
    Tensor& g = *reps_[0].grad[params_[k]];
    const int64_t n = g.size();
    const int64_t cut = std::min(n, (n / shares + 15) / 16 * 16);
    const int64_t begin = share == 0 ? 0 : cut, end = share == 0 && split ? cut : n;
    if (end <= begin) continue;
    if (split) cpu::axpy_store(1.f, reps_[1].grad[params_[k]]->f() + begin, end - begin, g.f() + begin, true);
    opt_->update(*reps_[0].value[params_[k]], g, *opt_slots_[k], begin, end);
  }
}

void Program::apply_update(bool split) {
  if (split) {  // both threads update half of every variable
    job_.mode = Mode::update;
    worker_->run_alongside(&Program::run_second, &job_, [&] { update_share(0, 2); });
  } else {
    update_share(0, 1);
  }
  ++opt_->iterations;
}

int64_t Program::run(Mode mode, DataFeed& feed, int64_t max_steps, const std::vector<TensorPtr>* results) {
  const bool can_split = reps_.size() > 1 && cpu::num_threads() >= 2 && (mode == Mode::train     ? split_train_
                                              : mode == Mode::test    ? split_eval_
                                                                      : split_predict_);
  int64_t done = 0;
  for (; done < max_steps && feed.pos < feed.n; ++done) {
    const int64_t count = std::min(feed.batch_size, feed.n - feed.pos);
    const bool split = can_split && count >= kMinSplitRows;
    Replica& a = reps_[0];
    a.begin = 0;
    a.count = split ? (count + 1) / 2 : count;
    a.threads = split ? 1 : cpu::num_threads();  // split: each replica has one core
    a.loss_weight = loss_reduction_ == 2 ? float(a.count) / float(count) : 1.f;
    if (reps_.size() > 1) {
      Replica& b = reps_[1];
      b.begin = a.count;
      b.count = count - a.count;
      b.loss_weight = loss_reduction_ == 2 ? float(b.count) / float(count) : 1.f;
    }
    if (split) {
      job_ = {this, mode, &feed, results};
      Worker::ensure(worker_).run_alongside(&Program::run_second, &job_,
                                            [&] { run_replica(a, mode, feed, results); });
    } else {
      run_replica(a, mode, feed, results);
    }
    if (mode != Mode::predict) {
      for (int r = 0; r < (split ? 2 : 1); ++r) update_metrics(reps_[r], count);
      if (loss_ >= 0) loss_tracker->count += double(count);
    }
    if (mode == Mode::train) apply_update(split);
    feed.pos += count;
  }
  return done;
}

int64_t Program::train(DataFeed& feed, int64_t max_steps) {
  FF_CHECK(loss_ >= 0 && opt_, "this program has no loss or optimizer to train with");
  check_feed(feed, inputs_.size() + targets_.size(), "fit");
  return run(Mode::train, feed, max_steps, nullptr);
}

int64_t Program::test(DataFeed& feed, int64_t max_steps) {
  FF_CHECK(loss_ >= 0, "this program has no loss to evaluate");
  check_feed(feed, inputs_.size() + targets_.size(), "evaluate");
  return run(Mode::test, feed, max_steps, nullptr);
}

int64_t Program::predict(DataFeed& feed, int64_t max_steps, const std::vector<TensorPtr>& results) {
  check_feed(feed, inputs_.size(), "predict");
  FF_CHECK(results.size() == outputs_.size(), "predict: expected " + std::to_string(outputs_.size()) + " result arrays");
  for (size_t k = 0; k < outputs_.size(); ++k) {
    Shape want = traced_shape_[outputs_[k]];
    want.d[0] = feed.n;
    FF_CHECK(results[k]->shape == want && results[k]->dtype == DType::f32,
             "predict: result array " + std::to_string(k) + " must be float32 " + want.str() + ", got " +
                 results[k]->desc());
  }
  return run(Mode::predict, feed, max_steps, &results);
}

}  // namespace fastfit
