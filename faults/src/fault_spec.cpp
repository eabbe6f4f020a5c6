// Fault kind names and target rules (fault_spec.h).
#include "keel/faults/fault_spec.h"

namespace keel::faults {

std::string_view fault_kind_name(sim::FaultKind kind) noexcept { return sim::to_string(kind); }

std::optional<sim::FaultKind> fault_kind_from_string(std::string_view name) noexcept {
  using K = sim::FaultKind;
  for (K k : {K::rate_limit, K::server_error, K::hang, K::slow, K::context_overflow, K::quota_exhausted,
              K::auth_error, K::network_reset, K::malformed_response, K::slow_first_token, K::stream_cut,
              K::stream_stall, K::malformed_chunk, K::missing_done, K::content_filter, K::tool_error}) {
    if (fault_kind_name(k) == name) return k;
  }
  return std::nullopt;
}

bool fits_target(sim::FaultKind kind, std::string_view target) noexcept {
  using K = sim::FaultKind;
  const bool shared = kind == K::hang || kind == K::slow;
  if (is_tool_target(target)) return shared || kind == K::tool_error;
  return kind != K::tool_error;
}

}  // namespace keel::faults
