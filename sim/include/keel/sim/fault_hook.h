// keel/sim/fault_hook.h — how simulated providers and tools ask "does anything go wrong now?".
//
// Purpose: the seam between the mocks (sim) and fault plans (faults/, built from a scenario's
// `faults`). The mock asks once per request with (target, virtual time, per-target request
// index); the hook answers with at most one fault, decided deterministically (from its seed).
//
// Contract: `decide` is called exactly once per request that reaches the mock (model call
// attempt or tool execution), in the order requests arrive; the same sequence of calls gives
// the same answers. Targets: a provider name, or "tool:<name>" for tools.
//
// Example:
//   struct AlwaysHang : FaultHook {
//     std::optional<InjectedFault> decide(std::string_view, TimePoint, std::uint64_t) override {
//       return InjectedFault{FaultKind::hang};
//     }
//   };
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "keel/core/time.h"
#include "keel/sim/latency.h"

namespace keel::sim {

enum class FaultKind : std::uint8_t {
  // providers
  rate_limit, server_error, hang, slow, context_overflow, quota_exhausted, auth_error,
  network_reset, malformed_response,
  // provider stream faults (format v1.1)
  slow_first_token, stream_cut, stream_stall, malformed_chunk, missing_done, content_filter,
  // tools (hang and slow are shared)
  tool_error,
};
std::string_view to_string(FaultKind k) noexcept;

struct InjectedFault {
  FaultKind kind = FaultKind::server_error;
  std::optional<Duration> retry_after;  // rate_limit
  int status = 503;                     // server_error
  std::optional<LatencyModel> extra_latency;  // slow, slow_first_token
  std::optional<std::int64_t> after_tokens;   // stream_cut, stream_stall; empty: half the answer
  std::optional<Duration> stall;              // stream_stall; empty: until the horizon (never ends)
  std::int64_t at_token = 1;                  // malformed_chunk: the bad event comes before this token
};

class FaultHook {
 public:
  virtual ~FaultHook() = default;
  virtual std::optional<InjectedFault> decide(std::string_view target, TimePoint now,
                                              std::uint64_t request_index) = 0;
};

}  // namespace keel::sim
