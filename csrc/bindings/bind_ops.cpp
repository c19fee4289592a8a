// Eager ops by name: each runs now and is recorded on the active tapes (autograd/tape.h). Also the
// random-number reference function.
#include "autograd/tape.h"
#include "bindings/bindings.h"
#include "kernels/cpu/kernels.h"

namespace fastfit::bind {
namespace {

int64_t int_attr(const std::string& name, py::handle x) {
  int overflow = 0;
  const long long v = PyLong_AsLongLongAndOverflow(py::int_(py::reinterpret_borrow<py::object>(x)).ptr(), &overflow);
  if (overflow) throw py::value_error("attribute `" + name + "` is out of range for a 64-bit integer");
  return v;
}

// A list of ints, or of floats when any element is one (numpy scalars as the values they hold).
Attrs::Value list_attr(const std::string& name, const py::handle& v, const py::handle& numpy_scalar) {
  std::vector<int64_t> ints;
  std::vector<double> floats;
  bool any_float = false;
  for (auto item : v) {
    const py::object x =
        py::isinstance(item, numpy_scalar) ? item.attr("item")() : py::reinterpret_borrow<py::object>(item);
    if (py::isinstance<py::float_>(x)) {
      any_float = true;
    } else if (!PyIndex_Check(x.ptr()) || py::isinstance<py::bool_>(x)) {
      throw py::type_error("attribute `" + name + "` must be a list of numbers, got an element of type " +
                           std::string(py::str(py::type::of(x).attr("__name__"))));
    }
    floats.push_back(x.cast<double>());
    if (!any_float) ints.push_back(int_attr(name, x));
  }
  if (any_float) return floats;
  return ints;
}

py::dict attrs_to_dict(const Attrs& attrs) {
  py::dict d;
  for (auto& [name, value] : attrs.items()) std::visit([&](auto& x) { d[py::str(name)] = x; }, value);
  return d;
}

}  // namespace

// Numpy scalars count as the Python values they hold.
Attrs attrs_from(const py::kwargs& kwargs) {
  static const py::handle numpy_scalar = py::object(py::module_::import("numpy").attr("generic")).release();
  Attrs attrs;
  for (auto item : kwargs) {
    const std::string name = py::str(item.first);
    const py::object v = py::isinstance(item.second, numpy_scalar) ? item.second.attr("item")()
                                                                   : py::reinterpret_borrow<py::object>(item.second);
    if (py::isinstance<py::bool_>(v)) {
      attrs.set(name, v.cast<bool>());
    } else if (py::isinstance<py::int_>(v)) {
      attrs.set(name, int_attr(name, v));
    } else if (py::isinstance<py::float_>(v)) {
      attrs.set(name, v.cast<double>());
    } else if (py::isinstance<py::str>(v)) {
      attrs.set(name, v.cast<std::string>());
    } else if (py::isinstance<py::list>(v) || py::isinstance<py::tuple>(v)) {
      attrs.set(name, list_attr(name, v, numpy_scalar));
    } else {
      throw py::type_error("attribute `" + name + "` must be a bool, int, float, str or list of numbers, got " +
                           std::string(py::str(py::type::of(v).attr("__name__"))));
    }
  }
  return attrs;
}

void init_ops(py::module_& m) {
  m.def(
      "apply",
      [](const std::string& name, const std::vector<TensorPtr>& inputs, const py::kwargs& attrs) {
        return fastfit::apply(make_op(name, attrs_from(attrs)), inputs);  // not std::apply (ADL)
      },
      py::arg("name"), py::arg("inputs"), R"pbdoc(
        Run the op registered as `name` on `inputs` now, configured by keyword attributes
        (e.g. apply("matmul", [a, b], transpose_b=True)), recording it on the active tapes.
      )pbdoc");
  m.def("op_names", &op_names, "The names of the registered ops.");

  py::class_<Op, OpPtr>(m, "Op", "An op's configuration, as traces record it.")
      .def(py::init([](const std::string& name, const py::kwargs& attrs) { return make_op(name, attrs_from(attrs)); }),
           py::arg("name"))
      .def_property_readonly("name", &Op::name)
      .def_property_readonly("registry_name", &Op::registry_name)
      .def_property_readonly("attrs", [](const Op& op) { return attrs_to_dict(op.attrs()); })
      .def("key", &Op::key)
      .def("clone", &Op::clone)
      .def(
          "forward",
          [](Op& op, const std::vector<TensorPtr>& inputs, int threads, int64_t row0) {
            if (threads < 1)
              throw py::value_error("threads must be a positive integer, got " + std::to_string(threads));
            if (row0 < 0) throw py::value_error("row0 must be non-negative, got " + std::to_string(row0));
            return run_op(op, inputs, ExecCtx{threads, row0});
          },
          py::arg("inputs"), py::kw_only(), py::arg("threads"), py::arg("row0") = 0,
          "Runs this op once (not recorded, random state untouched), as a Program replica with these settings.")
      .def("__repr__", [](const Op& op) { return "<Op " + op.key() + ">"; });

  m.def(
      "philox4x32_10",
      [](std::array<uint32_t, 4> counter, std::array<uint32_t, 2> key) {
        std::array<uint32_t, 4> out;
        cpu::philox4x32_10(counter.data(), key.data(), out.data());
        return out;
      },
      py::arg("counter"), py::arg("key"), "One Philox4x32-10 block (Random123's reference function).");
}

}  // namespace fastfit::bind
