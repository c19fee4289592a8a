// ParamArena and Optimizer bindings: flat parameter buffers and the optimizer's state, as live views.
#include "bindings/bindings.h"
#include "optim/optimizer.h"

namespace fastfit::bind {
namespace {

OptKind opt_kind(const std::string& name) {
  if (name == "sgd") return OptKind::sgd;
  if (name == "rmsprop") return OptKind::rmsprop;
  if (name == "adam") return OptKind::adam;
  throw py::value_error("unknown optimizer kind '" + name + "'; expected one of: sgd, rmsprop, adam");
}

}  // namespace

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
            auto* keep = new std::shared_ptr<float>(a.buffer());
            py::capsule owner(keep, [](void* p) { delete static_cast<std::shared_ptr<float>*>(p); });
            return py::array_t<float>({a.size()}, {sizeof(float)}, keep->get(), owner);
          },
          "A float32 numpy array over the whole buffer, not a copy (until the arena next grows).");

  py::class_<Optimizer, std::shared_ptr<Optimizer>>(m, "Optimizer")
      .def(py::init([](const std::string& kind, float lr, float momentum, bool nesterov, double rho, bool centered,
                       double beta_1, double beta_2, bool amsgrad, float epsilon) {
             OptimizerConfig c;
             c.kind = opt_kind(kind);
             c.learning_rate = lr;
             c.momentum = momentum;
             c.nesterov = nesterov;
             c.rho = rho;
             c.centered = centered;
             c.beta_1 = beta_1;
             c.beta_2 = beta_2;
             c.amsgrad = amsgrad;
             c.epsilon = epsilon;
             return std::make_shared<Optimizer>(c);
           }),
           py::arg("kind"), py::arg("learning_rate"), py::arg("momentum") = 0.f, py::arg("nesterov") = false,
           py::arg("rho") = 0.9, py::arg("centered") = false, py::arg("beta_1") = 0.9, py::arg("beta_2") = 0.999,
           py::arg("amsgrad") = false, py::arg("epsilon") = 1e-7f)
      .def("build", &Optimizer::build, py::arg("variables"), "State for the variables not seen before.")
      .def("apply", &Optimizer::apply, py::arg("variables"), py::arg("gradients"))
      .def_readwrite("iterations", &Optimizer::iterations)
      .def_property(
          "learning_rate", [](const Optimizer& o) { return o.cfg.learning_rate; },
          [](Optimizer& o, float v) { o.cfg.learning_rate = v; })
      .def_property_readonly("variables", &Optimizer::variables, "The variables served, in build order.")
      .def_property_readonly("num_variables", [](const Optimizer& o) { return o.variables().size(); })
      .def(
          "slot_variables",
          [](const Optimizer& o) {
            py::list out;
            for (auto& s : o.slot_variables()) out.append(py::make_tuple(s.slot, s.var, s.state));
            return out;
          },
          "(slot name, index in `variables`, state tensor) in the order of Keras' optimizer.variables.");
}

}  // namespace fastfit::bind
