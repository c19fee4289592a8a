// Binding helpers shared by the binding files: numpy <-> Tensor without copies where the layout allows.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "core/attrs.h"
#include "core/tensor.h"

namespace fastfit::bind {
namespace py = pybind11;

TensorPtr from_numpy(const py::array& a);  // C-contiguous float32/int32: a view; else TypeError
py::array to_numpy(const Tensor& t);        // a copy
// Keyword arguments as attributes (of an op, a metric): bool, int, float, str or a list of numbers.
Attrs attrs_from(const py::kwargs& kwargs);
void init_tensor(py::module_& m);
void init_ops(py::module_& m);
void init_optim(py::module_& m);
void init_train(py::module_& m);
void init_data(py::module_& m);
void init_device(py::module_& m);

}  // namespace fastfit::bind
