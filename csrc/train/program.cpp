// Program: the batch loop over a source, metrics, the optimizer step and state updates.
#include "train/program.h"

#include <algorithm>
#include <cstring>

#include "core/denormals.h"
#include "kernels/cpu/kernels.h"
#include "train/device_runner.h"

namespace fastfit {
namespace {
constexpr int64_t kMinSplitUpdate = 4096;  // parameters below this update on one thread

// The graph's variable updates, from values the shard computed.
void write_assigns(const Graph& graph, const Executor::Shard& shard) {
  for (auto& a : graph.assigns) {
    Tensor& var = *graph.external[a.first];
    const Tensor& value = *shard.value[a.second];
    FF_CHECK(value.shape == var.shape && value.dtype == var.dtype,
             "a traced variable update assigns " + value.desc() + " to a variable of " + var.desc());
    if (value.data != var.data) std::memcpy(var.data, value.data, var.nbytes());
  }
}
}  // namespace

VariableUpdate::VariableUpdate(const Trace& trace) : graph_(trace, {}, {}), ex_(graph_, {}, 0) {
  FF_CHECK(trace.inputs.empty() && trace.targets.empty(), "VariableUpdate: the trace must read variables only");
  for (auto& t : graph_.external)  // it runs on the CPU, in place (weight constraints have no GPU path yet)
    FF_CHECK(!t || t->device == Device::cpu,
             "weight constraints run on the CPU, but a variable they read lives on the GPU (" + t->desc() + ")");
}

void VariableUpdate::run() {
  std::lock_guard<std::mutex> lk(m_);
  Batch none;  // no inputs: the steps read variables and constants
  ex_.run_shard(ex_.shard[0], Mode::test, none, ExecCtx{cpu::num_threads(), 0});
  write_assigns(graph_, ex_.shard[0]);
}

struct Program::Lease {
  Program& p;
  std::unique_ptr<Executor> ex;
  explicit Lease(Program& prog) : p(prog) {
    {
      std::lock_guard<std::mutex> lk(p.pool_m_);
      if (!p.pool_.empty()) {
        ex = std::move(p.pool_.back());
        p.pool_.pop_back();
      }
    }
    if (!ex) ex = std::make_unique<Executor>(p.graph_, p.param_offset_, p.param_size_);
  }
  ~Lease() {
    std::lock_guard<std::mutex> lk(p.pool_m_);
    p.pool_.push_back(std::move(ex));
  }
};

Program::Program(const Trace& trace, const std::vector<TensorPtr>& batch_constants, const std::vector<TensorPtr>& params,
                 std::shared_ptr<Optimizer> optimizer, Device device)
    : graph_(trace, batch_constants, optimizer ? params : std::vector<TensorPtr>{}),
      opt_(std::move(optimizer)),
      device_(device) {
  if (device_ == Device::cpu)
    for (auto& t : graph_.external)
      FF_CHECK(!t || t->device == Device::cpu, "a program on the CPU cannot use a variable that lives on the GPU (" +
                                                   t->desc() + "): run it on the GPU (fastfit.device('/GPU:0'))");
  if (device_ == Device::cuda && opt_ && opt_->gpu_unsupported())
    throw NotImplemented(std::string(opt_->gpu_unsupported()) + " has no GPU kernel yet");
  init_params(params);
  if (device_ == Device::cuda) gpu_ = std::make_unique<DeviceRunner>(*this);
}

Program::~Program() = default;

void Program::set_after_update(std::shared_ptr<VariableUpdate> update) {
  if (gpu_ && update) throw NotImplemented("weight constraints have no GPU path yet");
  after_update_ = std::move(update);
}

void Program::release_data() {
  if (gpu_) gpu_->release_data();
}

void Program::init_params(const std::vector<TensorPtr>& params) {
  if (!opt_ || graph_.params.empty()) return;
  opt_->build(params);  // as Keras: state for every trainable variable, connected or not
  // The gradient block packs the parameters as flatten_variables packs weights and the optimizer its
  // state: when all three agree, the whole update is one flat range.
  // Parameters the loss does not reach must not move: the flat range ends before the first of them
  // and must cover every connected one.
  Layout grads;
  bool consistent = true, prefix = true;
  for (size_t k = 0; k < graph_.params.size(); ++k) {
    param_values_.push_back(params[k].get());
    param_offset_.push_back(grads.append(params[k]->size()));
    opt_offset_.push_back(opt_->offset(*params[k]));
    if (!graph_.param_connected[k]) {
      prefix = false;
      continue;
    }
    consistent &= prefix && opt_offset_[k] - opt_offset_[0] == param_offset_[k];
    if (consistent) flat_size_ = param_offset_[k] + Layout::padded(params[k]->size());
  }
  if (!consistent) flat_size_ = 0;
  for (size_t k = 0; flat_size_ && k < param_values_.size() && param_offset_[k] < flat_size_; ++k)
    flat_values_.push_back(param_values_[k]);
  param_size_ = grads.size;
}

void Program::add_metric(MetricPtr metric, int y_true, int y_pred, int weight) {
  const int n = int(graph_.labels.size());
  FF_CHECK(metric, "metric: None");
  FF_CHECK(y_true >= 0 && y_true < n && y_pred >= 0 && y_pred < n && weight >= -1 && weight < n,
           "metric: labels " + std::to_string(y_true) + ", " + std::to_string(y_pred) + ", " + std::to_string(weight) +
               " out of range: the trace has " + std::to_string(n));
  metrics_.push_back({std::move(metric), graph_.labels[y_true], graph_.labels[y_pred],
                      weight < 0 ? -1 : graph_.labels[weight]});
}

void Program::check_batch(const Batch& batch) const {
  // A predict program traced without targets reads the inputs only; one whose Dataset map reads the
  // targets (and every other program) needs them too.
  const size_t want = graph_.inputs.size() + graph_.targets.size();
  FF_CHECK(batch.arrays.size() >= want, "expected batches of " + std::to_string(want) + " arrays (inputs" +
                                            (graph_.targets.empty() ? ")" : " and targets)") + ", got " +
                                            std::to_string(batch.arrays.size()));
  for (size_t j = 0; j < want; ++j) {
    const bool input = j < graph_.inputs.size();
    const int s = input ? graph_.inputs[j] : graph_.targets[j - graph_.inputs.size()];
    const Tensor& a = *batch.arrays[j];
    Shape got = a.shape, expected = graph_.shape[s];
    got.d[0] = expected.d[0] = 0;
    FF_CHECK(a.dtype == graph_.dtype[s] && got == expected,
             std::string(input ? "input " : "target ") + std::to_string(input ? j : j - graph_.inputs.size()) +
                 ": expected samples of " + dtype_name(graph_.dtype[s]) + " " + graph_.shape[s].str() +
                 " (first axis: batch), got " + a.desc());
  }
}

void Program::check_states(Mode mode, const std::vector<std::shared_ptr<MetricState>>& states,
                           const std::vector<TensorPtr>& results) const {
  if (mode == Mode::train) FF_CHECK(graph_.loss >= 0 && opt_, "this program has no loss or optimizer to train with");
  const size_t want_states = (graph_.loss >= 0) + graph_.loss_terms.size() + metrics_.size();
  if (mode != Mode::predict)
    FF_CHECK(states.size() == want_states, "expected " + std::to_string(want_states) +
                                               " metric states (the loss if any, its terms, the metrics), got " +
                                               std::to_string(states.size()));
  // predict writes the outputs; the other modes too when given result tensors (a compiled tf.function)
  if (mode == Mode::predict || !results.empty())
    FF_CHECK(results.size() == graph_.outputs.size(), "expected " + std::to_string(graph_.outputs.size()) +
                                                          " result tensors, got " + std::to_string(results.size()));
}

int64_t Program::run(Mode mode, BatchSource& source, int64_t max_steps,
                     const std::vector<std::shared_ptr<MetricState>>& states, const std::vector<TensorPtr>& results,
                     bool update_state) {
  check_states(mode, states, results);
  if (gpu_) return gpu_->run(mode, source, max_steps, states, results, update_state);
  Lease lease(*this);
  Batch batch;
  int64_t done = 0;
  while (done < max_steps && source.next(batch)) {
    if (batch.count == 0) continue;
    check_batch(batch);
    run_batch(*lease.ex, mode, batch, states, results, update_state);
    ++done;
  }
  return done;
}

std::vector<TensorPtr> Program::call(Mode mode, const std::vector<TensorPtr>& arrays,
                                     const std::vector<std::shared_ptr<MetricState>>& states) {
  if (gpu_) throw NotImplemented("Program.call (a compiled tf.function step) has no GPU path yet");
  FF_CHECK(mode != Mode::predict, "Program.call runs 'train' or 'test' steps (they track the loss); predict with run");
  FF_CHECK(!arrays.empty() && arrays[0]->rank() >= 1, "expected the batch's arrays, the first with a batch axis");
  Batch batch;
  for (auto& a : arrays) batch.arrays.push_back(Tensor::on(Device::cpu, a));  // the kernels read host memory
  batch.count = arrays[0]->shape[0];
  for (auto& a : arrays)
    FF_CHECK(a->rank() >= 1 && a->shape[0] == batch.count, "expected arrays of " + std::to_string(batch.count) +
                                                               " rows (the batch), got " + a->desc());
  const size_t trackers = (graph_.loss >= 0) + graph_.loss_terms.size();
  std::vector<TensorPtr> out;
  for (size_t k = 0; k < trackers; ++k) out.push_back(Tensor::make(Shape{}));
  for (int o : graph_.outputs) {
    Shape rows = graph_.shape[o];
    rows.d[0] = batch.count;
    out.push_back(Tensor::make(rows, graph_.dtype[o]));
  }
  const std::vector<TensorPtr> results(out.begin() + trackers, out.end());
  check_states(mode, states, results);
  check_batch(batch);
  for (size_t k = 0; k < trackers; ++k) states[k]->reset();
  {
    Lease lease(*this);
    run_batch(*lease.ex, mode, batch, states, results, true);
  }
  for (size_t k = 0; k < trackers; ++k) out[k]->f()[0] = float(states[k]->result()[0]);
  return out;
}

void Program::run_batch(Executor& ex, Mode mode, const Batch& batch,
                        const std::vector<std::shared_ptr<MetricState>>& states, const std::vector<TensorPtr>& results,
                        bool update_state) {
  const int shards = ex.shards_for(mode, batch.count);
  ex.assign_rows(shards, batch.count);
  if (mode == Mode::train && opt_->cfg.loss_scale_factor)  // Keras' train_step: optimizer.scale_loss(loss)
    for (auto& s : ex.shard) s.loss_weight *= float(opt_->cfg.loss_scale_factor);
  // The thread policy of this call: split shards run on one core each, an unsplit batch's matrix
  // products may use every core.
  const int threads = cpu::num_threads();
  const bool parallel = threads >= 2;
  ex.for_shards(shards, parallel, [&](int i) {
    ex.run_shard(ex.shard[i], mode, batch, ExecCtx{shards == 2 ? 1 : threads, ex.shard[i].begin});
  });
  for (int i = 0; i < shards; ++i) {  // in shard order: the same sums whatever ran where
    const Executor::Shard& s = ex.shard[i];
    for (size_t k = 0; k < results.size(); ++k) write_rows(k, *s.value[graph_.outputs[k]], batch.first + s.begin, results);
    if (mode != Mode::predict) accumulate(ex.shard[i], batch.count, states);
  }
  if (mode != Mode::predict)  // the loss and its terms are means over the batches' rows
    for (size_t k = 0; k < (graph_.loss >= 0) + graph_.loss_terms.size(); ++k) states[k]->count += double(batch.count);
  if (mode == Mode::train) {
    update_params(ex, shards);
    if (after_update_) after_update_->run();
  }
  if (update_state) this->update_state(ex);
}

// The batch's loss and loss terms weighted by the batch size, as Keras' loss trackers take them: a
// shard's mean over its rows counts with its share of the batch; a sum counts whole.
void Program::accumulate(const Executor::Shard& s, int64_t rows, const std::vector<std::shared_ptr<MetricState>>& states) const {
  auto add = [&](MetricState& state, int slot, int reduction) {
    const double share = reduction == 2 ? double(s.count) / double(rows) : 1.0;
    state.total += double(s.value[slot]->f()[0]) * share * double(rows);
  };
  const size_t has_loss = graph_.loss >= 0;
  if (has_loss) add(*states[0], graph_.loss, graph_.loss_reduction);
  for (size_t k = 0; k < graph_.loss_terms.size(); ++k)
    add(*states[has_loss + k], graph_.loss_terms[k], graph_.term_reduction[k]);
  const size_t first = has_loss + graph_.loss_terms.size();
  for (size_t m = 0; m < metrics_.size(); ++m) {
    const MetricBinding& b = metrics_[m];
    b.metric->update(*s.value[b.y_true], *s.value[b.y_pred], b.weight < 0 ? nullptr : s.value[b.weight].get(),
                     *states[first + m]);
  }
}

// Results sized ahead (arrays) are written in place; when the source's length is unknown they grow,
// keeping the rows written.
void Program::write_rows(size_t k, const Tensor& y, int64_t start, const std::vector<TensorPtr>& results) const {
  Tensor& out = *results[k];
  const int64_t count = y.rank() ? y.shape[0] : 1;
  const int64_t row_elems = y.size() / std::max<int64_t>(count, 1);
  const int64_t end = start + count;
  const int64_t have = out.rank() ? out.shape[0] : 0;
  if (have < end) {
    Shape rows = y.shape;
    rows.d[0] = std::max(end, 2 * have);
    auto grown = Tensor::make(rows, y.dtype);
    if (have) std::memcpy(grown->data, out.data, out.nbytes());
    out = *grown;
  }
  FF_CHECK(out.dtype == y.dtype && out.size() / out.shape[0] == row_elems,
           "predict: result " + std::to_string(k) + " is " + out.desc() + ", output rows are " + y.desc());
  std::memcpy(static_cast<char*>(out.data) + start * row_elems * 4, y.data, y.nbytes());
}

// Adds the shards' gradients and applies the optimizer, elements split between two threads when
// there are enough of them (each element's arithmetic is the same either way). Clipping by norm
// needs every gradient whole first: a first pass adds the shards and sums each parameter's squares,
// split at a parameter boundary, so each sum is one thread's in one order whatever the threads.
void Program::update_params(Executor& ex, int shards) {
  opt_->start_step();
  const int64_t n = updates_flat() ? flat_size_ : param_size_;
  const bool parallel = cpu::num_threads() >= 2 && n >= kMinSplitUpdate;
  auto split = [&](int64_t cut, const auto& pass) {  // [0, cut) and [cut, n) on two threads, or [0, n)
    if (!parallel) return pass(0, n);
    ex.for_shards(2, true, [&](int i) { pass(i == 0 ? 0 : cut, i == 0 ? cut : n); });
  };
  const bool norms = opt_->clips_by_norm();
  if (norms) {
    auto middle = std::lower_bound(param_offset_.begin(), param_offset_.end(), n / 2);  // a parameter's start
    split(middle == param_offset_.end() ? n : std::min(n, *middle), [&](int64_t begin, int64_t end) {
      add_shards(ex, shards, begin, end);
      const float* g = ex.shard[0].param_grads->f();
      for (size_t k = 0; k < param_values_.size(); ++k)
        if (graph_.param_connected[k] && param_offset_[k] >= begin && param_offset_[k] < end)
          opt_->add_squares(g + param_offset_[k], opt_offset_[k]);
    });
    opt_->finish_norms();
  }
  split(std::min(n, (n / 2 + 15) / 16 * 16), [&](int64_t begin, int64_t end) {
    if (!norms) add_shards(ex, shards, begin, end);
    update_range(ex, begin, end);
  });
  opt_->finish_step();
}

// Elements [begin, end) of the gradient block: shard 1's gradients added into shard 0's.
void Program::add_shards(Executor& ex, int shards, int64_t begin, int64_t end) {
  FlushDenormals flush;
  float* g = ex.shard[0].param_grads->f();
  if (shards == 2) cpu::axpy_store(1.f, ex.shard[1].param_grads->f() + begin, end - begin, g + begin, true);
}

// The optimizer step on elements [begin, end) of the gradient block, in one pass when the weights are
// packed like the block, else parameter by parameter (skipping those the loss does not reach, as
// Keras skips None gradients).
void Program::update_range(Executor& ex, int64_t begin, int64_t end) {
  const float* g = ex.shard[0].param_grads->f();
  if (updates_flat()) {
    float* w = const_cast<float*>(param_values_[0]->f());
    opt_->update(w + begin, g + begin, opt_offset_[0] + begin, end - begin);
    return;
  }
  for (size_t k = 0; k < param_values_.size(); ++k) {
    if (!graph_.param_connected[k]) continue;
    const int64_t off = param_offset_[k], n = param_values_[k]->size();
    const int64_t b = std::max(begin, off), e = std::min(end, off + n);
    if (b >= e) continue;
    float* w = const_cast<float*>(param_values_[k]->f());
    opt_->update(w + (b - off), g + b, opt_offset_[k] + (b - off), e - b);
  }
}

// Variable updates recorded in the trace (moving averages), then the random generators advance, so
// the next step draws fresh numbers.
void Program::update_state(const Executor& ex) {
  write_assigns(graph_, ex.shard[0]);
  for (int r : graph_.random_states) advance_random_state(*graph_.external[r]);
}

}  // namespace fastfit
