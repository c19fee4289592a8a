// Executor: the buffers and op instances that run a Graph, batch by batch. A batch's rows may be
// split between two shards (own buffers and op scratch, shared variables), which run on two
// threads when there are two, one after the other otherwise: the split depends only on the batch,
// so results are bit-identical whatever the thread count. A Program keeps a pool of executors, so
// concurrent calls on one model never share buffers.
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "core/worker.h"
#include "data/batch_source.h"
#include "train/graph.h"

namespace fastfit {

class Executor {
 public:
  struct Shard {
    struct Step {  // a step's op instance and pointers into this shard's buffers
      OpPtr op;
      std::vector<const Tensor*> in;
      Tensor* out;
      std::vector<Tensor*> din;
      Tensor* dout;
    };
    std::vector<TensorPtr> value, grad;  // per slot; variables and constants are the graph's own
    std::vector<Step> steps;
    TensorPtr param_grads;  // the parameters' gradients, contiguous in the graph's parameter order
    int64_t begin = 0, count = 0;  // rows of the current batch
    float loss_weight = 1.f;       // d(batch loss) / d(this shard's loss)
  };

  // On the GPU (train/device_runner.h) an executor has one shard, and `external` gives, per slot, the
  // device tensor that stands for the graph's variable or constant there (null: the graph's own).
  Executor(const Graph& graph, const std::vector<int64_t>& param_offsets, int64_t param_size,
           Device device = Device::cpu, const std::vector<TensorPtr>& external = {});
  // The shards a batch of `rows` runs as: rows are split only when the graph allows it and there are
  // enough of them for the split to pay.
  int shards_for(Mode mode, int64_t rows) const;
  // Sets each shard's rows (and loss weight) for a batch of `rows` split into `n` shards.
  void assign_rows(int n, int64_t rows);
  // Runs fn(shard index) for shards 0..n-1: shard 1 on the helper thread when two threads may be used.
  template <class F>
  void for_shards(int n, bool parallel, F&& fn);
  // The shard's rows of the batch into its input (and target) slots, the batch size into the slots
  // that hold it, then run_steps.
  void run_shard(Shard& s, Mode mode, const Batch& batch, const ExecCtx& ctx);
  // The forward steps of `mode` and, in training, the backward pass, on the shard's inputs as they are.
  void run_steps(Shard& s, Mode mode, const ExecCtx& ctx);

  const Graph& graph;
  const Device device;
  Shard shard[2];

 private:
  void make_shard(Shard& s, const std::vector<int64_t>& param_offsets, int64_t param_size,
                  const std::vector<TensorPtr>& external);
  void gather(Shard& s, const Batch& batch, size_t num_arrays);
  static void run_job(void* self);
  std::unique_ptr<Worker> worker_;  // started on the first parallel batch
  std::function<void(int)> job_;
};

template <class F>
void Executor::for_shards(int n, bool parallel, F&& fn) {
  if (n == 1) {
    fn(0);
  } else if (!parallel) {
    fn(0);
    fn(1);
  } else {
    job_ = [&fn](int i) { fn(i); };
    Worker::ensure(worker_).run_alongside(&Executor::run_job, this, [&] { fn(0); });
  }
}

}  // namespace fastfit
