// Program: a traced model + loss + metrics, compiled once and replayed per batch with planned buffers.
// fit/evaluate/predict run whole stretches of batches here (batching, shuffling, forward, backward,
// optimizer update, metric accumulation) with no Python and no allocation per step.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "autograd/tape.h"
#include "optim/optimizer.h"
#include "train/metrics.h"

namespace fastfit {

// In-memory arrays (first axis = samples) cut into batches, in order or reshuffled each epoch.
struct DataFeed {
  std::vector<TensorPtr> arrays;
  int64_t n = 0, batch_size = 32, pos = 0;
  std::vector<int64_t> order;
  DataFeed(std::vector<TensorPtr> arrays, int64_t batch_size);
  void start_epoch(bool shuffle, uint64_t seed);
  int64_t steps() const { return (n + batch_size - 1) / batch_size; }
};

class Program {
 public:
  // records: a trace taken with Tape::record_all while the model, loss (and nothing else) ran on
  // `inputs` and `targets`. params: the variables the optimizer updates (loss must be a scalar).
  Program(const std::vector<Record>& records, const std::vector<TensorPtr>& inputs,
          const std::vector<TensorPtr>& targets, const std::vector<TensorPtr>& outputs, const TensorPtr& loss,
          const std::vector<TensorPtr>& params, std::shared_ptr<Optimizer> optimizer);

  void add_metric(MetricKind kind, float threshold, int output, int target, std::shared_ptr<MetricState> state);
  std::shared_ptr<MetricState> loss_tracker = std::make_shared<MetricState>();  // batch-size weighted loss mean

  // Run up to max_steps batches from the feed (its arrays: inputs then targets; predict: inputs only).
  int64_t train(DataFeed& feed, int64_t max_steps);
  int64_t test(DataFeed& feed, int64_t max_steps);
  int64_t predict(DataFeed& feed, int64_t max_steps, const std::vector<TensorPtr>& results);

  std::vector<TensorPtr> outputs() const;  // of the last batch
  float last_loss() const;
  size_t num_steps() const { return steps_.size(); }

 private:
  struct Step {
    OpPtr op;
    std::vector<int> in;
    int out;
    std::vector<const Tensor*> in_ptrs;  // stable pointers into value_, built once
    std::vector<Tensor*> din_ptrs;       // grad buffers of inputs that need one, else null
    std::unique_ptr<bool[]> acc;         // accumulate into din (a slot with an earlier contribution)
  };
  struct MetricBinding {
    MetricKind kind;
    float threshold;
    int pred, target;
    std::shared_ptr<MetricState> state;
  };
  void check_feed(const DataFeed& feed, size_t expected, const char* what) const;
  void gather(DataFeed& feed, int64_t count, bool with_targets);
  void forward(const std::vector<int>& steps);
  void backward_and_update();
  void update_metrics(int64_t batch);

  std::vector<TensorPtr> value_, grad_;  // per slot
  std::vector<Step> steps_;
  std::vector<int> inputs_, targets_, outputs_;
  int loss_ = -1;
  std::vector<int> predict_steps_, test_steps_, backward_steps_;
  std::vector<int> params_;  // slots of updated variables (those the loss depends on)
  std::vector<Optimizer::Slots*> opt_slots_;
  std::shared_ptr<Optimizer> opt_;
  std::vector<MetricBinding> metrics_;
};

}  // namespace fastfit
