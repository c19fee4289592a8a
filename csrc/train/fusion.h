// Fusions the Program makes in a trace before planning it: pairs of ops that compute the same values
// faster as one. Each must give what the pair gives (tests/test_fusion.py compares fused programs with
// eager calls).
#pragma once
#include "train/trace.h"

namespace fastfit {

// `trace` with each Conv1D/2D (relu or linear activation) whose output only a MaxPooling1D/2D reads,
// and nothing else needs (a model output, a loss term, a metric's input, an assigned value), replaced
// by one conv1d_max_pool1d / conv2d_max_pool2d op (ops/conv_pool.cpp).
Trace fuse_ops(const Trace& trace);

}  // namespace fastfit
