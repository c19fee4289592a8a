// Program: a traced model + loss + metrics, compiled once (train/graph.h) and replayed per batch.
// fit/evaluate/predict run whole stretches of batches here, pulled from a BatchSource: forward,
// backward, optimizer update, state updates and metric accumulation, with no Python and no
// allocation per step. Each call borrows an Executor (buffers) from a pool, so threads sharing a
// model run concurrently and get the serial results.
#pragma once
#include <memory>
#include <mutex>
#include <vector>

#include "optim/optimizer.h"
#include "train/executor.h"
#include "train/metrics.h"

namespace fastfit {

class DeviceRunner;

// Ops on variables only, replayed after each optimizer step with their results written into the
// variables: the weight constraints Keras applies after apply_gradients. Built from a trace with no
// inputs whose assigns are (variable, its constrained value).
class VariableUpdate {
 public:
  explicit VariableUpdate(const Trace& trace);
  void run();

 private:
  Graph graph_;
  Executor ex_;
  std::mutex m_;  // one buffer set: calls take turns
};

class Program {
 public:
  // trace: the model (and loss) recorded on some rows; batch_constants: its constants that hold the
  // batch size (see compare_traces); params: the variables `optimizer` trains (the loss must be a
  // scalar), none for inference.
  // device: where the batches run. On the GPU (train/device_runner.h) the variables stay where they
  // are and the program keeps device copies; an optimizer option with no GPU kernel raises
  // NotImplemented. On the CPU every variable must be on the CPU (ValueError naming one that is not).
  Program(const Trace& trace, const std::vector<TensorPtr>& batch_constants, const std::vector<TensorPtr>& params,
          std::shared_ptr<Optimizer> optimizer, Device device = Device::cpu);
  ~Program();

  // Metric `metric` folding labels `y_true` and `y_pred` (indices into the trace's labels: targets,
  // outputs, values computed from them), weighted by label `weight` (-1: unweighted); the state it
  // accumulates into is given per call (run's `states`, after the loss trackers).
  void add_metric(MetricPtr metric, int y_true, int y_pred, int weight = -1);
  size_t num_metrics() const { return metrics_.size(); }

  // Runs up to max_steps batches from the source; returns how many ran (fewer: the source ran out).
  // states: the loss tracker (when there is a loss), one per loss term, then one per metric. results:
  // one per output, grown to fit (predict needs them; other modes write them when given).
  // update_state: run the trace's variable updates and advance its random generators after each step
  // (training and inference calls do; checking a trace does not).
  int64_t run(Mode mode, BatchSource& source, int64_t max_steps, const std::vector<std::shared_ptr<MetricState>>& states,
              const std::vector<TensorPtr>& results, bool update_state);

  // One batch made of `arrays` (inputs, then targets; rows 0..count-1), as a compiled tf.function
  // runs per call: no source, nothing allocated but the returned tensors. The loss tracker and the
  // loss terms' (the first states) restart at zero, the metrics' states accumulate. Returns the
  // loss and each term as new float32 scalars, then each output in a new tensor. CPU programs only
  // (a GPU program raises NotImplemented); arrays on the GPU are copied to the host.
  std::vector<TensorPtr> call(Mode mode, const std::vector<TensorPtr>& arrays,
                              const std::vector<std::shared_ptr<MetricState>>& states);
  // Runs after every optimizer step (train mode): the variables' constraints. CPU programs only (a GPU
  // program raises NotImplemented: its update runs on device copies of the weights).
  void set_after_update(std::shared_ptr<VariableUpdate> update);

  const Graph& graph() const { return graph_; }
  Device device() const { return device_; }
  // Drops what a GPU program keeps of the batch sources it ran (the device copies of their arrays),
  // at the end of a fit or evaluate; the next call copies its arrays again.
  void release_data();
  size_t num_steps() const { return graph_.steps.size(); }
  // Whether the optimizer step runs as one range: every parameter gets a gradient and the weights
  // lie packed (flatten_variables) as the optimizer lays out its state. Checked every step, since
  // weights can move.
  bool updates_flat() const { return flat_size_ > 0 && packed(flat_values_); }

 private:
  struct MetricBinding {
    MetricPtr metric;
    int y_true, y_pred, weight;  // slots (weight -1: unweighted)
  };
  friend class DeviceRunner;
  struct Lease;  // an executor borrowed from the pool for one call
  void init_params(const std::vector<TensorPtr>& params);
  void check_states(Mode mode, const std::vector<std::shared_ptr<MetricState>>& states,
                    const std::vector<TensorPtr>& results) const;
  void check_batch(const Batch& batch) const;
  void run_batch(Executor& ex, Mode mode, const Batch& batch, const std::vector<std::shared_ptr<MetricState>>& states,
                 const std::vector<TensorPtr>& results, bool update_state);
  void accumulate(const Executor::Shard& s, int64_t rows, const std::vector<std::shared_ptr<MetricState>>& states) const;
  // Output k's rows (host memory) into rows [start, start + rows of y) of results[k].
  void write_rows(size_t k, const Tensor& y, int64_t start, const std::vector<TensorPtr>& results) const;
  void update_params(Executor& ex, int shards);
  void add_shards(Executor& ex, int shards, int64_t begin, int64_t end);
  void update_range(Executor& ex, int64_t begin, int64_t end);
  void update_state(const Executor& ex);

  Graph graph_;
  std::shared_ptr<Optimizer> opt_;
  std::vector<const Tensor*> param_values_;  // per parameter: its weights
  std::vector<int64_t> param_offset_;        // per parameter: its place in the gradient block
  std::vector<int64_t> opt_offset_;          // per parameter: where its optimizer state starts
  int64_t param_size_ = 0;                   // floats in the gradient block (Layout: 16-float aligned)
  int64_t flat_size_ = 0;  // > 0: the connected parameters lead the block, their state laid out like it
  std::vector<const Tensor*> flat_values_;  // those parameters
  std::vector<MetricBinding> metrics_;
  std::shared_ptr<VariableUpdate> after_update_;
  std::mutex pool_m_;
  std::vector<std::unique_ptr<Executor>> pool_;
  Device device_;
  std::unique_ptr<DeviceRunner> gpu_;  // the batches on the GPU
};

}  // namespace fastfit
