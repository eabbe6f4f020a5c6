// keel/scenarios/trace_file.cpp — see the header.
#include "keel/scenarios/trace_file.h"

#include <istream>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "keel/core/trace_writer.h"

namespace keel::scenarios {
namespace {

using Json = nlohmann::ordered_json;

Error bad_line(std::uint64_t line, const std::string& why) {
  return Error(ErrorCode::invalid_request, "trace line " + std::to_string(line) + ": " + why);
}

// The attribute a value read back from a trace line stands for (null: a non-finite double).
std::optional<Attr> attr_of(const std::string& key, const Json& v) {
  switch (v.type()) {
    case Json::value_t::string: return Attr(key, v.get_ref<const std::string&>());
    case Json::value_t::number_unsigned: return Attr(key, v.get<std::uint64_t>());
    case Json::value_t::number_integer: return Attr(key, v.get<std::int64_t>());
    case Json::value_t::number_float: return Attr(key, v.get<double>());
    case Json::value_t::boolean: return Attr(key, v.get<bool>());
    case Json::value_t::null: return Attr(key, std::numeric_limits<double>::quiet_NaN());
    default: return std::nullopt;
  }
}

}  // namespace

Result<TraceFileHash> hash_trace_file(std::istream& in) {
  TraceHash hash;
  std::string text;
  std::vector<Attr> attrs;
  for (std::uint64_t line = 1; std::getline(in, text); ++line) {
    if (text.empty()) continue;
    const Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return bad_line(line, "not valid JSON");
    if (!j.is_object() || j.size() < 2) return bad_line(line, "not an object with \"t\" and \"kind\"");
    auto it = j.begin();
    if (it.key() != "t" || !(it->is_number_integer())) return bad_line(line, "the first member must be \"t\", an integer");
    if (it->is_number_unsigned() && it->get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return bad_line(line, "\"t\" is out of range");
    const std::int64_t t = it->get<std::int64_t>();
    ++it;
    if (it.key() != "kind" || !it->is_string()) return bad_line(line, "the second member must be \"kind\", a string");
    const std::string& kind = it->get_ref<const std::string&>();
    attrs.clear();
    for (++it; it != j.end(); ++it) {
      std::optional<Attr> a = attr_of(it.key(), *it);
      if (!a) return bad_line(line, "attribute \"" + it.key() + "\" is an object or array");
      attrs.push_back(*a);
    }
    hash.add(Event{TimePoint{Duration{t}}, kind, attrs});
  }
  if (in.bad()) return Error(ErrorCode::internal, "reading the trace failed");
  return TraceFileHash{hash.digest(), hash.events()};
}

}  // namespace keel::scenarios
