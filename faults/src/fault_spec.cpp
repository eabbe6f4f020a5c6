// Fault kind names and target rules (fault_spec.h).
#include "keel/faults/fault_spec.h"

namespace keel::faults {

std::string_view fault_kind_name(sim::FaultKind kind) noexcept {
  using K = sim::FaultKind;
  switch (kind) {
    case K::rate_limit: return "rate_limit";
    case K::server_error: return "server_error";
    case K::hang: return "hang";
    case K::slow: return "slow";
    case K::context_overflow: return "context_overflow";
    case K::quota_exhausted: return "quota_exhausted";
    case K::auth_error: return "auth_error";
    case K::network_reset: return "network_reset";
    case K::malformed_response: return "malformed_response";
    case K::tool_error: return "error";
  }
  return "unknown";
}

std::optional<sim::FaultKind> fault_kind_from_string(std::string_view name) noexcept {
  using K = sim::FaultKind;
  for (K k : {K::rate_limit, K::server_error, K::hang, K::slow, K::context_overflow, K::quota_exhausted,
              K::auth_error, K::network_reset, K::malformed_response, K::tool_error}) {
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
