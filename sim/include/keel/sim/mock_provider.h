// keel/sim/mock_provider.h — a simulated model provider: a ModelTransport in virtual time.
//
// Purpose: stands in for an OpenAI-compatible or Anthropic endpoint (scenarios/FORMAT.md,
// Provider and Fault) so the unmodified runtime can be driven through rate limits, 5xx, hangs,
// overflows and slow answers. Every failure is the provider's real status and error body
// (provider_errors.h) passed through the runtime's own classifier (model/classify.h).
//
// Contract — `complete(request)`, for each request that reaches it, in this order:
//  1. It gets the next 0-based per-provider index, counts its prompt tokens
//     (`request.prompt_tokens` if > 0, else ApproxTokenCounter over the messages), draws its
//     latency L from the latency model (exactly one draw per request, whatever happens, so a
//     fault never shifts later requests' latencies), asks the fault hook once (target = name),
//     and emits "provider.request" {target, index, prompt_tokens, fault ("" if none)}.
//  2. An injected fault (other than `slow`) decides the answer; such requests never enter the
//     rate window. `slow` adds extra_latency (drawn from a separate substream) to whatever
//     answer follows, and the request goes on through steps 3–5.
//  3. Prompt tokens > context_window → 400 with the API's context-length error.
//  4. RPM/TPM (rate_window.h; a request costs prompt + output_tokens tokens) → a refused
//     request gets 429 with the API's rate-limit body and a retry-after measured from when the
//     429 reaches the caller: a caller that waits exactly that long after the answer is
//     admitted (unless someone else took the room first); 1 ns earlier is refused.
//  5. Success: after L + output_tokens x token_interval, the Responder's answer with usage
//     {prompt tokens, output_tokens}.
//  When answers arrive (R = L / 10, "rejection time", for what a real API refuses up front):
//    400/401/429 (overflow, limits, rate_limit, quota, auth faults) after R;
//    5xx and malformed_response (200, unparseable body → malformed_response) after L;
//    network_reset (Error{network} "connection reset by peer", no HTTP status) after L / 2;
//    the stream faults on a whole answer (format v1.1): slow_first_token acts as slow,
//    missing_done as nothing, malformed_chunk as malformed_response, content_filter is the
//    API's 400 content-policy refusal after R, stream_cut is Error{network} after L (the body
//    promised by the headers is cut short), stream_stall is silence for `stall` then that
//    cut (forever without `stall`: like hang);
//    hang: never — only the caller's cancellation ends it; success after L.
//  Streams (`stream(request, sink)`, format v1.1): steps 1-4 as above; then the answer's
//  events (stream_script.h, the API's own shapes) go to the sink token by token: the opening
//  events after R, token k (0-based) after L + k x token_interval (slow_first_token adds its
//  extra_latency to every token), the finish, usage and end sentinel with the last token.
//  Stream faults: stream_cut sends `after_tokens` tokens (default output_tokens / 2) and then
//  ends with Error{network} when the next token was due, before any finish reason;
//  stream_stall sends them, stays silent for `stall` (forever without it: only cancellation
//  ends it), then ends the same way; malformed_chunk sends one non-JSON event before token
//  `at_token` (past the last token: before the finish); missing_done omits the end sentinel.
//  A continuation (the request ends with an assistant message) to a provider without
//  `supports_prefill` is a 400 invalid_request after R; with it, only the rest of the answer
//  streams (the answer's text after the prefill's length). `streamed_tokens(index)` is what
//  the provider produced for a streamed request (prefill included): what a truncated answer
//  is measured against.
//  Cancellation while waiting ends the request at once with ErrorCode::cancelled. Every answer
//  emits "provider.response" {target, index, ok, code (failures), status, latency}. Both
//  events carry the request's trace ids (`request.trace`: agent, step, call, attempt), so a
//  trace links each request to the agent step that sent it. Errors carry the provider name. The provider must outlive its in-flight requests.
//
// Example:
//   sim::Simulator sim;
//   MockProvider gpt{sim, {.name = "gpt", .latency = LatencyModel::fixed(500ms),
//                          .requests_per_minute = 60}, Rng{7}.substream("provider.gpt")};
//   spawn(sim, gpt.complete(request), [](Result<model::ChatResponse> r) { /* at 500ms */ });
//   sim.run_until_idle();
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "keel/core/event.h"
#include "keel/core/rng.h"
#include "keel/core/scheduler.h"
#include "keel/model/transport.h"
#include "keel/sim/fault_hook.h"
#include "keel/sim/latency.h"
#include "keel/sim/rate_window.h"
#include "keel/sim/responder.h"
#include "keel/sim/stream_script.h"

