// Tensor and GradientTape bindings.
#include "autograd/tape.h"
#include "bindings/bindings.h"

namespace fastfit::bind {

TensorPtr from_numpy(const py::array& a) {
  DType d;
  if (py::isinstance<py::array_t<float>>(a)) d = DType::f32;
  else if (py::isinstance<py::array_t<int32_t>>(a)) d = DType::i32;
  else throw py::type_error("expected a float32 or int32 array, got dtype " + std::string(py::str(a.dtype())));
  if (!(a.flags() & py::array::c_style)) throw py::type_error("expected a C-contiguous array");
  auto t = std::make_shared<Tensor>();
  for (py::ssize_t i = 0; i < a.ndim(); ++i) t->shape.push(a.shape(i));
  t->dtype = d;
  t->data = const_cast<void*>(a.data());
  t->capacity = size_t(a.nbytes());
  auto* keep = new py::object(a);
  t->owner = std::shared_ptr<void>(keep, [](void* p) {
    py::gil_scoped_acquire gil;
    delete static_cast<py::object*>(p);
  });
  return t;
}

py::array to_numpy(const Tensor& t) {
  std::vector<py::ssize_t> shape(t.shape.d, t.shape.d + t.shape.rank);
  py::array out = t.dtype == DType::f32 ? py::array(py::dtype::of<float>(), shape)
                                        : py::array(py::dtype::of<int32_t>(), shape);
  t.copy_to_host(out.mutable_data());
  return out;
}

void init_tensor(py::module_& m) {
  py::class_<Tensor, TensorPtr>(m, "Tensor")
      .def(py::init([](const py::array& a) {  // owns a copy: the caller's array may change later
             auto view = from_numpy(a);
             auto t = Tensor::make(view->shape, view->dtype, current_device());
             t->copy_from_host(view->data);
             return t;
           }),
           py::arg("value"), "A copy of the array, on the device of this thread's fastfit.device scope (else the CPU).")
      .def(py::init([](TensorPtr t) { return t; }), py::kw_only(), py::arg("shares"),
           "Another Python object for the same C++ tensor (for Variable views of C++ state).")
      .def_static("view", &from_numpy, "A tensor sharing the numpy array's memory.")
      .def("numpy", &to_numpy, "A numpy copy of the values.")
      .def_property_readonly("shape", [](const Tensor& t) {
        py::tuple s(t.rank());
        for (int i = 0; i < t.rank(); ++i) s[i] = t.shape[i];
        return s;
      })
      .def_property_readonly("ndim", &Tensor::rank)
      .def_property_readonly(
          "device",
          [](const Tensor& t) {
            return std::string("/job:localhost/replica:0/task:0/device:") + device_name(t.device) + ":0";
          },
          "Where the tensor lives, as TensorFlow names it: '/job:localhost/replica:0/task:0/device:GPU:0'.")
      .def_property_readonly("dtype_name", [](const Tensor& t) { return dtype_name(t.dtype); })
      .def_readwrite("_trainable", &Tensor::trainable)
      .def_property_readonly("_logits", [](const Tensor& t) { return t.logits; })
      .def("_assign", [](Tensor& t, const py::array& a) {
        auto v = from_numpy(a);
        FF_CHECK(v->shape == t.shape && v->dtype == t.dtype,
                 "assign: expected a value of " + t.desc() + ", got " + v->desc());
        t.copy_from_host(v->data);
      });

  py::class_<Tape>(m, "Tape")
      .def(py::init([](bool persistent, bool record_all, bool watch_variables) {
             auto t = std::make_unique<Tape>();
             t->persistent = persistent;
             t->record_all = record_all;
             t->watch_variables = watch_variables;
             return t;
           }),
           py::arg("persistent") = false, py::arg("record_all") = false, py::arg("watch_variables") = true)
      .def("push", [](Tape& t) { push_tape(&t); })
      .def("pop", [](Tape& t) { pop_tape(&t); })
      .def("watch", &Tape::watch)
      .def("gradient", &Tape::gradient, py::arg("targets"), py::arg("sources"), py::arg("seeds"),
           "d(sum of targets) / d sources (None where unconnected); seeds: d target per target (None: ones).")
      .def("mark_live", &Tape::mark_live, py::arg("tensor"),
           "Tracing: the tensor carries data or variable values (converting it to NumPy taints the trace).")
      .def("is_live", [](const Tape& t, const TensorPtr& x) { return t.is_live(x.get()); }, py::arg("tensor"))
      .def(
          "record_assign", [](Tape& t, TensorPtr var, TensorPtr value) { t.assigns.push_back({var, value}); },
          py::arg("variable"), py::arg("value"), "Tracing: `variable := value` runs after each replayed step.")
      .def_property_readonly("num_records", [](const Tape& t) { return t.records.size(); });
  m.def("suspend_tapes", &suspend_tapes, "Takes the tapes recording on this thread off: ops record nowhere.");
  m.def("resume_tapes", &resume_tapes, "Puts back the tapes the last suspend_tapes took off.");
}

}  // namespace fastfit::bind
