// BroadcastWalk: numpy broadcasting of two inputs, shared by the binary and the comparison kernels.
#pragma once
#include "kernels/cpu/kernels.h"

namespace fastfit::cpu {

// Walks an output shape in rows and yields the offsets into two broadcast inputs. Axes of size 1 are
// dropped and neighbouring axes merged where both inputs continue alike (in memory, or broadcast),
// so an input broadcast against a whole tensor is one long row; within a row each input steps by 1
// (it has the axis) or 0 (it is broadcast along it).
struct BroadcastWalk {
  int rank = 0;  // merged axes
  int64_t d[Shape::kMaxRank] = {0}, sa[Shape::kMaxRank] = {0}, sb[Shape::kMaxRank] = {0};
  int64_t numel = 1;
  BroadcastWalk(const Shape& a, const Shape& b, const Shape& o) {
    int64_t ma = 1, mb = 1, stride_a[Shape::kMaxRank], stride_b[Shape::kMaxRank];
    for (int i = o.rank - 1; i >= 0; --i) {
      const int ia = i - (o.rank - a.rank), ib = i - (o.rank - b.rank);
      const int64_t da = ia >= 0 ? a.d[ia] : 1, db = ib >= 0 ? b.d[ib] : 1;
      stride_a[i] = da == 1 ? 0 : ma;
      stride_b[i] = db == 1 ? 0 : mb;
      ma *= da;
      mb *= db;
    }
    numel = o.numel();
    for (int i = 0; i < o.rank; ++i) {
      if (o.d[i] == 1) continue;
      const int p = rank - 1;
      if (p >= 0 && sa[p] == stride_a[i] * o.d[i] && sb[p] == stride_b[i] * o.d[i]) {
        d[p] *= o.d[i];
        sa[p] = stride_a[i];
        sb[p] = stride_b[i];
      } else {
        d[rank] = o.d[i];
        sa[rank] = stride_a[i];
        sb[rank++] = stride_b[i];
      }
    }
  }
  // f(output offset, a offset, b offset, count, a step, b step) for each row, in order.
  template <class F>
  void rows(F&& f) const {
    if (numel == 0) return;
    if (rank == 0) return f(int64_t(0), int64_t(0), int64_t(0), int64_t(1), int64_t(0), int64_t(0));
    const int last = rank - 1;
    int64_t idx[Shape::kMaxRank] = {0};
    int64_t oa = 0, ob = 0;
    for (int64_t k = 0;; k += d[last]) {
      f(k, oa, ob, d[last], sa[last], sb[last]);
      int i = last - 1;
      for (; i >= 0; --i) {  // odometer increment over the outer axes
        if (++idx[i] < d[i]) {
          oa += sa[i];
          ob += sb[i];
          break;
        }
        oa -= sa[i] * (d[i] - 1);
        ob -= sb[i] * (d[i] - 1);
        idx[i] = 0;
      }
      if (i < 0) return;
    }
  }
  // f(output offset, a offset, b offset) for every output element, in order.
  template <class F>
  void run(F&& f) const {
    rows([&](int64_t k, int64_t i, int64_t j, int64_t n, int64_t da, int64_t db) {
      for (int64_t t = 0; t < n; ++t) f(k + t, i + t * da, j + t * db);
    });
  }
};

}  // namespace fastfit::cpu
