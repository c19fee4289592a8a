// Learning-rate schedules: Keras 3's (keras/src/optimizers/schedules), evaluated from the step count.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

namespace fastfit {

// The arguments are kept as Keras takes them (doubles); value() rounds them to float32 where Keras
// casts them to the learning rate's dtype and computes every operation in float32, as Keras does.
struct Schedule {
  enum class Kind { constant, exponential, piecewise, polynomial, inverse_time, cosine, cosine_restarts, python };
  Kind kind = Kind::constant;
  double initial_learning_rate = 0.01;  // the value itself for `constant`
  double decay_steps = 1, decay_rate = 0;  // first_decay_steps for cosine_restarts
  bool staircase = false;
  std::vector<double> boundaries, values;  // piecewise
  double end_learning_rate = 1e-4, power = 1;
  bool cycle = false;
  double alpha = 0;
  bool warmup = false;  // cosine: warmup_target given
  double warmup_target = 0, warmup_steps = 0;
  double t_mul = 2, m_mul = 1;
  std::function<float(int64_t)> python;  // a user schedule or callable, called with the GIL taken

  float value(double step) const;
};

}  // namespace fastfit
