// BroadcastWalk: numpy broadcasting of two inputs, shared by the binary and the comparison kernels.
#pragma once
#include "kernels/cpu/kernels.h"

namespace fastfit::cpu {

// Walks an output shape and yields, per element, the offsets into two broadcast inputs.
struct BroadcastWalk {
  Shape out;
  int64_t sa[Shape::kMaxRank] = {0}, sb[Shape::kMaxRank] = {0};
  BroadcastWalk(const Shape& a, const Shape& b, const Shape& o) : out(o) {
    int64_t ma = 1, mb = 1;
    for (int i = o.rank - 1; i >= 0; --i) {
      const int ia = i - (o.rank - a.rank), ib = i - (o.rank - b.rank);
      const int64_t da = ia >= 0 ? a.d[ia] : 1, db = ib >= 0 ? b.d[ib] : 1;
      sa[i] = da == 1 ? 0 : ma;
      sb[i] = db == 1 ? 0 : mb;
      ma *= da;
      mb *= db;
    }
  }
  // f(output offset, a offset, b offset) for every output element, in order.
  template <class F>
  void run(F&& f) const {
    int64_t idx[Shape::kMaxRank] = {0};
    int64_t oa = 0, ob = 0;
    const int64_t n = out.numel();
    for (int64_t k = 0; k < n; ++k) {
      f(k, oa, ob);
      for (int i = out.rank - 1; i >= 0; --i) {  // odometer increment
        if (++idx[i] < out.d[i]) {
          oa += sa[i];
          ob += sb[i];
          break;
        }
        oa -= sa[i] * (out.d[i] - 1);
        ob -= sb[i] * (out.d[i] - 1);
        idx[i] = 0;
      }
    }
  }
};

}  // namespace fastfit::cpu
