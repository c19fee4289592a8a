// Attrs' canonical text form, used in op keys.
#include "core/attrs.h"

#include <algorithm>
#include <cstdio>

namespace fastfit {
namespace {

std::string text(const Attrs::Value& v) {
  switch (v.index()) {
    case 0: return std::get<bool>(v) ? "true" : "false";
    case 1: return std::to_string(std::get<int64_t>(v));
    case 2: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", std::get<double>(v));  // round-trips: equal text, equal value
      return buf;
    }
    case 3: return "'" + std::get<std::string>(v) + "'";
    default: {
      std::string s = "[";
      for (int64_t x : std::get<std::vector<int64_t>>(v)) s += (s.size() > 1 ? "," : "") + std::to_string(x);
      return s + "]";
    }
  }
}

}  // namespace

Attrs::Attrs(std::initializer_list<Item> items) {
  for (auto& item : items) set(item.first, item.second);
}

void Attrs::set(const std::string& name, Value v) {
  auto it = std::lower_bound(items_.begin(), items_.end(), name, [](const Item& a, const std::string& n) {
    return a.first < n;
  });
  if (it != items_.end() && it->first == name) it->second = std::move(v);
  else items_.insert(it, {name, std::move(v)});
}

const Attrs::Value* Attrs::find(const std::string& name) const {
  for (auto& item : items_)
    if (item.first == name) return &item.second;
  return nullptr;
}

std::string Attrs::str() const {
  std::string s;
  for (auto& [name, value] : items_) s += (s.empty() ? "" : ",") + name + "=" + text(value);
  return s;
}

const char* type_name(const Attrs::Value& v) {
  static const char* names[] = {"bool", "int", "float", "str", "list of int"};
  return names[v.index()];
}

}  // namespace fastfit
