// Optimizer, metric state and Program bindings. The batch loops release the GIL.
#include "bindings/bindings.h"
#include "train/program.h"

namespace fastfit::bind {

void init_train(py::module_& m) {
  py::class_<Optimizer, std::shared_ptr<Optimizer>>(m, "Optimizer")
      .def(py::init([](const std::string& kind, float lr, float momentum, bool nesterov, float rho, bool centered,
                       float beta_1, float beta_2, bool amsgrad, float epsilon) {
             OptimizerConfig c;
             if (kind == "sgd") c.kind = OptKind::sgd;
             else if (kind == "rmsprop") c.kind = OptKind::rmsprop;
             else if (kind == "adam") c.kind = OptKind::adam;
             else throw py::value_error("unknown optimizer kind '" + kind + "'");
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
           py::arg("rho") = 0.9f, py::arg("centered") = false, py::arg("beta_1") = 0.9f, py::arg("beta_2") = 0.999f,
           py::arg("amsgrad") = false, py::arg("epsilon") = 1e-7f)
      .def("apply", &Optimizer::apply, py::arg("variables"), py::arg("gradients"))
      .def_readwrite("iterations", &Optimizer::iterations)
      .def_property(
          "learning_rate", [](const Optimizer& o) { return o.cfg.learning_rate; },
          [](Optimizer& o, float v) { o.cfg.learning_rate = v; });

  py::class_<MetricState, std::shared_ptr<MetricState>>(m, "MetricState")
      .def(py::init<>())
      .def_readwrite("total", &MetricState::total)
      .def_readwrite("count", &MetricState::count)
      .def("reset", &MetricState::reset)
      .def("result", &MetricState::result);

  m.def(
      "metric_update",
      [](const std::string& kind, TensorPtr y, TensorPtr p, MetricState& s, float threshold) {
        metric_named(kind)(threshold, *y, *p, s);
      },
      py::arg("kind"), py::arg("y_true"), py::arg("y_pred"), py::arg("state"), py::arg("threshold") = 0.5f);

  py::class_<DataFeed, std::shared_ptr<DataFeed>>(m, "DataFeed", py::dynamic_attr())
      .def(py::init<std::vector<TensorPtr>, int64_t>(), py::arg("arrays"), py::arg("batch_size"))
      .def(
          "take",
          [](DataFeed& f) {  // the next batch's sample indices, for batches run in Python
            const int64_t count = std::min(f.batch_size, f.n - f.pos);
            py::array_t<int64_t> idx(std::max<int64_t>(count, 0));
            if (count > 0) std::memcpy(idx.mutable_data(), f.order.data() + f.pos, size_t(count) * 8);
            f.pos += std::max<int64_t>(count, 0);
            return idx;
          },
          "Indices of the next batch's samples; advances the position.")
      .def("start_epoch", &DataFeed::start_epoch, py::arg("shuffle"), py::arg("seed") = 0)
      .def_property_readonly("steps", &DataFeed::steps)
      .def_readonly("num_samples", &DataFeed::n)
      .def_readonly("batch_size", &DataFeed::batch_size)
      .def_readonly("position", &DataFeed::pos);

  py::class_<Program, std::shared_ptr<Program>>(m, "Program")
      .def(py::init([](Tape& trace, std::vector<TensorPtr> inputs, std::vector<TensorPtr> targets,
                       std::vector<TensorPtr> outputs, TensorPtr loss, std::vector<TensorPtr> params,
                       std::shared_ptr<Optimizer> opt) {
             return std::make_shared<Program>(trace.records, inputs, targets, outputs, loss, params, opt);
           }),
           py::arg("trace"), py::arg("inputs"), py::arg("targets"), py::arg("outputs"), py::arg("loss").none(true),
           py::arg("params"), py::arg("optimizer").none(true))
      .def("add_metric",
           [](Program& p, const std::string& kind, float threshold, int output, int target,
              std::shared_ptr<MetricState> st) {
             p.add_metric(metric_named(kind), threshold, output, target, std::move(st));
           })
      .def_readwrite("loss_tracker", &Program::loss_tracker)
      .def("train", &Program::train, py::call_guard<py::gil_scoped_release>())
      .def("test", &Program::test, py::call_guard<py::gil_scoped_release>())
      .def("predict", &Program::predict, py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("num_steps", &Program::num_steps)
      .def("splits", &Program::splits, py::arg("mode"), "Batches split across two threads: 0 predict, 1 evaluate, 2 fit.");
}

}  // namespace fastfit::bind
