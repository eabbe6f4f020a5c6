// keel/model/model_manager.h — an ordered chain of models with retries, breakers, timeouts,
// hedging and fallback: the resilient ChatModel an agent talks to.
//
// Purpose: the source design's ModelManager (ordered models, retry_attempts, retry_delay,
// fallback_on_error, scheduling strategies, ModelProcessingError), with the defects fixed:
// every model has a circuit breaker (open models are skipped without a request), attempts and
// calls have timeouts by default, a context overflow falls back to a model with a larger
// window instead of being retried, and errors are classified codes, never message text.
//
// Contract (`co_await manager.complete(request)`):
//  - Order: scheduling picks the first model (always_first, round_robin over calls, random
//    from the seeded Rng, or a user function); the rest follow in chain order, wrapping around.
//  - On each model: up to `retry.max_attempts` attempts (policy::Retry: backoff + jitter,
//    retry-after, budget, the call's deadline), run by the attempt loop
//    (keel/policy/attempt_loop.h) in its documented order: retry → breaker → attempt timeout
//    → transport (a provider's rate limiter and bulkhead are inside, in its LimitedTransport). Each attempt takes a breaker permit (refused:
//    `circuit_open`, no request sent, not retried) and runs under `attempt_timeout`, so a hung
//    provider counts as a `timeout` failure in its breaker. A retry (attempt > 1) never becomes
//    a half-open probe while a later model remains: it is refused like an open breaker's call.
//    When the retry budget refuses a model's retry, that model's error is `budget_exhausted`
//    (provider = the model), caused by the provider's error: the retry budget refused, not the
//    provider (a scenario report's `failures` counts it so). It is a failure like any other:
//    the call moves on to the next model.
//  - A model whose context window is smaller than `request.prompt_tokens` is skipped without a
//    request (unless `skip_over_window` is off: the source design sends it and lets the
//    provider refuse). A `context_overflow` answer moves on to the next model with a strictly larger
//    window (never a retry), whatever `fallback_on_error` says — unless
//    `context_window_fallback` is off: then it ends the call.
//  - Any other failure moves to the next model when `fallback_on_error`; otherwise the call
//    fails. `cancelled` never falls back.
//  - Hedging (optional): after `hedging.delay` without an answer, the next model in the order
//    is tried in parallel (up to `max_extra` more); first success wins, others are cancelled;
//    hedges draw on the first model's retry budget. If all hedged models fail, the remaining
//    models are tried in order (when `fallback_on_error`).
//    A hedged attempt cancelled after it had run at least `hedging.delay` without an answer
//    (a loser to a faster attempt, or abandoned by the caller) is recorded by its breaker as a
//    `timeout` failure, not ignored as `cancelled`: a hung primary would otherwise never open
//    its breaker while hedges keep answering for it. A loser cancelled sooner says nothing
//    about its provider and stays ignored.
//  - The whole call runs under `call_timeout` (and any deadline of the awaiting task): the
//    caller is released at the deadline with `timeout`, in-flight attempts are cancelled.
//  - When every model fails: a ModelProcessingError — an Error with the last failure's code,
//    message "all N models failed", whose cause chain holds each model's final error in the
//    order tried (last first), each with its provider name.
//  - Streams (request.stream): each attempt goes through the transport's `stream` and the
//    shared decoder (stream.h), under `stream`'s limits instead of `attempt_timeout` as a
//    whole: `attempt_timeout` bounds the wait until the stream opens (its first event),
//    `first_token` the wait for the first content, `idle` each gap between events; a
//    healthy long answer is never cut. An answer is a success only when complete (finish
//    reason, clean end; the end sentinel is optional). A timeout before any content with
//    `on_timeout` next_model leaves the model at once (a whole answer's timeout too: nothing
//    of it had arrived); a failure mid-answer follows
//    `recovery` (continue: the next attempt, on a model with `supports_prefill`, carries the
//    partial answer as an assistant prefill and the answer returned is partial + rest; a
//    model without it restarts; a refused prefill is retried without it and never becomes
//    the call's error). The response names the provider and model that answered.
//  - Events: "model.call.start" {prompt_tokens}, "model.attempt" {model}, "model.skip" {model,
//    reason}, "model.fallback" {from, to, code}, "model.call.end" {ok, code, model, attempts
//    (attempts started, on every model), models (models tried)}; plus the policies' own
//    (retry.*, breaker.*, hedge.*). Every one carries the request's trace ids (trace_ids.h):
//    agent, step and call as the request names them (a request without a call number gets
//    the manager's own count, from 1), and on the events of an attempt (model.attempt,
//    retry.*, breaker.*, model.stream.timeout) its number on the model; the transport gets
//    the same ids in `request.trace`. Counters: counters(), and per model retry_counters(i),
//    breaker(i).
//  - Single-threaded; the manager and its transports must outlive every call.
//
// Example:
//   ModelManager chain{{.retry = {.max_attempts = 3}}, {&openai, &anthropic}, Rng{seed}, &sink};
//   Result<ChatResponse> r = co_await chain.complete(std::move(request));
//   if (!r) for (const Error* e = &r.error(); e; e = e->cause.get()) log(e->provider, e->code);
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "keel/core/event.h"
#include "keel/core/rng.h"
#include "keel/model/chat_model.h"
#include "keel/model/transport.h"
#include "keel/policy/circuit_breaker.h"
#include "keel/policy/hedging.h"
#include "keel/policy/retry.h"
#include "keel/policy/retry_budget.h"

