// keel/faults/fault_spec.h — one injected fault, as plain data (a scenario's `faults` entry).
//
// Purpose: the vocabulary shared by the scenario loader (which builds FaultSpecs from JSON),
// the fault plan (which decides from them, fault_plan.h) and the live fault server. Nothing
// here decides anything: it is data plus the small pure helpers that say which names and
// targets a spec may use (scenarios/FORMAT.md, "Fault").
//
// Contract:
//  - `target` is a provider name, "tool:<name>", or "*" (every provider, never a tool).
//  - Kind names are the format's strings; the tool kind "error" is FaultKind::tool_error,
//    and "hang" / "slow" are shared by providers and tools.
//  - Kind-specific fields: `retry_after` (rate_limit), `status` (server_error, 500..599,
//    default 503), `extra_latency` (slow and slow_first_token, required), `after_tokens`
//    (stream_cut, stream_stall: 0..kMaxStreamTokens; empty = half the provider's
//    output_tokens), `stall` (stream_stall; empty = until the horizon), `at_token`
//    (malformed_chunk, 1..kMaxStreamTokens, default 1). Other kinds leave them at their defaults.
//  - `until` empty means "the horizon"; the window is [from, until).
//
// Example:
//   FaultSpec f{.target = "gpt", .kind = sim::FaultKind::server_error, .from = 10s,
//               .until = 20s, .probability = 0.3, .status = 502};
//   assert(targets(f, "gpt") && !targets(f, "tool:search"));
//   assert(fault_kind_from_string("error") == sim::FaultKind::tool_error);
//   assert(fits_target(sim::FaultKind::tool_error, "tool:search"));
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "keel/core/time.h"
#include "keel/sim/fault_hook.h"
#include "keel/sim/latency.h"

namespace keel::faults {

struct FaultSpec {
  std::string target;                              // provider name, "tool:<name>" or "*"
  sim::FaultKind kind = sim::FaultKind::server_error;
  Duration from{};                                 // window start (virtual time)
  std::optional<Duration> until;                   // window end, exclusive; empty = horizon
  double probability = 1.0;                        // 0..1, seeded
  std::optional<std::uint64_t> every_nth;          // >= 1: hit the nth, 2nth, ... in-window request
  std::optional<std::uint64_t> first_n;            // >= 1: hit only the first n in-window requests
  std::optional<Duration> retry_after;             // rate_limit
  int status = 503;                                // server_error
  std::optional<sim::LatencyModel> extra_latency;  // slow, slow_first_token (required there)
  std::optional<std::int64_t> after_tokens;        // stream_cut, stream_stall
  std::optional<Duration> stall;                   // stream_stall
  std::int64_t at_token = 1;                       // malformed_chunk

  friend bool operator==(const FaultSpec&, const FaultSpec&) = default;
};

inline constexpr std::string_view kToolTargetPrefix = "tool:";
inline constexpr std::string_view kEveryProvider = "*";

// The largest token position a stream fault may name (after_tokens, at_token): a bound on
// what a file can ask for, far above any answer a provider streams.
inline constexpr std::int64_t kMaxStreamTokens = 1'000'000;

// Provider fault kind names, in the format's table order (v1, then the v1.1 stream kinds).
inline constexpr std::array<std::string_view, 15> kProviderFaultKinds = {
    "rate_limit",  "server_error", "hang",          "slow",              "context_overflow",
    "quota_exhausted", "auth_error", "network_reset", "malformed_response", "slow_first_token",
    "stream_cut", "stream_stall", "malformed_chunk", "missing_done", "content_filter"};
// Tool fault kind names.
inline constexpr std::array<std::string_view, 3> kToolFaultKinds = {"error", "hang", "slow"};

// The format's name of a kind ("error" for tool_error).
std::string_view fault_kind_name(sim::FaultKind kind) noexcept;
// The kind with that exact format name (provider or tool), or nullopt.
std::optional<sim::FaultKind> fault_kind_from_string(std::string_view name) noexcept;

constexpr bool is_tool_target(std::string_view target) noexcept {
  return target.substr(0, kToolTargetPrefix.size()) == kToolTargetPrefix;
}
// The tool name of a "tool:<name>" target ("" for other targets).
constexpr std::string_view tool_name_of(std::string_view target) noexcept {
  return is_tool_target(target) ? target.substr(kToolTargetPrefix.size()) : std::string_view{};
}
// Whether `kind` may be injected into `target` ("*" counts as a provider).
bool fits_target(sim::FaultKind kind, std::string_view target) noexcept;
// Whether a spec with target `spec_target` applies to requests to `request_target`:
// equal names, or "*" and a provider (not "tool:...") request target.
constexpr bool target_matches(std::string_view spec_target, std::string_view request_target) noexcept {
  if (spec_target == kEveryProvider) return !is_tool_target(request_target);
  return spec_target == request_target;
}
inline bool targets(const FaultSpec& f, std::string_view request_target) noexcept {
  return target_matches(f.target, request_target);
}

}  // namespace keel::faults
