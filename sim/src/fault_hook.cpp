#include "keel/sim/fault_hook.h"

namespace keel::sim {

std::string_view to_string(FaultKind k) noexcept {
  switch (k) {
    case FaultKind::rate_limit: return "rate_limit";
    case FaultKind::server_error: return "server_error";
    case FaultKind::hang: return "hang";
    case FaultKind::slow: return "slow";
    case FaultKind::context_overflow: return "context_overflow";
    case FaultKind::quota_exhausted: return "quota_exhausted";
    case FaultKind::auth_error: return "auth_error";
    case FaultKind::network_reset: return "network_reset";
    case FaultKind::malformed_response: return "malformed_response";
    case FaultKind::slow_first_token: return "slow_first_token";
    case FaultKind::stream_cut: return "stream_cut";
    case FaultKind::stream_stall: return "stream_stall";
    case FaultKind::malformed_chunk: return "malformed_chunk";
    case FaultKind::missing_done: return "missing_done";
    case FaultKind::content_filter: return "content_filter";
    case FaultKind::tool_error: return "error";
  }
  return "unknown";
}

}  // namespace keel::sim
