// serve/src/provider_player.h — one scenario provider played over HTTP: decides, for each
// request, what goes on the wire and when (internal to keel serve; fault_server.cpp does I/O).
//
// Purpose: the wire twin of sim::MockProvider. Same seeded streams (latency from
// Rng{seed}.substream("provider.<name>"), slow faults' extra latency from its "extra_latency"
// substream), the same shared FaultPlan, the same order of checks and the same timing rules,
// so a scenario means the same thing on the wire as in the simulator — with every duration
// multiplied by the time scale.
//
// Contract — `handle(request, now)` (now = scenario time: real time since start / scale):
//  1. Counts the request (index), its prompt tokens (ApproxTokenCounter over the messages),
//     draws its latency L (one draw, whatever happens), asks the fault plan once (`next`).
//  2. An injected fault decides (R = L / 10, the "rejection time"): rate_limit → 429 after R
//     with `retry-after` / `retry-after-ms` when the fault has retry_after; server_error →
//     its status and the API's body after L; hang → no bytes ever (a streaming request gets
//     its headers and the first half of its frames, then silence: a stalled stream);
//     context_overflow → 400 with the API's context-length body after R; quota_exhausted,
//     auth_error → the API's 429/400/401 after R; network_reset → the connection is reset
//     after L / 2; malformed_response → 200 with an unparseable body (or a stream with a cut
//     JSON frame) after L; slow → extra latency on whatever follows.
//  3. Prompt tokens > context_window → 400 context-length error after R.
//  4. RPM/TPM (sim::RateWindow, a request costs prompt + output_tokens) → 429 after R with a
//     retry-after measured from when the 429 is sent: waiting exactly that long is admitted.
//  5. Success after L: the ScriptedResponder's answer; a stream sends its headers and first
//     frame at R and spreads the rest evenly so the last frame goes at L.
//  Every Reply duration is real time (scenario duration x scale, rounded to the nanosecond);
//  header values are rounded up (never early). Single-threaded.
//
// Example:
//   ProviderPlayer p{provider, Rng{seed}.substream("provider." + provider.name), plan, responder, 0.1};
//   Reply r = p.handle(parse_wire_request(p.api(), body), scenario_now, unix_now);
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "keel/core/rng.h"
#include "keel/faults/fault_plan.h"
#include "keel/live/serve/fault_server.h"
#include "keel/scenarios/scenario.h"
#include "keel/sim/provider_errors.h"
#include "keel/sim/rate_window.h"
#include "keel/sim/responder.h"
#include "wire_request.h"

namespace keel::live::serve {

struct Reply {
  enum class Kind : std::uint8_t { http, stream, hang, reset };
  Kind kind = Kind::http;
  Duration delay{};  // real time before the status line (http, stream) or the reset
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // besides content-type/length
  std::string content_type = "application/json";
  std::string body;                  // http
  std::vector<std::string> frames;   // stream: SSE frames
  Duration frame_gap{};              // stream: real time between frames
  std::size_t stall_after = std::numeric_limits<std::size_t>::max();  // stream: frames, then silence
  std::string fault;                 // the injected fault's kind name ("" if none)
};

class ProviderPlayer {
 public:
  ProviderPlayer(const scenarios::Provider& provider, Rng rng, faults::FaultPlan& plan, sim::Responder responder,
                 double time_scale);

  Reply handle(const WireRequest& request, TimePoint now, std::int64_t unix_seconds);

  const std::string& name() const noexcept { return name_; }
  model::ProviderApi api() const noexcept { return api_; }
  const ProviderCounters& counters() const noexcept { return counters_; }

 private:
  Duration real(Duration scenario) const noexcept;
  std::optional<Duration> scaled(std::optional<Duration> scenario) const noexcept;
  Reply http(const sim::HttpErrorResponse& r, Duration delay_scn) const;
  Reply rate_limited(const sim::HttpErrorResponse& r, Duration delay_scn, std::optional<Duration> retry_after_scn) const;
  Reply stream(std::vector<std::string> frames, Duration first_scn, Duration last_scn) const;

  std::string name_;
  model::ProviderApi api_;
  int context_window_;
  int output_tokens_;
  sim::LatencyModel latency_;
  Rng latency_rng_;
  Rng extra_rng_;
  faults::FaultPlan& plan_;
  sim::Responder responder_;
  double scale_;
  sim::RateWindow window_;
  ProviderCounters counters_;
};

}  // namespace keel::live::serve
