// The current device, per thread, as tf.device scopes are.
#include "core/device.h"

namespace fastfit {
namespace {
thread_local Device g_current = Device::cpu;
}

Device current_device() { return g_current; }
void set_current_device(Device d) { g_current = d; }

}  // namespace fastfit
