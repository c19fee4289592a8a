// Attrs' canonical text form, used in op keys.
#include "core/attrs.h"

#include <algorithm>
#include <cstdio>

#include "core/tensor.h"

namespace fastfit {
namespace {

std::string number(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", x);  // round-trips: equal text, equal value
  return buf;
}

std::string text(const Attrs::Value& v) {
  switch (v.index()) {
    case 0: return std::get<bool>(v) ? "true" : "false";
    case 1: return std::to_string(std::get<int64_t>(v));
    case 2: return number(std::get<double>(v));
    case 3: return "'" + std::get<std::string>(v) + "'";
    case 4: {
      std::string s = "[";
      for (int64_t x : std::get<std::vector<int64_t>>(v)) s += (s.size() > 1 ? "," : "") + std::to_string(x);
      return s + "]";
    }
    default: {
      std::string s = "[";
      for (double x : std::get<std::vector<double>>(v)) s += (s.size() > 1 ? "," : "") + number(x);
      return s + "]";
    }
  }
}

// `given` as the type of `expected`; ints (and lists of ints) convert to floats.
Attrs::Value conform(const std::string& what, const std::string& attr, const Attrs::Value& expected,
                     const Attrs::Value& given) {
  if (given.index() == expected.index()) return given;
  if (std::holds_alternative<double>(expected) && std::holds_alternative<int64_t>(given))
    return double(std::get<int64_t>(given));
  if (std::holds_alternative<std::vector<double>>(expected) && std::holds_alternative<std::vector<int64_t>>(given)) {
    auto& ints = std::get<std::vector<int64_t>>(given);
    return std::vector<double>(ints.begin(), ints.end());
  }
  fail_type(what + ": attribute `" + attr + "` must be " + type_name(expected) + ", got " + type_name(given));
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
  static const char* names[] = {"bool", "int", "float", "str", "list of int", "list of float"};
  return names[v.index()];
}

Attrs complete_attrs(const std::string& what, const Attrs& defaults, const Attrs& given) {
  Attrs attrs = defaults;
  for (auto& [attr, value] : given.items()) {
    const Attrs::Value* expected = defaults.find(attr);
    if (!expected) {
      std::string known;
      for (auto& entry : defaults.items()) known += (known.empty() ? "" : ", ") + entry.first;
      fail(what + ": unknown attribute '" + attr + "'" +
           (known.empty() ? "; it takes none" : "; expected one of: " + known));
    }
    attrs.set(attr, conform(what, attr, *expected, value));
  }
  return attrs;
}

}  // namespace fastfit
