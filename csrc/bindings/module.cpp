// fastfit._core: the C++ core's Python face. Each area binds itself; no logic lives here.
#include "bindings/bindings.h"
#include "kernels/cpu/kernels.h"

PYBIND11_MODULE(_core, m) {
  m.doc() = "fastfit C++ core";
  pybind11::register_exception_translator([](std::exception_ptr e) {  // core's TypeError... -> Python's
    try {
      if (e) std::rethrow_exception(e);
    } catch (const fastfit::TypeError& err) {
      PyErr_SetString(PyExc_TypeError, err.what());
    } catch (const fastfit::NotImplemented& err) {
      PyErr_SetString(PyExc_NotImplementedError, err.what());
    }
  });
  fastfit::bind::init_tensor(m);
  fastfit::bind::init_ops(m);
  fastfit::bind::init_data(m);
  fastfit::bind::init_optim(m);
  fastfit::bind::init_train(m);
  m.def("set_num_threads", &fastfit::cpu::set_num_threads, "Threads used by matrix products.");
  m.def("get_num_threads", &fastfit::cpu::num_threads);
  m.def("gemm_isa", &fastfit::cpu::gemm_isa, "Our matrix-product kernel in use: avx512, avx2 or none.");
}
