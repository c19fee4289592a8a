// Learning-rate schedules, op for op as keras/src/optimizers/schedules/learning_rate_schedule.py
// computes them in float32 (built without FMA contraction: each operation rounds once).
#include "optim/schedule.h"

#include <algorithm>
#include <cmath>

#include "core/denormals.h"

namespace fastfit {
namespace {

constexpr float kPi = float(M_PI);

// CosineDecay._decay_function: from * ((1 - alpha) * 0.5 * (1 + cos(pi * step / steps)) + alpha).
float cosine_decay(float step, float steps, float from, double alpha) {
  const float cosine_decayed = 0.5f * (1.f + std::cos(kPi * (step / steps)));
  return from * (float(1.0 - alpha) * cosine_decayed + float(alpha));
}

}  // namespace

float Schedule::value(double step_count) const {
  if (kind == Kind::python) return python(int64_t(step_count));
  FlushDenormals flush;  // as TensorFlow runs Keras' ops
  const float lr0 = float(initial_learning_rate), steps = float(decay_steps), rate = float(decay_rate);
  float step = float(step_count);
  switch (kind) {
    case Kind::constant:
      return lr0;
    case Kind::exponential: {
      const float p = staircase ? std::floor(step / steps) : step / steps;
      return lr0 * std::pow(rate, p);
    }
    case Kind::piecewise: {  // values[i] for boundaries[i-1] < step <= boundaries[i]
      const size_t i = std::lower_bound(boundaries.begin(), boundaries.end(), step_count) - boundaries.begin();
      return float(values[i]);
    }
    case Kind::polynomial: {
      float until = steps;
      if (cycle) until = steps * (step == 0.f ? 1.f : std::ceil(step / steps));  // the next multiple of decay_steps
      else step = std::min(step, steps);
      const float end = float(end_learning_rate);
      return (lr0 - end) * std::pow(1.f - step / until, float(power)) + end;
    }
    case Kind::inverse_time: {
      const float p = staircase ? std::floor(step / steps) : step / steps;
      return lr0 / (1.f + rate * p);
    }
    case Kind::cosine: {
      if (!warmup) return cosine_decay(std::min(step, steps), steps, lr0, alpha);
      const float target = float(warmup_target), warm = float(warmup_steps);
      step = std::min(step, steps + warm);
      if (step < warm) return (target - lr0) * (step / warm) + lr0;
      return cosine_decay(step - warm, steps, target, alpha);
    }
    case Kind::cosine_restarts: {
      const float t_mul_f = float(t_mul), alpha_f = float(alpha);
      float fraction = step / steps, restart;
      if (t_mul_f == 1.f) {
        restart = std::floor(fraction);
        fraction -= restart;
      } else {  // periods grow by t_mul: restart i begins at (1 - t_mul^i) / (1 - t_mul) periods
        restart = std::floor(std::log(1.f - fraction * (1.f - t_mul_f)) / std::log(t_mul_f));
        const float before = (1.f - std::pow(t_mul_f, restart)) / (1.f - t_mul_f);
        fraction = (fraction - before) / std::pow(t_mul_f, restart);
      }
      const float cosine_decayed = 0.5f * std::pow(float(m_mul), restart) * (1.f + std::cos(kPi * fraction));
      return lr0 * ((1.f - alpha_f) * cosine_decayed + alpha_f);
    }
    case Kind::python:  // called above, without flushing denormals in Python's arithmetic
      break;
  }
  return lr0;
}

}  // namespace fastfit
