// The tape: eager ops record (op, inputs, output) here; reverse mode walks the records backwards.
// A tracing tape (record_all) records every op of a call, which is what a Program is compiled from
// (train/trace.h); it also tracks which tensors carry data or variable values, so a conversion of one
// to Python or NumPy during the trace can be caught (the trace is then data-dependent).
#pragma once
#include <string>
#include <unordered_set>
#include <vector>

#include "ops/op.h"

namespace fastfit {

struct Record {
  OpPtr op;
  std::vector<TensorPtr> in;
  TensorPtr out;
};

// variable := value, recorded while tracing: a state update the Program replays (moving averages).
struct Assign {
  TensorPtr variable;
  TensorPtr value;
};

struct Tape {
  std::vector<Record> records;
  std::unordered_set<const Tensor*> watched;  // tensors whose dependents are recorded
  bool record_all = false;                    // tracing: record every op, watched or not
  bool watch_variables = true;                // trainable variables are watched without watch()
  bool persistent = false;
  bool used = false;

  // Tracing only.
  std::vector<Assign> assigns;
  std::unordered_set<const Tensor*> live;  // the traced inputs, variables and every op output since
  void mark_live(const TensorPtr& t) { live.insert(t.get()); }
  bool is_live(const Tensor* t) const { return live.count(t) != 0; }

  void watch(const TensorPtr& t) { watched.insert(t.get()); }
  // d(sum of targets) / d sources; null where a source does not affect them. seeds: d target for each
  // target (null: ones). When another tape is recording (or this one, persistent, still is), the vjps
  // run as ops those tapes record, so the gradient can be differentiated again (Op::vjp_ops).
  std::vector<TensorPtr> gradient(const std::vector<TensorPtr>& targets, const std::vector<TensorPtr>& sources,
                                  const std::vector<TensorPtr>& seeds);
  bool recorded_by_others() const;
};

// Tapes currently recording on this thread (innermost last).
void push_tape(Tape* t);
void pop_tape(Tape* t);
// Takes every recording tape of this thread off (ops run until resume_tapes are recorded nowhere, or
// only on tapes pushed meanwhile), and puts them back. Nestable.
void suspend_tapes();
void resume_tapes();

// Run an op now on the inputs, on op_device (ops/op.h), after copying there any input that lives on
// another device (recorded to_device ops); record it on every active tape that watches an input.
TensorPtr apply(const OpPtr& op, const std::vector<TensorPtr>& in);

}  // namespace fastfit
