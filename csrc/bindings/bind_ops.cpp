// Eager ops: each runs now and is recorded on the active tapes (autograd/tape.h).
#include "autograd/tape.h"
#include "bindings/bindings.h"

namespace fastfit::bind {
namespace {

cpu::Act act_from(const std::string& name) {
  if (name == "linear") return cpu::Act::linear;
  if (name == "relu") return cpu::Act::relu;
  if (name == "sigmoid") return cpu::Act::sigmoid;
  if (name == "tanh") return cpu::Act::tanh;
  throw py::value_error("unknown activation '" + name + "'; expected one of: linear, relu, sigmoid, tanh");
}

}  // namespace

void init_ops(py::module_& m) {
  m.def("matmul", [](TensorPtr a, TensorPtr b, bool ta, bool tb) { return apply(make_matmul(ta, tb), {a, b}); },
        py::arg("a"), py::arg("b"), py::arg("transpose_a") = false, py::arg("transpose_b") = false);
  m.def(
      "dense",
      [](TensorPtr x, TensorPtr w, TensorPtr b, const std::string& act) {
        if (b) return apply(make_dense(act_from(act), true), {x, w, b});
        return apply(make_dense(act_from(act), false), {x, w});
      },
      py::arg("x"), py::arg("kernel"), py::arg("bias").none(true), py::arg("activation") = "linear");
  m.def("bias_add", [](TensorPtr x, TensorPtr b) { return apply(make_bias_add(), {x, b}); });
  m.def("activation", [](TensorPtr x, const std::string& act) { return apply(make_activation(act_from(act)), {x}); });
  m.def("softmax", [](TensorPtr x) { return apply(make_softmax(), {x}); });
  m.def(
      "sparse_crossentropy",
      [](TensorPtr y, TensorPtr p, bool from_logits) {
        if (!from_logits && p->logits) return apply(make_sparse_crossentropy(true), {y, p->logits});
        return apply(make_sparse_crossentropy(from_logits), {y, p});
      },
      py::arg("y_true"), py::arg("y_pred"), py::arg("from_logits") = false);
  m.def(
      "crossentropy",
      [](TensorPtr y, TensorPtr p, bool from_logits) {
        if (!from_logits && p->logits) return apply(make_crossentropy(true), {y, p->logits});
        return apply(make_crossentropy(from_logits), {y, p});
      },
      py::arg("y_true"), py::arg("y_pred"), py::arg("from_logits") = false);
  m.def("squared_error", [](TensorPtr y, TensorPtr p) { return apply(make_squared_error(), {y, p}); });
  m.def(
      "reduce",
      [](TensorPtr x, const std::string& kind, std::vector<int> axes, bool keepdims) {
        if (kind != "sum" && kind != "mean") throw py::value_error("reduce: kind must be 'sum' or 'mean'");
        return apply(make_reduce(kind == "sum" ? ReduceKind::sum : ReduceKind::mean, std::move(axes), keepdims), {x});
      },
      py::arg("x"), py::arg("kind"), py::arg("axes"), py::arg("keepdims") = false);
  m.def("binary", [](const std::string& kind, TensorPtr a, TensorPtr b) {
    static const char* names[] = {"add", "sub", "mul", "div"};
    for (int k = 0; k < 4; ++k)
      if (kind == names[k]) return apply(make_binary(BinaryKind(k)), {a, b});
    throw py::value_error("binary: unknown kind '" + kind + "'");
  });
  m.def("unary", [](const std::string& kind, TensorPtr x) {
    static const char* names[] = {"neg", "square", "sqrt", "exp", "log", "abs"};
    for (int k = 0; k < 6; ++k)
      if (kind == names[k]) return apply(make_unary(UnaryKind(k)), {x});
    throw py::value_error("unary: unknown kind '" + kind + "'");
  });
}

}  // namespace fastfit::bind
