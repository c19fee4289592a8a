// Keras 3's base optimizer (keras/src/optimizers/base_optimizer.py, apply and
// _backend_apply_gradients) in its order: unscale, accumulate, clip, decay, update, average.
// Built without FMA contraction, like the rules: each operation rounds once, as Keras' ops do.
#include "optim/optimizer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/denormals.h"
#include "kernels/cpu/kernels.h"

namespace fastfit {
namespace {

constexpr int64_t kBlock = 256;  // floats of transformed gradient at a time, on the stack

// average = mu*average + (1 - mu)*w
FF_MULTIVERSION void moving_average(float* __restrict a, const float* __restrict w, int64_t n, float mu,
                                    float one_minus_mu) {
  for (int64_t i = 0; i < n; ++i) a[i] = mu * a[i] + one_minus_mu * w[i];
}

// Keras' `grads = [g / scale for g in grads]` (loss_scale_factor); g itself without one.
const float* unscale(const float* g, int64_t n, double scale, float* buf) {
  if (!scale) return g;
  const float s = float(scale);
  for (int64_t i = 0; i < n; ++i) buf[i] = g[i] / s;
  return buf;
}

}  // namespace

Optimizer::Optimizer(OptimizerConfig c) : cfg(std::move(c)) {
  auto add = [this](const char* name, int group, float initial) {
    slots_.push_back({name, group, initial, ParamArena(), {}});
  };
  if (cfg.use_ema) add("average", -2, 0.f);  // Keras' base build, before the rule's slots
  if (cfg.gradient_accumulation_steps) add("gradient_accumulator", -1, 0.f);
  rule_slot_ = slots_.size();
  for (const SlotSpec& s : rule_slots(cfg.rule)) add(s.name, s.group, s.initial);
  if (cfg.rule.kind == OptKind::nadam) {
    u_product_ = Tensor::make(Shape{});
    u_product_->f()[0] = 1.f;
  }
}

void Optimizer::build(const std::vector<TensorPtr>& vars) {
  for (size_t i = 0; i < vars.size(); ++i) {
    FF_CHECK(vars[i], "optimizer.build: variables[" + std::to_string(i) + "] is None; expected a float32 variable");
    FF_CHECK(vars[i]->dtype == DType::f32, "optimizer.build: variables[" + std::to_string(i) +
                                               "] must be float32, got " + vars[i]->desc());
  }
  if (!built_ && !vars.empty()) device_ = vars[0]->device;
  for (size_t i = 0; i < vars.size(); ++i)
    FF_CHECK(vars[i]->device == device_, "optimizer.build: variables[" + std::to_string(i) + "] is on the " +
                                             device_name(vars[i]->device) + ", the optimizer's variables on the " +
                                             device_name(device_) + ": one optimizer serves variables of one device");
  built_ = true;
  std::vector<TensorPtr> fresh;
  std::vector<char> decay;
  for (auto& v : vars) {
    if (index_.count(v.get()) || std::find(fresh.begin(), fresh.end(), v) != fresh.end()) continue;
    fresh.push_back(v);
    decay.push_back(cfg.weight_decay != 0 && (!decays || decays(v)));  // may call Python: before any change
  }
  if (fresh.empty()) return;
  for (auto& v : fresh) {
    index_.emplace(v.get(), vars_.size());
    vars_.push_back(v);
    layout_.append(v->size());
  }
  decay_.insert(decay_.end(), decay.begin(), decay.end());
  squares_.resize(vars_.size());
  clip_.resize(vars_.size());
  for (Slot& s : slots_) {
    std::vector<TensorPtr> state;
    for (auto& v : fresh) {
      state.push_back(Tensor::make(v->shape, DType::f32, device_));  // the arena copies the value in
      state.back()->fill(s.initial);
    }
    s.arena.adopt(state);
    s.state.insert(s.state.end(), state.begin(), state.end());
  }
}

std::vector<Optimizer::SlotVariable> Optimizer::slot_variables() const {
  std::vector<SlotVariable> out;
  for (size_t first = 0, end; first < slots_.size(); first = end) {
    for (end = first + 1; end < slots_.size() && slots_[end].group == slots_[first].group;) ++end;
    for (size_t k = 0; k < vars_.size(); ++k)
      for (size_t s = first; s < end; ++s) out.push_back({slots_[s].name, int64_t(k), slots_[s].state[k]});
  }
  if (u_product_ && built_) out.push_back({"variable", -1, u_product_});  // Keras' unnamed Variable
  return out;
}

int64_t Optimizer::offset(const Tensor& var) const {
  auto it = index_.find(&var);
  return it == index_.end() ? -1 : layout_.offsets[it->second];
}

size_t Optimizer::index(const Tensor& var) const {
  auto it = index_.find(&var);
  FF_CHECK(it != index_.end(), "optimizer: a variable it was not built on");
  return it->second;
}

int64_t Optimizer::step() const {
  const int64_t every = cfg.gradient_accumulation_steps;
  return every ? iterations / every : iterations;
}

void Optimizer::start_step() {
  FlushDenormals flush;
  const int64_t every = cfg.gradient_accumulation_steps;
  applies_ = !every || (iterations + 1) % every == 0;
  needs_norms_ = applies_ && (cfg.clipnorm > 0 || cfg.global_clipnorm > 0);
  transforms_ = cfg.loss_scale_factor || every || cfg.clipnorm > 0 || cfg.global_clipnorm > 0 || cfg.clipvalue > 0;
  if (!applies_) return;  // Keras reads the learning rate only on the steps that apply the gradients
  // A schedule sees every call to apply, accumulating or not (Keras' _iterations).
  const float lr = cfg.learning_rate.value(double(iterations));
  float no_product = 1.f;
  rule_ = step_scalars(cfg.rule, lr, step(), u_product_ ? u_product_->f()[0] : no_product);
  std::fill(squares_.begin(), squares_.end(), 0.0);  // variables without a gradient add nothing
  if (device_ == Device::cuda) {
    static_assert(sizeof(RuleStep) % 4 == 0, "RuleStep is copied as floats");
    if (!rule_on_device_) rule_on_device_ = Tensor::make(Shape{int64_t(sizeof(RuleStep) / 4)}, DType::f32, device_);
    rule_on_device_->copy_from_host(&rule_);
  }
}

const char* Optimizer::gpu_unsupported() const {
  if (cfg.rule.kind == OptKind::ftrl) return "the Ftrl optimizer";
  if (cfg.clipnorm > 0) return "clipnorm";
  if (cfg.clipvalue > 0) return "clipvalue";
  if (cfg.global_clipnorm > 0) return "global_clipnorm";
  if (cfg.use_ema) return "use_ema";
  if (cfg.gradient_accumulation_steps) return "gradient_accumulation_steps";
  if (cfg.loss_scale_factor) return "loss_scale_factor";
  return nullptr;
}

const float* Optimizer::prepare(const float* g, int64_t at, int64_t n, float* buf) const {
  g = unscale(g, n, cfg.loss_scale_factor, buf);
  if (!cfg.gradient_accumulation_steps) return g;
  const float* acc = slots_[rule_slot_ - 1].arena.buffer().get() + at;
  const float every = float(cfg.gradient_accumulation_steps);
  for (int64_t i = 0; i < n; ++i) buf[i] = (g[i] + acc[i]) / every;
  return buf;
}

void Optimizer::add_squares(const float* g, int64_t offset) {
  const size_t k = std::upper_bound(layout_.offsets.begin(), layout_.offsets.end(), offset) - layout_.offsets.begin();
  FF_CHECK(k > 0 && layout_.offsets[k - 1] == offset, "add_squares: no variable starts at " + std::to_string(offset));
  FlushDenormals flush;
  const int64_t n = vars_[k - 1]->size();
  float buf[kBlock];
  double lanes[8] = {};  // squares rounded to float32 as Keras' ops.square, summed in double, lane by lane
  for (int64_t i = 0; i < n; i += kBlock) {
    const int64_t m = std::min(kBlock, n - i);
    const float* p = prepare(g + i, offset + i, m, buf);
    for (int64_t j = 0; j < m; ++j) lanes[j % 8] += double(p[j] * p[j]);
  }
  squares_[k - 1] = ((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]));
}

