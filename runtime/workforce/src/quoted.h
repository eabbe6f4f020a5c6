// Internal to runtime/workforce: a name in double quotes, for error messages.
#pragma once

#include <string>
#include <string_view>

namespace keel::workforce::detail {

inline std::string quoted(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  out += s;
  out += '"';
  return out;
}

}  // namespace keel::workforce::detail
