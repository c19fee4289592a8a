// Metric state, data feed and Program bindings. The batch loops release the GIL.
#include <algorithm>

#include "bindings/bindings.h"
#include "data/batch_source.h"
#include "train/program.h"

namespace fastfit::bind {
namespace {

py::object result_object(const std::vector<double>& r, bool scalar) {
  if (scalar) return py::float_(r[0]);
  return py::array_t<double>(py::ssize_t(r.size()), r.data());
}

Mode mode_named(const std::string& mode) {
  if (mode == "train") return Mode::train;
  if (mode == "test") return Mode::test;
  if (mode == "predict") return Mode::predict;
  throw py::value_error("Program: mode must be 'train', 'test' or 'predict', got '" + mode + "'");
}

}  // namespace

void init_train(py::module_& m) {
  py::class_<MetricState, std::shared_ptr<MetricState>>(m, "MetricState")
      .def(py::init<>())
      .def_readwrite("total", &MetricState::total)
      .def_readwrite("count", &MetricState::count)
      .def_property_readonly("acc", [](const MetricState& s) { return s.acc; }, "A copy of the other accumulators.")
      .def_property_readonly(
          "folded", [](const MetricState& s) { return bool(s.metric); }, "Whether a batch has been folded in.")
      .def("reset", &MetricState::reset)
      .def(
          "result", [](const MetricState& s) { return result_object(s.result(), !s.metric || s.metric->scalar()); },
          "The value of the metric that folded into it: a float, or an array for a metric of several values "
          "(per threshold, class); total / count before any.")
      .def(
          "copy_from", [](MetricState& s, const MetricState& other) { s = other; }, py::arg("other"),
          "Becomes a copy of `other` (its totals, accumulators and metric).")
      .def(
          "restore",
          [](MetricState& s, double total, double count, std::vector<double> acc, std::shared_ptr<Metric> metric) {
            s.total = total;
            s.count = count;
            s.acc = std::move(acc);
            s.metric = std::move(metric);
          },
          py::arg("total"), py::arg("count"), py::arg("acc"), py::arg("metric").none(true),
          "Sets the state saved from `total`, `count` and `acc` (a checkpoint's), as folded by `metric` "
          "(None: no batch folded yet).");

  py::class_<Metric, std::shared_ptr<Metric>>(m, "Metric", "A built-in metric's accumulator, configured.")
      .def(py::init([](const std::string& kind, const py::kwargs& attrs) {
             return std::const_pointer_cast<Metric>(make_metric(kind, attrs_from(attrs)));
           }),
           py::arg("kind"))
      .def(
          "update",
          [](const Metric& metric, TensorPtr y, TensorPtr p, TensorPtr w, MetricState& s) {
            FF_CHECK(y && p, "metric update: y_true and y_pred must be tensors, got None");
            const Device host = Device::cpu;  // metrics fold on the host: GPU values are copied here
            metric.update(*Tensor::on(host, y), *Tensor::on(host, p), Tensor::on(host, w).get(), s);
          },
          py::arg("y_true"), py::arg("y_pred"), py::arg("sample_weight").none(true), py::arg("state"),
          "Folds one batch into `state`, each value weighted by `sample_weight` (None: 1).")
      .def(
          "result",
          [](const Metric& metric, const MetricState& s) { return result_object(metric.result(s), metric.scalar()); },
          py::arg("state"), "This metric's value of `state`: a float, or an array (per threshold, class, ...).");

  py::class_<Trace, std::shared_ptr<Trace>>(m, "Trace")
      .def(py::init([](Tape& tape, std::vector<TensorPtr> inputs, std::vector<TensorPtr> targets,
                       std::vector<TensorPtr> outputs, TensorPtr loss, std::vector<TensorPtr> labels,
                       std::vector<TensorPtr> loss_terms) {
             auto t = std::make_shared<Trace>();
             t->records = tape.records;
             t->assigns = tape.assigns;
             t->inputs = std::move(inputs);
             t->targets = std::move(targets);
             t->outputs = std::move(outputs);
             t->loss = std::move(loss);
             t->labels = std::move(labels);
             t->loss_terms = std::move(loss_terms);
             return t;
           }),
           py::arg("tape"), py::arg("inputs"), py::arg("targets"), py::arg("outputs"), py::arg("loss").none(true),
           py::arg("labels") = std::vector<TensorPtr>{}, py::arg("loss_terms") = std::vector<TensorPtr>{},
           "The ops a tracing tape recorded, with the call's inputs, targets, outputs and loss; `labels`: what "
           "metrics read (targets, weights, outputs, values computed from them; empty: the targets); `loss_terms`: "
           "scalars tracked beside the loss (per-output losses).")
      .def_property_readonly("num_ops", [](const Trace& t) { return t.records.size(); })
      .def(
          "first_reader",
          [](const Trace& t, const std::vector<TensorPtr>& tensors, size_t after) -> int64_t {
            for (size_t i = after; i < t.records.size(); ++i)
              for (auto& x : t.records[i].in)
                for (auto& y : tensors)
                  if (x == y) return int64_t(i);
            return -1;
          },
          py::arg("tensors"), py::arg("after") = 0,
          "The index of the first op from record `after` on that reads one of `tensors`, or -1.")
      .def_property_readonly(
          "state_tensors",
          [](const Trace& t) {
            std::vector<TensorPtr> out;
            auto add = [&](const TensorPtr& x) {
              if (std::find(out.begin(), out.end(), x) == out.end()) out.push_back(x);
            };
            for (auto& a : t.assigns) add(a.variable);
            for (auto& r : t.records)
              if (r.op->random_state() >= 0) add(r.in[r.op->random_state()]);
            return out;
          },
          "The variables a replay changes besides the trained ones: those assigned, and random generator states.");

  m.def(
      "compare_traces",
      [](const Trace& a, const Trace& b) {
        std::vector<TensorPtr> batch_constants;
        std::string why = compare_traces(a, b, batch_constants);
        return py::make_tuple(why, batch_constants);
      },
      py::arg("a"), py::arg("b"),
      "(why the traces differ or '', the constants of `a` that hold the batch size).");

  py::class_<VariableUpdate, std::shared_ptr<VariableUpdate>>(m, "VariableUpdate")
      .def(py::init<const Trace&>(), py::arg("trace"),
           "The trace's ops on variables and its assigns, replayable (a trace with no inputs).")
      .def(
          "run",
          [](VariableUpdate& u) {
            py::gil_scoped_release nogil;
            u.run();
          },
          "Computes the values from the variables now and assigns them.");

  py::class_<Program, std::shared_ptr<Program>>(m, "Program")
      .def(py::init([](const Trace& trace, const std::vector<TensorPtr>& batch_constants,
                       const std::vector<TensorPtr>& params, std::shared_ptr<Optimizer> optimizer,
                       const std::string& device) {
             if (device != "CPU" && device != "GPU")
               throw py::value_error("Program: device must be 'CPU' or 'GPU', got '" + device + "'");
             FF_CHECK(device == "CPU" || cuda::is_available(), "Program: no GPU is available");
             return std::make_shared<Program>(trace, batch_constants, params, std::move(optimizer),
                                              device == "GPU" ? Device::cuda : Device::cpu);
           }),
           py::arg("trace"), py::arg("batch_constants"), py::arg("params"), py::arg("optimizer").none(true),
           py::arg("device") = "CPU",
           "A compiled program; on 'GPU' an optimizer option without a GPU kernel raises NotImplementedError.")
      .def_property_readonly("device", [](const Program& p) { return std::string(device_name(p.device())); })
      .def("release_data", &Program::release_data,
           "Drops the device copies of the batch sources' arrays (a GPU program, after fit or evaluate).")
      .def("add_metric", &Program::add_metric, py::arg("metric"), py::arg("y_true"), py::arg("y_pred"),
           py::arg("weight") = -1,
           "Binds `metric` to the trace's labels `y_true` and `y_pred`, weighted by label `weight` (-1: none).")
      .def(
          "run",
          [](Program& p, const std::string& mode, BatchSource& source, int64_t max_steps,
             const std::vector<std::shared_ptr<MetricState>>& states, const std::vector<TensorPtr>& results,
             bool update_state) {
            const Mode m = mode_named(mode);
            py::gil_scoped_release nogil;
            return p.run(m, source, max_steps, states, results, update_state);
          },
          py::arg("mode"), py::arg("source"), py::arg("max_steps"), py::arg("states"), py::arg("results"),
          py::arg("update_state") = true,
          "Runs up to max_steps batches of the source; returns how many ran (fewer: the source ran out).")
      .def(
          "call",
          [](Program& p, const std::string& mode, const std::vector<TensorPtr>& arrays,
             const std::vector<std::shared_ptr<MetricState>>& states) {
            py::gil_scoped_release nogil;
            return p.call(mode_named(mode), arrays, states);
          },
          py::arg("mode"), py::arg("arrays"), py::arg("states"),
          "Runs one batch made of `arrays` (a compiled tf.function's call): returns the loss and its terms as new "
          "scalars (their trackers, the first states, restart at zero), then the outputs as new tensors.")
      .def_property_readonly("num_steps", &Program::num_steps)
      .def_property_readonly(
          "op_names",
          [](const Program& p) {
            std::vector<std::string> names;
            for (auto& s : p.graph().steps) names.push_back(s.op->registry_name());
            return names;
          },
          "The registry names of the ops the program runs, in order (after fusions: train/fusion.h).")
      .def(
          "splits",
          [](const Program& p, const std::string& mode) {
            return p.graph().splits(mode_named(mode));
          },
          py::arg("mode"), "Whether batches of this mode may be split between two shards.")
      .def("set_after_update", &Program::set_after_update, py::arg("update"),
           "Runs `update` (a VariableUpdate: the weight constraints) after every optimizer step.")
      .def_property_readonly(
          "connected",
          [](const Program& p) {
            const auto& c = p.graph().param_connected;
            return std::vector<bool>(c.begin(), c.end());
          },
          "Per trained variable: whether the loss depends on it (the others get no gradient and no update).")
      .def_property_readonly("updates_flat", &Program::updates_flat,
                             "The optimizer step runs as one range (weights packed by flatten_variables).");
}

}  // namespace fastfit::bind