namespace keel::sim {

struct MockProviderConfig {
  std::string name;
  model::ProviderApi api = model::ProviderApi::openai;
  int context_window = 128000;
  LatencyModel latency = LatencyModel::fixed(std::chrono::milliseconds{500});
  int output_tokens = 200;
  std::optional<int> requests_per_minute;
  std::optional<int> tokens_per_minute;
  Duration token_interval{};     // pace of output tokens (format v1.1)
  bool supports_prefill = true;  // false: a continuation request is refused (400)
};

struct MockProviderStats {
  std::uint64_t requests = 0;   // reached the provider
  std::uint64_t successes = 0;
  std::uint64_t failures = 0;   // every non-success answer, cancellations included
  std::uint64_t faults_injected = 0;
  std::array<std::uint64_t, kErrorCodes.size()> failures_by_code{};
  int max_prompt_tokens = 0;    // the largest prompt of any request that reached it

  std::uint64_t failures_of(ErrorCode c) const noexcept {
    return failures_by_code[static_cast<std::size_t>(c)];
  }
};

// `tokens` x `interval`, saturating at Duration::max() (0 for no tokens or no interval).
Duration paced(Duration interval, std::int64_t tokens) noexcept;

class MockProvider final : public model::ModelTransport {
 public:
  // `faults` and `events` may be null and must outlive the provider. An empty `responder`
  // means ScriptedResponder{} (final answers only). Throws std::invalid_argument for an
  // empty name, a context_window < 1, output_tokens < 0 or a limit < 1.
  MockProvider(Scheduler& scheduler, MockProviderConfig config, Rng rng, FaultHook* faults = nullptr,
               EventSink* events = nullptr, Responder responder = {});

  const model::TransportInfo& info() const noexcept override { return info_; }
  Task<Result<model::ChatResponse>> complete(model::ChatRequest request) override;
  Task<Status> stream(model::ChatRequest request, model::StreamSink& sink) override;
  // Answer tokens produced for streamed request number `index`; -1 if it was not streamed
  // or never reached its answer.
  int streamed_tokens(std::uint64_t index) const noexcept;

  const MockProviderConfig& config() const noexcept { return config_; }
  const MockProviderStats& stats() const noexcept { return stats_; }

 private:
  struct Plan;
  struct StreamPlan;
  struct Arrival {  // step 1 of the contract: what every request gets on arrival
    TimePoint arrived;
    std::uint64_t index = 0;
    int prompt_tokens = 0;
    Duration latency{};
    std::optional<InjectedFault> fault;
    const TraceIds* ids = nullptr;  // the request's (in the request's own frame)
  };
  Arrival arrive(const model::ChatRequest& request);
  Task<Error> wait_failure(const Plan& p);  // a failing plan's wait, then its error
  Error plan_error(const Plan& p) const;
  StreamPlan stream_plan(const std::optional<InjectedFault>& fault, const StreamScript& script, TimePoint arrived,
                         Duration first_token, Duration reject);
  Task<Status> play(const StreamScript& script, const StreamPlan& sp, model::StreamSink& sink);
  Plan plan(const std::optional<InjectedFault>& fault, int prompt_tokens, Duration latency, TimePoint now);
  // Counts the request's end and emits "provider.response" (`failure` null: it succeeded).
  void record_end(const Arrival& a, const Error* failure);
  Error fail(const Arrival& a, Error e);  // record_end, then `e`

  Scheduler& scheduler_;
  MockProviderConfig config_;
  model::TransportInfo info_;
  Rng latency_rng_;
  Rng extra_rng_;  // slow faults' extra latency
  FaultHook* faults_;
  EventSink* events_;
  Responder responder_;
  RateWindow window_;
  MockProviderStats stats_;
  std::vector<std::pair<std::uint64_t, int>> stream_tokens_;  // (request index, tokens), by index
};

}  // namespace keel::sim