namespace keel::model {

enum class Scheduling : std::uint8_t { always_first, round_robin, random };
std::string_view to_string(Scheduling s) noexcept;

// What a streamed call does when a stream goes wrong (request.stream; stream.h).
struct StreamPolicy {
  // A streamed attempt fails with `timeout` when no content arrived by then (from its start).
  std::optional<Duration> first_token;
  // ... or when the gap between two stream events exceeds this (once content arrived, or
  // from the first event when there is no first_token limit).
  std::optional<Duration> idle;
  // After an attempt timed out before any answer content (a silent route: a whole answer that
  // never came within the attempt timeout, or a stream whose content never came): retry it
  // like other retryable errors, or move to the next model at once (when there is one).
  // Streamed or not, despite the struct's name.
  enum class OnTimeout : std::uint8_t { retry, next_model } on_timeout = OnTimeout::retry;
  // Whether an attempt that failed with `code` before any answer content arrived leaves its
  // model at once (a silent route under next_model, when a later model remains).
  bool leaves_silent_route(ErrorCode code, bool has_next_model) const noexcept {
    return code == ErrorCode::timeout && has_next_model && on_timeout == OnTimeout::next_model;
  }
  // After a stream failed mid-answer: ask again for the whole answer (normal retry and
  // fallback); continue from the partial answer on a model that supports prefill (the others
  // restart); or end the call with that error.
  enum class Recovery : std::uint8_t { restart, continue_, fail } recovery = Recovery::restart;
};

// A user-supplied strategy: the index of the first model to try for call number `call_index`.
using SchedulingFunction = std::function<std::size_t(std::size_t model_count, std::uint64_t call_index, Rng& rng)>;
// NOT keel_default when default-constructed (attempt 60 s, call 180 s, textbook breaker/budget):
struct ModelManagerConfig {  // production and CI start from keel::config::keel_default() (keel/config/presets.h)
  Scheduling scheduling = Scheduling::always_first;
  SchedulingFunction custom_scheduling;  // overrides `scheduling` when set
  bool fallback_on_error = true;
  policy::RetryConfig retry;             // per model; its attempt_timeout is ignored (see below)
  std::optional<Duration> attempt_timeout = std::chrono::seconds{60};
  std::optional<Duration> call_timeout = std::chrono::seconds{180};
  std::optional<policy::CircuitBreakerConfig> breaker = policy::CircuitBreakerConfig{};
  std::optional<policy::RetryBudgetConfig> budget = policy::RetryBudgetConfig{};
  std::optional<policy::HedgingConfig> hedging;
  // A context_overflow answer moves to a model with a larger window. Off: it is returned to
  // the caller at once (for its own summarize/truncate), as the source design did.
  bool context_window_fallback = true;
  // A model whose window is smaller than the prompt is skipped without a request. Off: the
  // request is sent and the provider refuses it (the source design never counted).
  bool skip_over_window = true;
  StreamPolicy stream;  // streamed requests only

