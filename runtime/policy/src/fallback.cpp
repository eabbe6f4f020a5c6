#include "keel/policy/fallback.h"

namespace keel::policy {

std::string_view to_string(FallbackReason r) noexcept {
  switch (r) {
    case FallbackReason::passed: return "passed";
    case FallbackReason::used: return "used";
    case FallbackReason::not_handled: return "not_handled";
  }
  return "unknown";
}

namespace fallback_impl {

void record_fallback(FallbackCounters& counters, EventSink* sink, TimePoint now, FallbackReason reason,
                     ErrorCode code, bool with_value) noexcept {
  if (reason == FallbackReason::used) {
    ++counters.used;
    emit(sink, now, ev::fallback_used, {{key::code, code}, {key::with, with_value ? "value" : "operation"}});
  } else if (reason == FallbackReason::not_handled) {
    ++counters.not_handled;
    emit(sink, now, ev::fallback_skipped, {{key::code, code}});
  } else {
    ++counters.passed;
  }
}

}  // namespace fallback_impl
}  // namespace keel::policy
