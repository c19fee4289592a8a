// Attrs: an op's configuration, a small typed name -> value map (from Python keyword arguments).
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace fastfit {

class Attrs {
 public:
  using Value = std::variant<bool, int64_t, double, std::string, std::vector<int64_t>, std::vector<double>>;
  using Item = std::pair<std::string, Value>;

  Attrs() = default;
  Attrs(std::initializer_list<Item> items);

  void set(const std::string& name, Value v);
  const Value* find(const std::string& name) const;  // null if absent
  // The value of an attribute the op's registration declares (so present and of this type).
  template <class T>
  const T& get(const std::string& name) const {
    return std::get<T>(*find(name));
  }
  const std::vector<Item>& items() const { return items_; }  // sorted by name
  std::string str() const;  // canonical: "rate=0.5,transpose_a=false"

 private:
  std::vector<Item> items_;  // a few items: a sorted vector is cheaper to copy and search than a map
};

const char* type_name(const Attrs::Value& v);  // "bool", "int", "float", "str", "list of int", "list of float"

// `given` completed with `defaults`, the attributes `what` (an op, a metric) takes. An unknown name raises
// ValueError listing the known ones; a value of another type TypeError (ints convert to floats).
Attrs complete_attrs(const std::string& what, const Attrs& defaults, const Attrs& given);

}  // namespace fastfit
