// keel/config/detail/json_writer.h — small helpers of keel's file writers (a scenario's
// to_json, a runtime block's to_json). Internal.
//
// Purpose: write optional fields only when set, durations in the format's strings, and an
// Override as its value or its "off" literal, the same way in every writer.
//
// Contract: nothing is written for an unset optional or an inheriting Override; durations go
// through format_duration (exact; parse_duration reads them back equal).
//
// Example:
//   Json j = Json::object();
//   put_opt(j, "max_attempts", r.max_attempts);
//   put_dur(j, "base_delay", r.base_delay);
//   put_override(j, "budget", r.budget, false, [](const RetryBudget& b) { return Json{...}; });
#pragma once

#include <optional>

#include <nlohmann/json.hpp>

#include "keel/config/duration.h"
#include "keel/config/runtime_block.h"

namespace keel::config::detail {

using WJson = nlohmann::ordered_json;

inline WJson dur(Duration d) { return format_duration(d); }

template <class T, class Fn>
void put_opt(WJson& j, const char* key, const std::optional<T>& v, Fn&& conv) {
  if (v) j[key] = conv(*v);
}
template <class T>
void put_opt(WJson& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}
inline void put_dur(WJson& j, const char* key, const std::optional<Duration>& v) {
  if (v) j[key] = dur(*v);
}
template <class T, class Fn>
void put_override(WJson& j, const char* key, const Override<T>& o, const WJson& off, Fn&& conv) {
  if (o.is_disabled()) j[key] = off;
  if (o.is_set()) j[key] = conv(*o.value);
}

}  // namespace keel::config::detail
