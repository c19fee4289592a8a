// to_device: a copy to another device, with its gradient copied back. apply() (autograd/tape.h)
// inserts it before an input that lives elsewhere; in a Program every tensor is on one device and it
// is a plain copy.
#include "ops/op.h"

namespace fastfit {
namespace {

// dst (+)= src, src on any device; dst's device does the adding.
void store(Tensor& dst, const Tensor& src, bool acc) {
  if (!acc) {
    if (dst.device == src.device) copy_on(dst.device, dst.data, src.data, src.nbytes());
    else dst.copy_from(src);
    return;
  }
  const Tensor* from = &src;
  Tensor here;  // src copied to dst's device
  if (src.device != dst.device) {
    here.device = dst.device;
    here.resize(src.shape, src.dtype);
    here.copy_from(src);
    from = &here;
  }
  FF_DISPATCH(dst.device, axpy_store)(1.f, from->f(), from->size(), dst.f(), true);
}

struct ToDevice final : Op {
  Device device_;
  explicit ToDevice(const std::string& name) {
    FF_CHECK(name == "CPU" || name == "GPU", "to_device: `device` must be 'CPU' or 'GPU', got '" + name + "'");
    device_ = name == "GPU" ? Device::cuda : Device::cpu;
  }
  int arity() const override { return 1; }
  bool places(Device& d) const override {
    d = device_;
    return true;
  }
  bool rowwise(const Tensor* const*, const bool*) const override { return true; }
  void infer(const Tensor* const* in, Shape& s, DType& d) const override {
    s = in[0]->shape;
    d = in[0]->dtype;
  }
  void forward(const ExecCtx&, const Tensor* const* in, Tensor& out) override { store(out, *in[0], false); }
  void backward(const ExecCtx&, const Tensor* const* in, const Tensor&, const Tensor& g, Tensor* const* din,
                const bool* acc) override {
    if (!din[0]) return;
    if (in[0]->dtype != DType::f32) {  // integers carry no gradient
      if (!acc[0]) din[0]->zero();
      return;
    }
    store(*din[0], g, acc[0]);
  }
};

OpPtr make_to_device(const Attrs& a) { return std::make_shared<ToDevice>(a.get<std::string>("device")); }
const OpRegistrar kToDevice({"to_device", "ToDevice", {{"device", std::string("CPU")}}, make_to_device});

}  // namespace

OpPtr to_device_op(Device device) { return make_op("to_device", {{"device", std::string(device_name(device))}}); }

}  // namespace fastfit
