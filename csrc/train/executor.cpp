// Executor buffers and the per-shard batch run: gather, forward, backward.
#include "train/executor.h"

#include <algorithm>
#include <cstring>

#include "core/denormals.h"
#include "kernels/cpu/kernels.h"

namespace fastfit {
namespace {
constexpr int64_t kMinSplitRows = 16;  // smaller batches run as one shard: the handover would dominate
}

Executor::Executor(const Graph& g, const std::vector<int64_t>& param_offsets, int64_t param_size, Device d,
                   const std::vector<TensorPtr>& external)
    : graph(g), device(d) {
  for (int i = 0; i < (device == Device::cpu ? 2 : 1); ++i) make_shard(shard[i], param_offsets, param_size, external);
}

void Executor::make_shard(Shard& s, const std::vector<int64_t>& param_offsets, int64_t param_size,
                          const std::vector<TensorPtr>& external) {
  const size_t S = graph.external.size();
  auto zeros = [&](const Shape& shape) {
    auto t = Tensor::make(shape, DType::f32, device);
    t->zero();
    return t;
  };
  s.value.resize(S);
  s.grad.resize(S);
  for (size_t i = 0; i < S; ++i) {
    if (i < external.size() && external[i]) s.value[i] = external[i];
    else if (graph.external[i]) s.value[i] = graph.external[i];
    else s.value[i] = Tensor::make(graph.shape[i], graph.dtype[i], device);
  }
  // Parameter gradients are views into one zeroed block, so shards add up and the optimizer updates
  // in single passes; a parameter the loss does not reach keeps a zero gradient.
  s.param_grads = zeros(Shape{std::max<int64_t>(param_size, 1)});
  for (size_t k = 0; k < graph.params.size(); ++k) {
    const int p = graph.params[k];
    if (p < 0 || !graph.has_grad[p]) continue;
    auto view = std::make_shared<Tensor>();
    view->shape = graph.shape[p];
    view->device = device;
    view->data = s.param_grads->f() + param_offsets[k];
    view->capacity = size_t(view->size()) * 4;
    view->owner = s.param_grads->owner;
    s.grad[p] = view;
  }
  for (size_t i = 0; i < S; ++i)
    if (graph.has_grad[i] && !s.grad[i]) s.grad[i] = zeros(graph.shape[i]);
  for (auto& plan : graph.steps) {
    Shard::Step st;
    st.op = plan.op->clone();
    for (size_t k = 0; k < plan.in.size(); ++k) {
      const int j = plan.in[k];
      st.in.push_back(s.value[j].get());
      st.din.push_back(graph.has_grad[j] && plan.op->differentiable(int(k)) ? s.grad[j].get() : nullptr);
    }
    st.out = s.value[plan.out].get();
    st.dout = s.grad[plan.out].get();
    s.steps.push_back(std::move(st));
  }
}

int Executor::shards_for(Mode mode, int64_t rows) const {
  return device == Device::cpu && graph.splits(mode) && rows >= kMinSplitRows ? 2 : 1;
}

void Executor::assign_rows(int n, int64_t rows) {
  Shard &a = shard[0], &b = shard[1];
  a.begin = 0;
  a.count = n == 2 ? (rows + 1) / 2 : rows;
  b.begin = a.count;
  b.count = rows - a.count;
  const bool mean = graph.loss_reduction == 2;
  a.loss_weight = mean ? float(a.count) / float(rows) : 1.f;
  b.loss_weight = mean ? float(b.count) / float(rows) : 1.f;
}

void Executor::run_job(void* self) {
  static_cast<Executor*>(self)->job_(1);
}

// The shard's rows into its input slots. Rows that lie contiguous in the source (unshuffled data, a
// queue's batch) are viewed in place, not copied; the slot's own buffer (its owner) stays for
// shuffled batches.
void Executor::gather(Shard& s, const Batch& batch, size_t num_arrays) {
  const int64_t count = s.count;
  const int64_t* idx = batch.rows ? batch.rows + s.begin : nullptr;
  const bool contiguous = !idx || (idx[count - 1] - idx[0] == count - 1 && std::is_sorted(idx, idx + count));
  const int64_t first = idx ? idx[0] : s.begin;
  for (size_t j = 0; j < num_arrays; ++j) {
    const Tensor& src = *batch.arrays[j];
    const int slot = j < graph.inputs.size() ? graph.inputs[j] : graph.targets[j - graph.inputs.size()];
    Tensor& dst = *s.value[slot];
    Shape shape = src.shape;
    shape.d[0] = count;
    const size_t row = size_t(src.size() / std::max<int64_t>(src.shape[0], 1)) * 4;
    char* base = static_cast<char*>(src.data);
    if (contiguous) {
      dst.shape = shape;
      dst.dtype = src.dtype;
      dst.data = base + first * row;  // read-only for the ops: inputs get no gradient
      continue;
    }
    dst.data = dst.owner.get();
    dst.resize(shape, src.dtype);
    cpu::gather_rows(base, int64_t(row), idx, count, dst.data);
  }
}

void Executor::run_shard(Shard& s, Mode mode, const Batch& batch, const ExecCtx& ctx) {
  FlushDenormals flush;
  gather(s, batch, graph.inputs.size() + graph.targets.size());
  for (int c : graph.batch_constants) {
    Tensor& t = *s.value[c];
    if (t.dtype == DType::f32) t.f()[0] = float(s.count);
    else t.i32()[0] = int32_t(s.count);
  }
  run_steps(s, mode, ctx);
}

void Executor::run_steps(Shard& s, Mode mode, const ExecCtx& ctx) {
  for (int i : mode == Mode::predict ? graph.predict_steps : graph.test_steps) {
    Shard::Step& st = s.steps[i];
    Shape shape;
    DType dtype;
    st.op->infer(st.in.data(), shape, dtype);
    st.out->resize(shape, dtype);
    st.op->forward(ctx, st.in.data(), *st.out);
  }
  if (mode != Mode::train) return;
  for (size_t i = 0; i < s.grad.size(); ++i)
    if (s.grad[i] && !graph.external[i]) s.grad[i]->resize(s.value[i]->shape);
  s.grad[graph.loss]->fill(s.loss_weight);
  for (int i : graph.backward_steps) {
    Shard::Step& st = s.steps[i];
    st.op->backward(ctx, st.in.data(), *st.out, *st.dout, st.din.data(), graph.steps[i].acc.get());
  }
}

}  // namespace fastfit
