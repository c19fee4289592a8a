// DeviceRunner: a Program's batches on the GPU (kernels/cuda/README.md, "The Program on the GPU").
// The variables stay where they are; the runner keeps device mirrors of them (the trained weights and
// each optimizer slot in one block laid out like the gradient block, so the update is one fused
// kernel), of the batch source's arrays and of the metric accumulators. A call uploads the mirrors,
// queues its steps and downloads them at its end, where the host synchronises. Each step reads what
// changes from step to step (the batch's rows, the optimizer's scalars) from device memory that one
// queued copy fills, so a step is captured once as a CUDA graph and replayed.
#pragma once
#include <memory>
#include <mutex>
#include <vector>

#include "train/program.h"

namespace fastfit {

class DeviceRunner {
 public:
  explicit DeviceRunner(Program& program);
  ~DeviceRunner();
  int64_t run(Mode mode, BatchSource& source, int64_t max_steps, const std::vector<std::shared_ptr<MetricState>>& states,
              const std::vector<TensorPtr>& results, bool update_state);
  void release_data();

 private:
  struct Range {  // a run of connected parameters in the gradient layout: one fused update
    int64_t begin, end;
  };
  struct Decay {  // a parameter that takes weight decay
    int64_t offset, size;
  };

  void upload(Mode mode);
  void download(Mode mode, bool update_state, const std::vector<std::shared_ptr<MetricState>>& states);
  void take_inputs(const Batch& batch);
  void stage(Mode mode, const Batch& batch);
  void step(Mode mode, const Batch& batch, const std::vector<std::shared_ptr<MetricState>>& states,
            const std::vector<TensorPtr>& results, bool update_state);
  // The step's device work, and what needs the host (results, metrics folded there): while
  // `capturing`, such work raises instead (the step then runs again, uncaptured).
  void body(Mode mode, const Batch& batch, const std::vector<std::shared_ptr<MetricState>>& states,
            const std::vector<TensorPtr>& results, bool update_state, bool capturing);
  void update_params();
  void raise_kernel_error();

  Program& p_;
  const Graph& g_;
  std::mutex m_;  // one call at a time: the mirrors are shared
  std::shared_ptr<void> stream_;
  std::vector<TensorPtr> mirror_;  // per slot: the device tensor standing for a variable or constant
  std::vector<int> uploaded_;      // slots whose mirror is a copy (uploaded per call)
  std::vector<int> written_;       // those a call changes (downloaded per call): assigned, random states
  TensorPtr weights_;              // the trained weights, in the gradient block's layout
  std::vector<TensorPtr> slots_;   // each optimizer rule slot, in the same layout
  std::vector<Range> ranges_;
  std::vector<Decay> decays_;
  std::unique_ptr<Executor> ex_;
  TensorPtr acc_;  // float64 (total, count) per loss tracker, loss term and metric (float32 storage)
  std::vector<bool> on_device_;  // per metric: folded on the device this call (else on the host)
  std::vector<TensorPtr> host_arrays_, device_arrays_;  // the batch source's arrays and their copies

  // Staging: a ring of pinned slots, each [RuleStep | batch rows]; one queued copy per step into args_.
  std::shared_ptr<void> ring_;
  int64_t ring_rows_ = 0;  // rows a slot holds
  int ring_at_ = 0;
  TensorPtr args_;

  // The captured step: valid for this mode, batch size and state update while no device memory was
  // allocated since (cuda::allocations()).
  std::shared_ptr<void> graph_;
  Mode graph_mode_ = Mode::predict;
  int64_t graph_rows_ = -1;
  bool graph_update_ = false;
  uint64_t graph_allocations_ = 0;
  // The step before: a step is captured only after one of the same kind ran uncaptured (its buffers
  // then exist: nothing allocates while capturing).
  Mode last_mode_ = Mode::predict;
  int64_t last_rows_ = -1;
  bool last_update_ = false;
  uint64_t last_allocations_ = 0;
  bool host_work_ = false;  // this call's steps need the host (results, metrics folded there)
  int64_t constant_rows_ = -1;  // the batch size the batch-size constants hold
};

}  // namespace fastfit
