// Program: a traced model + loss + metrics, compiled once and replayed per batch with planned buffers.
// fit/evaluate/predict run whole stretches of batches here (batching, shuffling, forward, backward,
// optimizer update, metric accumulation) with no Python and no allocation per step.
//
// Both cores: when every op treats batch rows independently, each batch's rows are split between
// two replicas of the program (own buffers and op scratch, shared weights), one per thread; training
// adds the replicas' gradients before the update. Results equal the unsplit batch's up to float
// summation order.
#pragma once
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "autograd/tape.h"
#include "optim/optimizer.h"
#include "train/metrics.h"
#include "core/worker.h"

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
  // records: a trace taken with Tape::record_all while the model and loss ran on `inputs` and
  // `targets`. params: the variables the optimizer updates (the loss must be a scalar).
  Program(const std::vector<Record>& records, const std::vector<TensorPtr>& inputs,
          const std::vector<TensorPtr>& targets, const std::vector<TensorPtr>& outputs, const TensorPtr& loss,
          const std::vector<TensorPtr>& params, std::shared_ptr<Optimizer> optimizer);

  void add_metric(MetricUpdate update, float threshold, int output, int target, std::shared_ptr<MetricState> state);
  std::shared_ptr<MetricState> loss_tracker = std::make_shared<MetricState>();  // batch-size weighted loss mean

  // Run up to max_steps batches from the feed (its arrays: inputs then targets; predict: inputs only).
  int64_t train(DataFeed& feed, int64_t max_steps);
  int64_t test(DataFeed& feed, int64_t max_steps);
  int64_t predict(DataFeed& feed, int64_t max_steps, const std::vector<TensorPtr>& results);

  size_t num_steps() const { return steps_.size(); }
  // Whether batches are split across two threads: for predict, evaluate, fit.
  bool splits(int mode) const { return reps_.size() > 1 && (mode == 0 ? split_predict_ : mode == 1 ? split_eval_ : split_train_); }

 private:
  enum class Mode { train, test, predict, update };  // update: the worker's share of an optimizer step
  struct StepPlan {  // the graph: shared by the replicas
    OpPtr op;
    std::vector<int> in;
    int out;
    std::unique_ptr<bool[]> acc;  // backward: add into an input's gradient that already has a contribution
  };
  struct Step {  // a replica's instance: own op (scratch) and pointers into its own buffers
    OpPtr op;
    std::vector<const Tensor*> in;
    Tensor* out;
    std::vector<Tensor*> din;
    Tensor* dout;
  };
  struct Replica {
    std::vector<TensorPtr> value, grad;  // per slot; weights and constants are shared
    std::vector<Step> steps;
    int64_t begin = 0, count = 0;  // rows of the current batch
    int threads = 1;               // for this batch's matrix products
    float loss_weight = 1.f;       // d(batch loss) / d(this replica's loss)
  };
  struct Job {  // what the worker thread runs
    Program* self;
    Mode mode;
    DataFeed* feed;
    const std::vector<TensorPtr>* results;
  };

  using SlotMap = std::unordered_map<const Tensor*, int>;
  SlotMap plan_slots(const std::vector<Record>& records, const std::vector<TensorPtr>& inputs,
                     const std::vector<TensorPtr>& targets, const std::vector<TensorPtr>& outputs,
                     const TensorPtr& loss);
  std::vector<int> ancestors(const std::vector<int>& roots) const;
  void plan_splitting(const std::vector<Record>& records);
  void plan_gradients(const std::vector<TensorPtr>& params, const SlotMap& slot);
  void make_replica(bool clone_ops);
  void check_feed(const DataFeed& feed, size_t expected, const char* what) const;
  int64_t run(Mode mode, DataFeed& feed, int64_t max_steps, const std::vector<TensorPtr>* results);
  void run_replica(Replica& r, Mode mode, DataFeed& feed, const std::vector<TensorPtr>* results);
  static void run_second(void* job);
  void gather(Replica& r, DataFeed& feed, bool with_targets);
  void update_metrics(const Replica& r, int64_t batch);
  void apply_update(bool split);
  void update_share(int share, int shares);  // sums the replicas' gradients and updates, for a slice

  std::vector<StepPlan> steps_;
  std::vector<TensorPtr> external_;  // per slot: the shared tensor (weights, constants) or null
  std::vector<Shape> traced_shape_;
  std::vector<DType> traced_dtype_;
  std::vector<char> has_grad_;
  std::vector<int> inputs_, targets_, outputs_;
  int loss_ = -1;
  int loss_reduction_ = 0;  // reduces_all() of the op making the loss
  std::vector<int> predict_steps_, test_steps_, backward_steps_;
  std::vector<int> params_;
  std::vector<Optimizer::Slots*> opt_slots_;
  std::shared_ptr<Optimizer> opt_;
  struct MetricBinding {
    MetricUpdate update;
    float threshold;
    int pred, target;
    std::shared_ptr<MetricState> state;
  };
  std::vector<MetricBinding> metrics_;
  bool split_predict_ = false, split_eval_ = false, split_train_ = false;
  std::vector<Replica> reps_;
  std::unique_ptr<Worker> worker_;  // started on the first split batch
  Job job_{};
};

}  // namespace fastfit
