// A trace: every op one call of the model (and its loss) ran, recorded by a tracing tape, with the
// tensors that went in and came out. Two traces of the same call at different batch sizes are
// compared before either is compiled: a Program is built only from a trace that replays faithfully.
#pragma once
#include <string>
#include <vector>

#include "autograd/tape.h"

namespace fastfit {

struct Trace {
  std::vector<Record> records;
  std::vector<Assign> assigns;
  std::vector<TensorPtr> inputs, targets, outputs;
  // What metrics read: the targets, sample weights and outputs, or values computed from them (a
  // Dataset's `map`, a metric's per-sample values) traced into the call. Empty: the targets.
  std::vector<TensorPtr> labels;
  TensorPtr loss;  // null for predict
  std::vector<TensorPtr> loss_terms;  // scalars reported beside the loss (a model's per-output losses)
  int64_t rows() const { return inputs.empty() || !inputs[0]->rank() ? 0 : inputs[0]->shape[0]; }
};

// Why traces `a` and `b` (the same call on different rows, at different batch sizes) could compute
// different things, or "" when they agree: the same ops with the same attributes, wired the same
// way, on the same variables and equal constants. A scalar constant that holds each trace's batch
// size (`x.shape[0]` read as a number) is no difference: it is returned in `batch_constants` (as
// `a`'s tensor) and the Program fills it with each batch's size.
std::string compare_traces(const Trace& a, const Trace& b, std::vector<TensorPtr>& batch_constants);

}  // namespace fastfit