  // The source design's knobs: `retry_attempts` tries per model, exponential delays from
  // `retry_delay` (delay * 2^n), no jitter.
  static ModelManagerConfig with_retries(int retry_attempts, Duration retry_delay);
};

struct ModelManagerCounters {
  std::uint64_t calls = 0;
  std::uint64_t succeeded = 0;
  std::uint64_t failed = 0;
  std::uint64_t attempts = 0;           // requests handed to a transport
  std::uint64_t fallbacks = 0;          // moves to a next model within a call
  std::uint64_t context_skips = 0;      // models skipped because the prompt exceeds their window
  std::uint64_t context_fallbacks = 0;  // context_overflow answers moved to a larger window
  // Streamed attempts (request.stream).
  std::uint64_t stream_attempts = 0;
  std::uint64_t first_token_timeouts = 0;  // no content within first_token (or silent route)
  std::uint64_t idle_timeouts = 0;         // a gap between events over idle
  std::uint64_t stream_events_skipped = 0; // malformed events skipped (one per event)
  std::uint64_t continuations = 0;         // attempts sent with the partial answer as prefill
  std::uint64_t silent_route_moves = 0;    // on_timeout next_model: models left at once
  // Usage of the answers returned, and (separately) what failed attempts consumed: the
  // prompt tokens of every failed attempt that reached a provider, the content tokens a
  // failed stream delivered before it failed.
  Usage answered_usage;
  Usage failed_attempts_usage;
};

class StreamCall;  // internal: a streamed call's state (src/stream_call.h)

class ModelManager final : public ChatModel {
 public:
  ModelManager(ModelManagerConfig config, std::vector<ModelTransport*> models, Rng rng,
               EventSink* events = nullptr);
  ~ModelManager() override;
  ModelManager(const ModelManager&) = delete;
  ModelManager& operator=(const ModelManager&) = delete;

  Task<Result<ChatResponse>> complete(ChatRequest request) override;
  int max_context_window() const noexcept override { return max_window_; }

  std::size_t size() const noexcept { return slots_.size(); }
  const ModelTransport& model(std::size_t i) const noexcept;
  const ModelManagerCounters& counters() const noexcept { return counters_; }
  const policy::RetryCounters& retry_counters(std::size_t i) const noexcept;
  const policy::CircuitBreaker* breaker(std::size_t i) const noexcept;  // null when disabled
  const policy::HedgingCounters* hedging_counters() const noexcept;
  const ModelManagerConfig& config() const noexcept { return config_; }

 private:
  friend class StreamCall;
  struct Slot;
  std::size_t first_for_call(std::uint64_t call_index);  // the scheduling strategy's pick
  struct Call;       // one call's state across its models (model_manager.cpp)
  struct ModelPlan;  // one model's attempts: the attempt loop's configuration (model_manager.cpp)
  struct ChainPlan;  // ... for a model tried in order
  Task<Result<ChatResponse>> run_call(ChatRequest request);
  // The hedged start of a call: the first models of its order in parallel (policy::Hedging).
  Task<Result<ChatResponse>> hedged(Call& call);
  // Before model `index` is tried in order: the fallback event, or its skip for the context
  // window (false: skipped, its reason chained into the call's failures).
  bool enter_model(Call& call, std::size_t index, TimePoint now);
  // After model `index` failed with `e`: whether the call moves on to the next model.
  bool next_after(Call& call, std::size_t index, Error e);
  void finish_ok(Call& call, const ChatResponse& r, TimePoint now);
  Error finish_failed(Call& call, TimePoint now);
  Deadline attempt_deadline(TimePoint start) const noexcept;
  // A hedged attempt cancelled after running at least the hedge delay (see the contract).
  bool hedged_out_late(const Result<ChatResponse>& r, Duration ran) const noexcept;
  struct StreamOutcome;
  // One streamed attempt under the stream policy's limits (stream_attempt.cpp).
  Task<Result<ChatResponse>> stream_attempt(Slot& slot, const ChatRequest& request, StreamOutcome* outcome);

  ModelManagerConfig config_;
  std::vector<std::unique_ptr<Slot>> slots_;
  Rng scheduling_rng_;
  EventSink* events_;
  std::unique_ptr<policy::Hedging> hedging_;
  ModelManagerCounters counters_;
  std::uint64_t next_call_ = 0;
  int max_window_ = 0;
};

}  // namespace keel::model
