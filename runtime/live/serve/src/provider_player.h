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
//     its status and the API's body after L; hang → no byte ever, streamed or not (a silent
//     route; the connection stays open until the client leaves); context_overflow → 400 with
//     the API's context-length body after R; quota_exhausted, auth_error → the API's
//     429/400/401 after R; network_reset → the connection is reset after L / 2;
//     malformed_response → 200 with an unparseable body (a stream: its first event, one event
//     of cut-off JSON, its sentinel) after L; content_filter → 400 with the API's
//     content-policy refusal after R.
//     The v1.1 stream faults on a stream shape the answer of 5 (when 3-4 let it through): stream_cut →
//     `after_tokens` tokens (default half of output_tokens), then, when the next token was
//     due, the connection closes with no terminating chunk; stream_stall → that many tokens,
//     then silence for `stall` (none: until the client leaves), then the close;
//     malformed_chunk → one event whose data is not JSON (sim::malformed_event) right before
//     token `at_token`, at its time; every token and the normal end still follow. Not
//     streamed: stream_cut → after L, 200 headers promising the whole body, half of it, then
//     the close; stream_stall → after L, 200 headers, then silence for `stall` (or until the
//     client leaves), then the close; malformed_chunk → as malformed_response.
//     Modifiers of whatever follows (steps 3–5): slow → extra latency; slow_first_token → on
//     a stream, the first token (and the rest after it) that much later, the stream still
//     opening on time; not streamed, like slow; missing_done → a stream without its sentinel
//     (`data: [DONE]` / `message_stop`) whose chunked body ends cleanly; not streamed, nothing.
//  3. Prompt tokens > context_window → 400 context-length error after R.
//  4. RPM/TPM (sim::RateWindow, a request costs prompt + output_tokens) → 429 after R with a
//     retry-after measured from when the 429 is sent: waiting exactly that long is admitted.
//     Then a continuation (sim::is_continuation) to a provider with supports_prefill false →
//     400 sim::prefill_refused after R.
//  5. Success. Not streamed: the whole answer after L + output_tokens x token_interval.
//     Streamed: the events of sim::stream_script (the simulator's, framed by sse_frame), as
//     sim::MockProvider times them: the headers and the opening events at R, the first
//     token at L, then one token per token_interval, each closing event with the token before
//     it; events due together go out as one chunk. A continuation streams only the rest of
//     the answer (what the prefill does not already hold).
//  Every Reply duration is real time (scenario duration x scale, rounded to the nanosecond);
//  header values are rounded up (never early). Single-threaded.
//
// Example:
//   ProviderPlayer p{provider, Rng{seed}.substream("provider." + provider.name), plan, responder, 0.1};
//   Reply r = p.handle(parse_wire_request(p.api(), body), scenario_now, unix_now);
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
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
#include "keel/sim/stream_script.h"
#include "wire_format.h"
#include "wire_request.h"

namespace keel::live::serve {

struct Reply {
  enum class Kind : std::uint8_t { http, stream, hang, reset };
  // How a body or stream ends once what it sends is sent: cleanly (the whole body, or the
  // chunked terminator), cut (the connection closes: no terminator, or a body shorter than its
  // content-length) or stalled (silence, then the close) — at `cut_at`, or never (the
  // connection stays open until the client leaves).
  enum class End : std::uint8_t { clean, cut, stall };
  Kind kind = Kind::http;
  Duration delay{};  // real time before the status line (http, stream) or the reset
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // besides content-type/length
  std::string content_type = "application/json";
  std::string body;                  // http
  std::size_t body_sent = std::numeric_limits<std::size_t>::max();  // http: bytes sent before a cut/stall end
  std::vector<std::string> frames;   // stream: SSE frames
  std::vector<Duration> frame_at;    // stream: real time of each frame after the status line (non-decreasing)
  End end = End::clean;
  std::optional<Duration> cut_at;    // End::cut / stall: real time after the status line of the close
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
  // One request's draws and the fault's modifiers, in scenario time.
  struct Timing {
    int prompt_tokens = 0;
    Duration latency{};            // L
    Duration reject{};             // R = L / 10
    Duration extra{};              // slow (and slow_first_token not streamed): added to what follows
    Duration first_token_extra{};  // slow_first_token on a stream
    std::optional<sim::InjectedFault> in_stream;  // stream_cut/stall, malformed_chunk, missing_done on a stream
  };
  using AnswerFn = std::function<WireAnswer()>;

  Reply stream(const sim::StreamScript& script, const std::optional<sim::InjectedFault>& fault, Duration open_scn,
               Duration first_token_scn) const;
  Reply malformed_stream(const WireAnswer& a, const Timing& t) const;
  Reply body_fault(const sim::InjectedFault& f, std::string body, Duration delay_scn) const;
  // The fault's reply, or nullopt when it only modifies what follows (`t`).
  std::optional<Reply> fault_reply(const sim::InjectedFault& f, Timing& t, const AnswerFn& answer,
                                   const WireRequest& request);
  Reply answer_or_refusal(const WireRequest& request, TimePoint now, const Timing& t, const AnswerFn& answer);

  std::string name_;
  model::ProviderApi api_;
  int context_window_;
  int output_tokens_;
  Duration token_interval_;
  bool supports_prefill_;
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
