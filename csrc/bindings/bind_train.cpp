// Metric state, data feed and Program bindings. The batch loops release the GIL.
#include "bindings/bindings.h"
#include "train/program.h"

namespace fastfit::bind {

namespace {
MetricKind metric_kind(const std::string& name) {
  static const char* names[] = {"mean", "sparse_categorical_accuracy", "categorical_accuracy", "accuracy",
                                "binary_accuracy", "mean_squared_error"};
  for (int k = 0; k < 6; ++k)
    if (name == names[k]) return MetricKind(k);
  throw py::value_error("unknown metric kind '" + name + "'");
}
}  // namespace

void init_train(py::module_& m) {
  py::class_<MetricState, std::shared_ptr<MetricState>>(m, "MetricState")
      .def(py::init<>())
      .def_readwrite("total", &MetricState::total)
      .def_readwrite("count", &MetricState::count)
      .def("reset", &MetricState::reset)
      .def("result", &MetricState::result);

  m.def(
      "metric_update",
      [](const std::string& kind, TensorPtr y, TensorPtr p, MetricState& s, float threshold) {
        metric_update(metric_kind(kind), threshold, *y, *p, s);
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
              std::shared_ptr<MetricState> st) { p.add_metric(metric_kind(kind), threshold, output, target, st); })
      .def_readwrite("loss_tracker", &Program::loss_tracker)
      .def("train", &Program::train, py::call_guard<py::gil_scoped_release>())
      .def("test", &Program::test, py::call_guard<py::gil_scoped_release>())
      .def("predict", &Program::predict, py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("num_steps", &Program::num_steps)
      .def_property_readonly("updates_flat", &Program::updates_flat,
                             "The optimizer step runs as one range (weights packed by flatten_variables).")
      .def("splits", &Program::splits, py::arg("mode"), "Batches split across two threads: 0 predict, 1 evaluate, 2 fit.");
}

}  // namespace fastfit::bind
