#include "train/fusion.h"

#include <unordered_map>
#include <unordered_set>

namespace fastfit {

Trace fuse_ops(const Trace& trace) {
  std::unordered_map<const Tensor*, int> readers;  // per tensor: how many records read it
  for (auto& r : trace.records)
    for (auto& t : r.in) ++readers[t.get()];
  std::unordered_set<const Tensor*> needed;  // what the Program reads besides the records
  for (auto* list : {&trace.outputs, &trace.labels, &trace.loss_terms})
    for (auto& t : *list) needed.insert(t.get());
  if (trace.loss) needed.insert(trace.loss.get());
  for (auto& a : trace.assigns) needed.insert(a.value.get());

  Trace fused = trace;
  fused.records.clear();
  std::vector<char> taken(trace.records.size(), 0);
  for (size_t i = 0; i < trace.records.size(); ++i) {
    if (taken[i]) continue;
    const Record& conv = trace.records[i];
    const Tensor* y = conv.out.get();
    const std::string name = conv.op->registry_name(), rank = name == "conv2d" ? "2" : name == "conv1d" ? "1" : "";
    const std::string act = rank.empty() ? "" : conv.op->attrs().get<std::string>("activation");
    auto reads_y = [&](const Record& r) { return !r.in.empty() && r.in[0].get() == y; };
    size_t j = trace.records.size();
    if ((act == "relu" || act == "linear") && readers[y] == 1 && !needed.count(y))
      for (j = i + 1; j < trace.records.size() && !reads_y(trace.records[j]); ++j) {
      }
    if (j == trace.records.size() || trace.records[j].op->registry_name() != "max_pool" + rank + "d") {
      fused.records.push_back(conv);
      continue;
    }
    const Record& pool = trace.records[j];
    Attrs a = conv.op->attrs();
    a.set("pool_size", pool.op->attrs().get<std::vector<int64_t>>("pool_size"));
    a.set("pool_strides", pool.op->attrs().get<std::vector<int64_t>>("strides"));
    a.set("pool_padding", pool.op->attrs().get<std::string>("padding"));
    // In the conv's place: its inputs are ready there, and the pooling's readers all come later.
    fused.records.push_back(Record{make_op("conv" + rank + "d_max_pool" + rank + "d", a), conv.in, pool.out});
    taken[j] = 1;
  }
  return fused;
}

}  // namespace fastfit