void Optimizer::finish_norms() {
  FlushDenormals flush;
  if (cfg.clipnorm > 0) {  // tf.clip_by_norm: g * c / max(norm, c), per variable
    const float c = float(cfg.clipnorm);
    for (size_t k = 0; k < vars_.size(); ++k) {
      const float sum = float(squares_[k]);
      clip_[k] = std::max(sum > 0.f ? std::sqrt(sum) : sum, c);
    }
    return;
  }
  // clip_by_global_norm: each variable's sum in float32, as Keras stacks them, then their sum
  double total = 0;
  for (double s : squares_) total += float(s);
  const float norm = std::sqrt(float(total)), c = float(cfg.global_clipnorm);
  const float scale = c * std::min(1.f / norm, float(1.0 / cfg.global_clipnorm)) + (norm - norm);  // NaN if not finite
  std::fill(clip_.begin(), clip_.end(), scale);
}

void Optimizer::update(float* w, const float* g, int64_t offset, int64_t n) const {
  if (n <= 0) return;
  FlushDenormals flush;
  const auto& offsets = layout_.offsets;
  const int64_t end = offset + n;
  size_t k = std::upper_bound(offsets.begin(), offsets.end(), offset) - offsets.begin();
  for (k = k ? k - 1 : 0; k < vars_.size() && offsets[k] < end; ++k) {
    const int64_t b = std::max(offset, offsets[k]), e = std::min(end, offsets[k] + vars_[k]->size());
    if (b < e) update_variable(k, w + (b - offset), g + (b - offset), b, e - b);
  }
}

