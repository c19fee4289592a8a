// Metric state, data feed and Program bindings. The batch loops release the GIL.
#include <algorithm>

#include "bindings/bindings.h"
#include "data/batch_source.h"
#include "train/program.h"

namespace fastfit::bind {

void init_train(py::module_& m) {
  py::class_<MetricState, std::shared_ptr<MetricState>>(m, "MetricState")
      .def(py::init<>())
      .def_readwrite("total", &MetricState::total)
      .def_readwrite("count", &MetricState::count)
      .def("reset", &MetricState::reset)
      .def("result", &MetricState::result);

  m.def(
      "metric_update",
      [](const std::string& kind, TensorPtr y, TensorPtr p, MetricState& s, float threshold, TensorPtr w) {
        metric_named(kind)(threshold, *y, *p, w.get(), s);
      },
      py::arg("kind"), py::arg("y_true"), py::arg("y_pred"), py::arg("state"), py::arg("threshold") = 0.5f,
      py::arg("sample_weight") = nullptr, "Folds one batch into `state` (weighted by `sample_weight`, one per sample).");

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
           "metrics compare outputs with when it is not the targets themselves; `loss_terms`: scalars tracked beside "
           "the loss (per-output losses).")
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

  py::class_<Program, std::shared_ptr<Program>>(m, "Program")
      .def(py::init<const Trace&, std::vector<TensorPtr>, std::vector<TensorPtr>, std::shared_ptr<Optimizer>>(),
           py::arg("trace"), py::arg("batch_constants"), py::arg("params"), py::arg("optimizer").none(true))
      .def(
          "add_metric",
          [](Program& p, const std::string& kind, float threshold, int output, int target, int weight) {
            p.add_metric(metric_named(kind), threshold, output, target, weight);
          },
          py::arg("kind"), py::arg("threshold"), py::arg("output"), py::arg("target"), py::arg("weight") = -1,
          "Binds metric `kind` to model output `output`, target `target` and sample weights `weight` (-1: none).")
      .def(
          "run",
          [](Program& p, const std::string& mode, BatchSource& source, int64_t max_steps,
             const std::vector<std::shared_ptr<MetricState>>& states, const std::vector<TensorPtr>& results,
             bool update_state) {
            Mode m = mode == "train" ? Mode::train : mode == "test" ? Mode::test : Mode::predict;
            if (mode != "train" && mode != "test" && mode != "predict")
              throw py::value_error("Program.run: mode must be 'train', 'test' or 'predict', got '" + mode + "'");
            py::gil_scoped_release nogil;
            return p.run(m, source, max_steps, states, results, update_state);
          },
          py::arg("mode"), py::arg("source"), py::arg("max_steps"), py::arg("states"), py::arg("results"),
          py::arg("update_state") = true,
          "Runs up to max_steps batches of the source; returns how many ran (fewer: the source ran out).")
      .def_property_readonly("num_steps", &Program::num_steps)
      .def(
          "splits",
          [](const Program& p, const std::string& mode) {
            return p.graph().splits(mode == "train" ? Mode::train : mode == "test" ? Mode::test : Mode::predict);
          },
          py::arg("mode"), "Whether batches of this mode may be split between two shards.")
      .def_property_readonly("updates_flat", &Program::updates_flat,
                             "The optimizer step runs as one range (weights packed by flatten_variables).");
}

}  // namespace fastfit::bind
