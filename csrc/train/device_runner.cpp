// DeviceRunner: mirrors, staging, the step on the device and its CUDA graph.
#include "train/device_runner.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "kernels/cuda/backend.h"

namespace fastfit {
namespace {

constexpr int kRing = 256;  // staged steps in flight; the host waits when the ring wraps
constexpr size_t kHeader = 64;  // a staged slot: the RuleStep, then the batch's row indices
static_assert(sizeof(RuleStep) <= kHeader, "RuleStep fits the slot header");

size_t slot_bytes(int64_t rows) { return (kHeader + size_t(rows) * sizeof(int64_t) + 255) / 256 * 256; }

TensorPtr device_zeros(const Shape& shape) {
  auto t = Tensor::make(shape, DType::f32, Device::cuda);
  t->zero();
  return t;
}

// A view of `block`, of `shape`, from float `offset` on.
TensorPtr view_of(const TensorPtr& block, int64_t offset, const Shape& shape) {
  auto v = std::make_shared<Tensor>();
  v->shape = shape;
  v->device = block->device;
  v->data = block->f() + offset;
  v->capacity = size_t(shape.numel()) * 4;
  v->owner = block->owner;
  return v;
}

void copy_floats(float* dst, const float* src, int64_t n) { cuda::copy(dst, src, size_t(n) * sizeof(float)); }

// For the length of a call: the program's own stream, deferred kernel checks. The work queued on the
// default stream before (eager ops, the mirrors' allocation) finishes first; on the way out (an error
// too) the call's own.
struct CallScope {
  const CudaBackend& b;
  CallScope(const CudaBackend& backend, void* stream) : b(backend) {
    b.synchronize();
    b.set_stream(stream);
    b.set_deferred(true);
  }
  ~CallScope() {
    try {
      b.synchronize();
    } catch (...) {  // the error is raised by the call itself, or by the next one
    }
    b.set_deferred(false);
    b.set_stream(nullptr);
  }
};

}  // namespace

DeviceRunner::DeviceRunner(Program& program) : p_(program), g_(program.graph_) {
  const CudaBackend& b = cuda::backend();
  auto destroy = b.stream_destroy;
  stream_ = std::shared_ptr<void>(b.stream_create(), [destroy](void* s) { destroy(s); });
  const size_t S = g_.external.size();
  mirror_.resize(S);
  const int64_t n = p_.param_size_;
  if (p_.opt_ && !p_.param_values_.empty()) {  // training: the weights and the slots as blocks
    const Optimizer& opt = *p_.opt_;
    weights_ = device_zeros(Shape{std::max<int64_t>(n, 1)});
    for (size_t j = 0; j < opt.num_rule_slots(); ++j) slots_.push_back(device_zeros(Shape{std::max<int64_t>(n, 1)}));
    for (size_t k = 0; k < p_.param_values_.size(); ++k) {
      const int slot = g_.params[k];
      const Tensor& w = *p_.param_values_[k];
      if (slot >= 0) mirror_[slot] = view_of(weights_, p_.param_offset_[k], w.shape);
      if (!g_.param_connected[k]) continue;  // as Keras skips a None gradient: no update at all
      const int64_t begin = p_.param_offset_[k], end = begin + Layout::padded(w.size());
      if (!ranges_.empty() && ranges_.back().end == begin) ranges_.back().end = end;
      else ranges_.push_back({begin, end});
      if (opt.cfg.weight_decay != 0 && opt.decays_variable(opt.index(w))) decays_.push_back({begin, w.size()});
    }
  }
  for (size_t i = 0; i < S; ++i) {
    const TensorPtr& t = g_.external[i];
    if (!t || mirror_[i]) continue;
    if (t->device == Device::cuda) {
      mirror_[i] = t;  // already there: used in place
      continue;
    }
    mirror_[i] = Tensor::make(t->shape, t->dtype, Device::cuda);
    uploaded_.push_back(int(i));
  }
  auto copied = [&](int slot) { return std::find(uploaded_.begin(), uploaded_.end(), slot) != uploaded_.end(); };
  for (auto& a : g_.assigns)
    if (copied(a.first)) written_.push_back(a.first);
  for (int r : g_.random_states)
    if (copied(r)) written_.push_back(r);
  ex_ = std::make_unique<Executor>(g_, p_.param_offset_, n, Device::cuda, mirror_);
}

DeviceRunner::~DeviceRunner() = default;

void DeviceRunner::release_data() {
  std::lock_guard<std::mutex> lk(m_);
  host_arrays_.clear();
  device_arrays_.clear();
}

int64_t DeviceRunner::run(Mode mode, BatchSource& source, int64_t max_steps,
                          const std::vector<std::shared_ptr<MetricState>>& states, const std::vector<TensorPtr>& results,
                          bool update_state) {
  std::lock_guard<std::mutex> lk(m_);
  CallScope scope(cuda::backend(), stream_.get());
  upload(mode);
  host_work_ = !results.empty() || std::find(on_device_.begin(), on_device_.end(), false) != on_device_.end();
  Batch batch;
  int64_t done = 0;
  while (done < max_steps && source.next(batch)) {
    if (batch.count == 0) continue;
    p_.check_batch(batch);
    step(mode, batch, states, results, update_state);
    ++done;
  }
  download(mode, update_state, states);
  return done;
}

// The mirrors from the variables (they may have changed since the last call), the accumulators zeroed
// (sized for the metrics added since the program was made).
void DeviceRunner::upload(Mode mode) {
  const size_t pairs = (g_.loss >= 0) + g_.loss_terms.size() + p_.metrics_.size();
  on_device_.resize(p_.metrics_.size(), true);
  const int64_t floats = int64_t(4 * pairs + 4);  // float64 pairs, as float32 storage
  if (!acc_ || acc_->size() < floats) acc_ = Tensor::make(Shape{floats}, DType::f32, Device::cuda);
  for (int i : uploaded_) mirror_[i]->copy_from(*g_.external[i]);
  if (weights_) {
    const Optimizer& opt = *p_.opt_;
    for (size_t k = 0; k < p_.param_values_.size(); ++k) {
      const Tensor& w = *p_.param_values_[k];
      const int64_t at = p_.param_offset_[k];
      copy_floats(weights_->f() + at, w.f(), w.size());
      if (mode == Mode::train)
        for (size_t j = 0; j < slots_.size(); ++j)
          copy_floats(slots_[j]->f() + at, opt.rule_slot(j) + p_.opt_offset_[k], w.size());
    }
  }
  const std::vector<double> zeros(size_t(acc_->size() / 2), 0.0);
  cuda::copy(acc_->data, zeros.data(), zeros.size() * sizeof(double));
}

// What the call changed, back into the variables and the optimizer's state; the accumulators into the
// metric states; the first bad label or id a kernel met, raised.
void DeviceRunner::download(Mode mode, bool update_state, const std::vector<std::shared_ptr<MetricState>>& states) {
  cuda::backend().synchronize();
  if (mode == Mode::train && weights_) {
    const Optimizer& opt = *p_.opt_;
    for (size_t k = 0; k < p_.param_values_.size(); ++k) {
      if (!g_.param_connected[k]) continue;
      Tensor& w = *const_cast<Tensor*>(p_.param_values_[k]);
      const int64_t at = p_.param_offset_[k];
      copy_floats(w.f(), weights_->f() + at, w.size());
      for (size_t j = 0; j < slots_.size(); ++j)
        copy_floats(opt.rule_slot(j) + p_.opt_offset_[k], slots_[j]->f() + at, w.size());
    }
  }
  if (update_state)
    for (int i : written_) g_.external[i]->copy_from(*mirror_[i]);
  if (mode != Mode::predict) {
    std::vector<double> acc(size_t(acc_->size() / 2));
    cuda::copy(acc.data(), acc_->data, acc.size() * sizeof(double));
    const size_t trackers = (g_.loss >= 0) + g_.loss_terms.size();
    for (size_t k = 0; k < trackers; ++k) states[k]->total += acc[2 * k];
    for (size_t m = 0; m < p_.metrics_.size(); ++m) {  // (zeros for a metric folded on the host)
      MetricState& s = *states[trackers + m];
      s.total += acc[2 * (trackers + m)];
      s.count += acc[2 * (trackers + m) + 1];
      s.metric = p_.metrics_[m].metric;
    }
  }
  raise_kernel_error();
}

void DeviceRunner::raise_kernel_error() {
  const KernelError e = cuda::backend().take_error();
  if (e.position < 0) return;
  const std::string kernel = e.kernel, v = std::to_string(e.value), at = std::to_string(e.position),
                    bound = std::to_string(e.bound);
  if (kernel == "sparse_crossentropy_forward")
    fail("sparse_categorical_crossentropy: labels must be in [0, " + bound + "), got " + v + " at position " + at +
         " of a batch");
  if (kernel == "gather_forward")
    fail("gather: indices hold " + v + " at position " + at + ", not in [0, " + bound + ")");
  fail(kernel + ": " + v + " at position " + at + " is not in [0, " + bound + ")");
}

// The batch source's arrays on the device: copied when the batch brings arrays not seen before (an
// in-memory source's whole arrays once per source, a queue's batch each time).
void DeviceRunner::take_inputs(const Batch& batch) {
  const size_t n = g_.inputs.size() + g_.targets.size();
  host_arrays_.resize(n);
  device_arrays_.resize(n);
  for (size_t j = 0; j < n; ++j) {
    const TensorPtr& h = batch.arrays[j];
    if (host_arrays_[j] == h) continue;
    TensorPtr& d = device_arrays_[j];
    if (!d) {
      d = std::make_shared<Tensor>();
      d->device = Device::cuda;
    }
    d->resize(h->shape, h->dtype);
    cuda::copy_async(d->data, h->data, h->nbytes());
    host_arrays_[j] = h;
  }
}

// The step's scalars and rows into the next pinned slot, and one queued copy of it to args_.
void DeviceRunner::stage(Mode mode, const Batch& batch) {
  const CudaBackend& b = cuda::backend();
  const int64_t rows = batch.count;
  if (rows > ring_rows_) {  // a larger batch than any before: larger slots (nothing queued reads the old)
    b.synchronize();
    ring_ = cuda::alloc_pinned(kRing * slot_bytes(rows));
    args_ = Tensor::make(Shape{int64_t(slot_bytes(rows) / 4)}, DType::f32, Device::cuda);
    ring_rows_ = rows;
    ring_at_ = 0;
  }
  char* slot = static_cast<char*>(ring_.get()) + size_t(ring_at_) * slot_bytes(ring_rows_);
  const RuleStep st = mode == Mode::train ? p_.opt_->scalars() : RuleStep{};
  std::memcpy(slot, &st, sizeof st);
  int64_t* r = reinterpret_cast<int64_t*>(slot + kHeader);
  if (batch.rows) std::memcpy(r, batch.rows, size_t(rows) * sizeof(int64_t));
  else std::iota(r, r + rows, int64_t(0));
  cuda::copy_async(args_->data, slot, kHeader + size_t(rows) * sizeof(int64_t));
  if (++ring_at_ == kRing) {  // the copies of every slot have run once the queue drains
    b.synchronize();
    ring_at_ = 0;
  }
}

void DeviceRunner::step(Mode mode, const Batch& batch, const std::vector<std::shared_ptr<MetricState>>& states,
                        const std::vector<TensorPtr>& results, bool update_state) {
  const CudaBackend& b = cuda::backend();
  const int64_t rows = batch.count;
  take_inputs(batch);
  if (rows != constant_rows_) {  // outside any captured step: this copy waits
    for (int c : g_.batch_constants) {
      Tensor& t = *ex_->shard[0].value[c];
      const float f = float(rows);
      const int32_t i = int32_t(rows);
      t.copy_from_host(t.dtype == DType::f32 ? static_cast<const void*>(&f) : static_cast<const void*>(&i));
    }
    constant_rows_ = rows;
  }
  if (mode == Mode::train) p_.opt_->start_step();
  stage(mode, batch);
  const bool replay = graph_ && graph_mode_ == mode && graph_rows_ == rows && graph_update_ == update_state &&
                      cuda::allocations() == graph_allocations_;
  const bool capture = !replay && b.graphs && !host_work_ && mode == last_mode_ && rows == last_rows_ &&
                       update_state == last_update_ && cuda::allocations() == last_allocations_;
  if (replay) {
    b.graph_launch(graph_.get());
  } else if (capture) {
    graph_.reset();
    b.capture_begin();
    cuda::forbid_allocations(true);
    bool captured = true;
    try {
      body(mode, batch, states, results, update_state, true);
    } catch (...) {  // an allocation, or host work: run it uncaptured below (a real error raises there)
      captured = false;
    }
    cuda::forbid_allocations(false);
    void* graph = b.capture_end();
    if (captured && graph) {
      auto free = b.graph_free;
      graph_ = std::shared_ptr<void>(graph, [free](void* g) { free(g); });
      graph_mode_ = mode;
      graph_rows_ = rows;
      graph_update_ = update_state;
      graph_allocations_ = cuda::allocations();
      b.graph_launch(graph);
    } else {
      if (graph) b.graph_free(graph);
      body(mode, batch, states, results, update_state, false);
    }
  } else {
    body(mode, batch, states, results, update_state, false);
  }
  last_mode_ = mode;
  last_rows_ = rows;
  last_update_ = update_state;
  last_allocations_ = cuda::allocations();
  if (mode != Mode::predict)  // the loss and its terms are means over the batches' rows
    for (size_t k = 0; k < (g_.loss >= 0) + g_.loss_terms.size(); ++k) states[k]->count += double(rows);
  if (mode == Mode::train) p_.opt_->finish_step();
}

void DeviceRunner::body(Mode mode, const Batch& batch, const std::vector<std::shared_ptr<MetricState>>& states,
                        const std::vector<TensorPtr>& results, bool update_state, bool capturing) {
  const auto& k = cuda::kernels();
  Executor::Shard& s = ex_->shard[0];
  const int64_t rows = batch.count;
  s.begin = 0;
  s.count = rows;
  s.loss_weight = 1.f;
  const int64_t* staged_rows = reinterpret_cast<const int64_t*>(static_cast<const char*>(args_->data) + kHeader);
  const size_t ni = g_.inputs.size();
  for (size_t j = 0; j < device_arrays_.size(); ++j) {
    const Tensor& src = *device_arrays_[j];
    Tensor& dst = *s.value[j < ni ? g_.inputs[j] : g_.targets[j - ni]];
    Shape shape = src.shape;
    shape.d[0] = rows;
    dst.resize(shape, src.dtype);
    k.gather_rows(src.data, src.size() / std::max<int64_t>(src.shape[0], 1) * 4, staged_rows, rows, dst.data);
  }
  ex_->run_steps(s, mode, ExecCtx{1, 0});
  double* acc = static_cast<double*>(acc_->data);
  if (mode != Mode::predict) {
    size_t a = 0;
    if (g_.loss >= 0) k.accumulate_scalar(s.value[g_.loss]->f(), double(rows), acc + 2 * a++);
    for (int t : g_.loss_terms) k.accumulate_scalar(s.value[t]->f(), double(rows), acc + 2 * a++);
    for (size_t m = 0; m < p_.metrics_.size(); ++m, ++a) {
      const auto& b = p_.metrics_[m];
      const Tensor &y = *s.value[b.y_true], &pred = *s.value[b.y_pred];
      const Tensor* w = b.weight < 0 ? nullptr : s.value[b.weight].get();
      MetricFold f;
      if (on_device_[m] && (!w || w->dtype == DType::f32) && b.metric->device_fold(y, pred, w, f)) {
        k.metric_fold(f, Labels{y.data, y.dtype == DType::i32}, pred.f(), w ? w->f() : nullptr, acc + 2 * a);
        continue;
      }
      on_device_[m] = false;  // from now on this metric folds on the host, and steps are not captured
      host_work_ = true;
      if (capturing) throw std::logic_error("a metric folds on the host");  // step() runs the step again
      const TensorPtr hw = w ? Tensor::on(Device::cpu, s.value[b.weight]) : nullptr;
      b.metric->update(*Tensor::on(Device::cpu, s.value[b.y_true]), *Tensor::on(Device::cpu, s.value[b.y_pred]),
                       hw.get(), *states[(g_.loss >= 0) + g_.loss_terms.size() + m]);
    }
  }
  for (size_t o = 0; o < results.size(); ++o)
    p_.write_rows(o, *Tensor::on(Device::cpu, s.value[g_.outputs[o]]), batch.first, results);
  if (mode == Mode::train) update_params();
  if (update_state) {
    for (auto& a : g_.assigns) {
      Tensor& var = *mirror_[a.first];
      const Tensor& value = *s.value[a.second];
      FF_CHECK(value.shape == var.shape && value.dtype == var.dtype,
               "a traced variable update assigns " + value.desc() + " to a variable of " + var.desc());
      copy_on(Device::cuda, var.data, value.data, var.nbytes());
    }
    for (int r : g_.random_states) advance_random_state(*mirror_[r]);
  }
}

// The optimizer step as fused kernels over the flat ranges: weight decay where it applies, then the rule.
void DeviceRunner::update_params() {
  const auto& k = cuda::kernels();
  const Optimizer& opt = *p_.opt_;
  const RuleStep* st = static_cast<const RuleStep*>(args_->data);
  float* w = weights_->f();
  const float* grads = ex_->shard[0].param_grads->f();
  for (const Decay& d : decays_) k.decay_weights(w + d.offset, d.size, float(opt.cfg.weight_decay), st);
  for (const Range& r : ranges_) {
    RuleSlots slots;
    for (size_t j = 0; j < slots_.size(); ++j) slots.s[j] = slots_[j]->f() + r.begin;
    k.apply_rule(opt.cfg.rule, st, w + r.begin, grads + r.begin, slots, r.end - r.begin, 0, r.end - r.begin);
  }
}

}  // namespace fastfit