void Optimizer::update_variable(size_t k, float* w, const float* g, int64_t at, int64_t n) const {
  auto state = [&](size_t slot) { return slots_[slot].arena.buffer().get() + at; };
  const int64_t first = at - layout_.offsets[k];  // of w[0] in its variable
  float buf[kBlock];
  if (!applies_) {  // only accumulate: acc = acc + g
    float* acc = state(rule_slot_ - 1);
    for (int64_t i = 0; i < n; i += kBlock) {
      const int64_t m = std::min(kBlock, n - i);
      const float* p = unscale(g + i, m, cfg.loss_scale_factor, buf);
      for (int64_t j = 0; j < m; ++j) acc[i + j] = acc[i + j] + p[j];
    }
    return;
  }
  RuleSlots s;
  for (size_t j = rule_slot_; j < slots_.size(); ++j) s.s[j - rule_slot_] = state(j);
  if (device_ == Device::cuda) {  // the rule and the decay as kernels (apply checked gpu_unsupported)
    const RuleStep* st = static_cast<const RuleStep*>(rule_on_device_->data);
    if (decay_[k]) FF_DISPATCH(device_, decay_weights)(w, n, float(cfg.weight_decay), st);
    FF_DISPATCH(device_, apply_rule)(cfg.rule, st, w, g, s, n, first, vars_[k]->size());
    return;
  }
  if (!transforms_ && !decay_[k]) {  // the gradient as given, straight to the rule
    cpu::apply_rule(cfg.rule, &rule_, w, g, s, n, first, vars_[k]->size());
    return;
  }
  const float wd = float(cfg.weight_decay);
  for (int64_t i = 0; i < n; i += kBlock) {
    const int64_t m = std::min(kBlock, n - i);
    const float* p = prepare(g + i, at + i, m, buf);
    if (cfg.clipnorm > 0) {
      const float c = float(cfg.clipnorm), divisor = clip_[k];
      for (int64_t j = 0; j < m; ++j) buf[j] = p[j] * c / divisor;
      p = buf;
    } else if (cfg.global_clipnorm > 0) {
      for (int64_t j = 0; j < m; ++j) buf[j] = p[j] * clip_[k];
      p = buf;
    } else if (cfg.clipvalue > 0) {
      const float v = float(cfg.clipvalue);
      for (int64_t j = 0; j < m; ++j) buf[j] = std::max(std::min(p[j], v), -v);
      p = buf;
    }
    if (decay_[k]) cpu::decay_weights(w + i, m, wd, &rule_);  // decoupled, before the rule
    RuleSlots si;
    for (int j = 0; j < kMaxRuleSlots; ++j) si.s[j] = s.s[j] ? s.s[j] + i : nullptr;
    cpu::apply_rule(cfg.rule, &rule_, w + i, p, si, m, first + i, vars_[k]->size());
  }
}

void Optimizer::finish_step() {
  FlushDenormals flush;
  if (cfg.use_ema) {  // every variable served, with a gradient this step or not
    const float mu = step() != 0 ? float(cfg.ema_momentum) : 0.f;  // the first step copies the weights
    const bool overwrite = cfg.ema_overwrite_frequency && (step() + 1) % cfg.ema_overwrite_frequency == 0;
    for (size_t k = 0; k < vars_.size(); ++k) {
      float* average = slots_[0].arena.buffer().get() + layout_.offsets[k];
      moving_average(average, vars_[k]->f(), vars_[k]->size(), mu, 1.f - mu);
      if (overwrite) std::memcpy(vars_[k]->f(), average, vars_[k]->nbytes());
    }
  }
  if (cfg.gradient_accumulation_steps && applies_ && !vars_.empty()) {
    const ParamArena& acc = slots_[rule_slot_ - 1].arena;
    std::memset(acc.buffer().get(), 0, size_t(acc.size()) * sizeof(float));
  }
  ++iterations;
}

void Optimizer::apply(const std::vector<TensorPtr>& vars, const std::vector<TensorPtr>& grads) {
  FF_CHECK(vars.size() == grads.size(), "apply_gradients: got " + std::to_string(grads.size()) + " gradients for " +
                                            std::to_string(vars.size()) + " variables");
  for (size_t i = 0; i < vars.size(); ++i) {
    FF_CHECK(grads[i] && vars[i], "apply_gradients: pair " + std::to_string(i) + " holds None");
    FF_CHECK(grads[i]->shape == vars[i]->shape, "apply_gradients: gradient of shape " + grads[i]->shape.str() +
                                                    " for a variable of shape " + vars[i]->shape.str());
    FF_CHECK(grads[i]->dtype == DType::f32, "apply_gradients: gradients must be float32, got " + grads[i]->desc());
  }
  build(vars);
  if (device_ == Device::cuda && gpu_unsupported())
    throw NotImplemented(std::string("apply_gradients: ") + gpu_unsupported() +
                         " is not supported yet for variables on the GPU");
  std::vector<TensorPtr> local;  // each gradient on its variable's device
  for (auto& g : grads) local.push_back(Tensor::on(device_, g));
  start_step();
  if (clips_by_norm()) {
    for (size_t i = 0; i < vars.size(); ++i) add_squares(local[i]->f(), offset(*vars[i]));
    finish_norms();
  }
  for (size_t i = 0; i < vars.size(); ++i) update(vars[i]->f(), local[i]->f(), offset(*vars[i]), vars[i]->size());
  finish_step();
}

}  // namespace fastfit
