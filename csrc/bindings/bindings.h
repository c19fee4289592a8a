// Binding helpers shared by the binding files: numpy <-> Tensor without copies where the layout allows.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "core/tensor.h"

namespace fastfit::bind {
namespace py = pybind11;

TensorPtr from_numpy(const py::array& a);  // C-contiguous float32/int32: a view; else TypeError
py::array to_numpy(const Tensor& t);        // a copy
void init_tensor(py::module_& m);
void init_ops(py::module_& m);
void init_optim(py::module_& m);
void init_train(py::module_& m);
void init_data(py::module_& m);

}  // namespace fastfit::bind
