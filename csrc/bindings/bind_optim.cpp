// ParamArena, Optimizer and Schedule bindings: flat parameter buffers and the optimizer's state, as
// live views; the configurations as plain records that Python fills by Keras' argument names.
#include <pybind11/functional.h>

#include "bindings/bindings.h"
#include "optim/optimizer.h"

namespace fastfit::bind {

void init_optim(py::module_& m) {
  py::class_<ParamArena, std::shared_ptr<ParamArena>>(m, "ParamArena", R"pbdoc(
      Float32 variables packed into one 64-byte aligned buffer; each variable's memory is its slice.)pbdoc")
      .def(py::init<>())
      .def("adopt", &ParamArena::adopt, py::arg("variables"), R"pbdoc(
          Appends the variables: copies their values in and moves their memory here (the Python
          objects stay the same). A variable in another arena leaves it.)pbdoc")
      .def_property_readonly("variables", &ParamArena::variables, "The variables whose memory is here, in order.")
      .def_property_readonly("offsets", &ParamArena::offsets, "Where each of `variables` starts, in floats.")
      .def_property_readonly("size", &ParamArena::size, "Floats in the buffer (slices padded to 64 bytes).")
      .def(
          "buffer",
          [](const ParamArena& a) {  // the capsule keeps the buffer alive as long as the array
            FF_CHECK(a.device() == Device::cpu, "ParamArena.buffer: the arena lives on the GPU; read its "
                                                "variables with .numpy() instead");
            auto* keep = new std::shared_ptr<float>(a.buffer());
            py::capsule owner(keep, [](void* p) { delete static_cast<std::shared_ptr<float>*>(p); });
            return py::array_t<float>({a.size()}, {sizeof(float)}, keep->get(), owner);
          },
          "A float32 numpy array over the whole buffer, not a copy (until the arena next grows).");

  py::enum_<OptKind>(m, "OptKind")
      .value("sgd", OptKind::sgd)
      .value("rmsprop", OptKind::rmsprop)
      .value("adam", OptKind::adam)
      .value("adagrad", OptKind::adagrad)
      .value("adadelta", OptKind::adadelta)
      .value("adamax", OptKind::adamax)
      .value("nadam", OptKind::nadam)
      .value("ftrl", OptKind::ftrl)
      .value("lion", OptKind::lion);
  py::class_<RuleConfig>(m, "RuleConfig", "An update rule's hyperparameters, by Keras' names.")
      .def(py::init<>())
      .def_readwrite("kind", &RuleConfig::kind)
      .def_readwrite("momentum", &RuleConfig::momentum)
      .def_readwrite("nesterov", &RuleConfig::nesterov)
      .def_readwrite("rho", &RuleConfig::rho)
      .def_readwrite("centered", &RuleConfig::centered)
      .def_readwrite("beta_1", &RuleConfig::beta_1)
      .def_readwrite("beta_2", &RuleConfig::beta_2)
      .def_readwrite("amsgrad", &RuleConfig::amsgrad)
      .def_readwrite("epsilon", &RuleConfig::epsilon)
      .def_readwrite("initial_accumulator_value", &RuleConfig::initial_accumulator_value)
      .def_readwrite("learning_rate_power", &RuleConfig::learning_rate_power)
      .def_readwrite("l1_regularization_strength", &RuleConfig::l1_regularization_strength)
      .def_readwrite("l2_regularization_strength", &RuleConfig::l2_regularization_strength)
      .def_readwrite("l2_shrinkage_regularization_strength", &RuleConfig::l2_shrinkage_regularization_strength)
      .def_readwrite("beta", &RuleConfig::beta);

  using Kind = Schedule::Kind;
  py::enum_<Kind>(m, "ScheduleKind")
      .value("constant", Kind::constant)
      .value("exponential", Kind::exponential)
      .value("piecewise", Kind::piecewise)
      .value("polynomial", Kind::polynomial)
      .value("inverse_time", Kind::inverse_time)
      .value("cosine", Kind::cosine)
      .value("cosine_restarts", Kind::cosine_restarts)
      .value("python", Kind::python);
  py::class_<Schedule>(m, "Schedule", "A learning-rate schedule, evaluated in C++ from the step count.")
      .def(py::init<>())
      .def_readwrite("kind", &Schedule::kind)
      .def_readwrite("initial_learning_rate", &Schedule::initial_learning_rate)
      .def_readwrite("decay_steps", &Schedule::decay_steps)
      .def_readwrite("decay_rate", &Schedule::decay_rate)
      .def_readwrite("staircase", &Schedule::staircase)
      .def_readwrite("boundaries", &Schedule::boundaries)
      .def_readwrite("values", &Schedule::values)
      .def_readwrite("end_learning_rate", &Schedule::end_learning_rate)
      .def_readwrite("power", &Schedule::power)
      .def_readwrite("cycle", &Schedule::cycle)
      .def_readwrite("alpha", &Schedule::alpha)
      .def_readwrite("warmup", &Schedule::warmup)
      .def_readwrite("warmup_target", &Schedule::warmup_target)
      .def_readwrite("warmup_steps", &Schedule::warmup_steps)
      .def_readwrite("t_mul", &Schedule::t_mul)
      .def_readwrite("m_mul", &Schedule::m_mul)
      .def_readwrite("python", &Schedule::python, "f(step) -> float, for a schedule computed in Python")
      .def("value", &Schedule::value, py::arg("step"), "The learning rate at `step`, in float32.");

  py::class_<OptimizerConfig>(m, "OptimizerConfig", "Keras' base optimizer arguments (0 or False: off).")
      .def(py::init<>())
      .def_readwrite("rule", &OptimizerConfig::rule)
      .def_readwrite("learning_rate", &OptimizerConfig::learning_rate)
      .def_readwrite("weight_decay", &OptimizerConfig::weight_decay)
      .def_readwrite("clipnorm", &OptimizerConfig::clipnorm)
      .def_readwrite("clipvalue", &OptimizerConfig::clipvalue)
      .def_readwrite("global_clipnorm", &OptimizerConfig::global_clipnorm)
      .def_readwrite("use_ema", &OptimizerConfig::use_ema)
      .def_readwrite("ema_momentum", &OptimizerConfig::ema_momentum)
      .def_readwrite("ema_overwrite_frequency", &OptimizerConfig::ema_overwrite_frequency)
      .def_readwrite("gradient_accumulation_steps", &OptimizerConfig::gradient_accumulation_steps)
      .def_readwrite("loss_scale_factor", &OptimizerConfig::loss_scale_factor);

  py::class_<Optimizer, std::shared_ptr<Optimizer>>(m, "Optimizer")
      .def(py::init<OptimizerConfig>(), py::arg("config"))
      .def("build", &Optimizer::build, py::arg("variables"), "State for the variables not seen before.")
      .def("apply", &Optimizer::apply, py::arg("variables"), py::arg("gradients"))
      .def_readwrite("iterations", &Optimizer::iterations)
      .def_property(
          "schedule", [](const Optimizer& o) { return o.cfg.learning_rate; },
          [](Optimizer& o, const Schedule& s) { o.cfg.learning_rate = s; }, "The learning rate's schedule (a copy).")
      .def_property(
          "learning_rate", [](const Optimizer& o) { return float(o.cfg.learning_rate.initial_learning_rate); },
          [](Optimizer& o, double v) { o.cfg.learning_rate.initial_learning_rate = v; },
          "The constant learning rate (a `constant` schedule's value), float32.")
      .def_readwrite("decays", &Optimizer::decays, "f(variable) -> whether weight decay applies, asked at build.")
      .def_property_readonly("built", &Optimizer::built)
      .def_property_readonly("variables", &Optimizer::variables, "The variables served, in build order.")
      .def_property_readonly("num_variables", [](const Optimizer& o) { return o.variables().size(); })
      .def(
          "slot_variables",
          [](const Optimizer& o) {
            py::list out;
            for (auto& s : o.slot_variables()) out.append(py::make_tuple(s.slot, s.var, s.state));
            return out;
          },
          "(slot name, index in `variables` or -1 for the optimizer's own, state tensor) in the order of "
          "Keras' optimizer.variables.");
}

}  // namespace fastfit::bind
