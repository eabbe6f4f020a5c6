#include "keel/model/model_manager.h"

#include <algorithm>
#include <string>

#include "keel/core/sleep.h"
#include "keel/core/timeout.h"
#include "keel/policy/attempt_loop.h"
#include "stream_call.h"

namespace keel::model {

std::string_view to_string(Scheduling s) noexcept {
  switch (s) {
    case Scheduling::always_first: return "always_first";
    case Scheduling::round_robin: return "round_robin";
    case Scheduling::random: return "random";
  }
  return "always_first";
}

ModelManagerConfig ModelManagerConfig::with_retries(int retry_attempts, Duration retry_delay) {
  ModelManagerConfig c;
  c.retry.max_attempts = retry_attempts;
  c.retry.backoff = policy::BackoffConfig{.base = retry_delay, .max = Duration::max(), .multiplier = 2.0,
                                          .jitter = policy::Jitter::none};
  return c;
}


ModelManager::ModelManager(ModelManagerConfig config, std::vector<ModelTransport*> models, Rng rng,
                           EventSink* events)
    : config_(std::move(config)), scheduling_rng_(rng.substream("model_manager.scheduling")), events_(events) {
  if (models.empty()) throw std::invalid_argument("ModelManager needs at least one model");
  policy::RetryConfig retry = config_.retry;
  retry.attempt_timeout.reset();  // applied per attempt inside attempt(), where the breaker sees it
  for (ModelTransport* t : models) {
    if (!t) throw std::invalid_argument("ModelManager: null model");
    const std::string& name = t->info().name;
    auto slot = std::make_unique<Slot>();
    slot->transport = t;
    slot->rng = rng.substream("model." + name);
    if (config_.budget) slot->budget.emplace(*config_.budget);
    if (config_.breaker) {
      policy::CircuitBreakerConfig b = *config_.breaker;
      b.name = name;
      slot->breaker.emplace(std::move(b), events_);
    }
    slot->retry.emplace(retry, slot->rng, slot->budget ? &*slot->budget : nullptr, events_, name);
    max_window_ = std::max(max_window_, t->info().context_window);
    slots_.push_back(std::move(slot));
  }
  if (config_.hedging) {
    hedging_ = std::make_unique<policy::Hedging>(*config_.hedging,
                                                 slots_[0]->budget ? &*slots_[0]->budget : nullptr, events_);
  }
}

ModelManager::~ModelManager() = default;

const ModelTransport& ModelManager::model(std::size_t i) const noexcept { return *slots_[i]->transport; }
const policy::RetryCounters& ModelManager::retry_counters(std::size_t i) const noexcept {
  return slots_[i]->retry->counters();
}
const policy::CircuitBreaker* ModelManager::breaker(std::size_t i) const noexcept {
  return slots_[i]->breaker ? &*slots_[i]->breaker : nullptr;
}
const policy::HedgingCounters* ModelManager::hedging_counters() const noexcept {
  return hedging_ ? &hedging_->counters() : nullptr;
}

std::size_t ModelManager::first_for_call(std::uint64_t call_index) {
  const std::size_t n = slots_.size();
  std::size_t first = 0;
  if (config_.custom_scheduling) {
    first = config_.custom_scheduling(n, call_index, scheduling_rng_) % n;
  } else if (config_.scheduling == Scheduling::round_robin) {
    first = static_cast<std::size_t>(call_index % n);
  } else if (config_.scheduling == Scheduling::random) {
    first = static_cast<std::size_t>(scheduling_rng_.uniform_u64(n));
  }
  return first;
}

Task<Result<ChatResponse>> ModelManager::complete(ChatRequest request) {
  if (config_.call_timeout) co_return co_await with_timeout(run_call(std::move(request)), *config_.call_timeout);
  co_return co_await run_call(std::move(request));
}

Deadline ModelManager::attempt_deadline(TimePoint start) const noexcept {
  return config_.attempt_timeout ? Deadline::after(start, *config_.attempt_timeout) : Deadline::never();
}

bool ModelManager::hedged_out_late(const Result<ChatResponse>& r, Duration ran) const noexcept {
  return !r && r.error().code == ErrorCode::cancelled && config_.hedging && ran >= config_.hedging->delay;
}

// One call's state across its models.
struct ModelManager::Call {
  Call(ModelManagerCounters& counters, ChatRequest& r, std::uint64_t i, std::size_t first_model, std::size_t n)
      : request(r), index(i), first(first_model), size(n) {
    ids = request.trace;
    ids.attempt = 0;
    if (!ids.call) ids.call = index + 1;  // no agent numbered it: the manager's own count
    request.trace = ids;                  // each model's attempts set their number in it
    if (request.stream) streamed.emplace(counters, request);
  }
  ChatRequest& request;
  std::uint64_t index;              // the call's number (scheduling)
  TraceIds ids;                     // the call's own events' ids (no attempt)
  std::size_t first, size;          // the order: every model once, from `first`, wrapping around
  std::optional<Error> failures;    // each model's final error, latest first
  int tried = 0;                    // models tried
  int attempts = 0;                 // attempts started on every model (a breaker's refusal included)
  int overflow_window = -1;         // after a context_overflow: only larger windows qualify
  std::string last_model;           // the model tried last: moving on from it is a fallback
  std::optional<StreamCall> streamed;  // streamed calls: recovery state across attempts
  bool stop_call = false;           // stream_recovery fail: no further model
  std::optional<Result<ChatResponse>> result;  // the last attempt's, on a model tried in order (ChainPlan)

  std::size_t model_at(std::size_t pos) const noexcept { return (first + pos) % size; }
};

// One model's attempts within a call: the attempt loop (keel/policy/attempt_loop.h) with the
// model's retry, breaker and attempt timeout, and the model's own steps as hooks — the
// "model.attempt" event; a retry never probing a half-open model while a later one remains
// (its caller already paid one failure here, a whole attempt timeout on a silent route);
// streams (the stream limits instead of the attempt timeout, prefill continuation, the stream
// policy leaving the model); and a hedge cancelled late recorded as a timeout.
struct ModelManager::ModelPlan : policy::AttemptPlan {
  using Value = Result<ChatResponse>;

  // A model tried in the call's order; `last`: no later model remains.
  ModelPlan(ModelManager& m, Slot& s, Call& call, bool last)
      : manager(m), slot(s), request(&call.request), attempts(&call.attempts),
        streamed(call.streamed ? &*call.streamed : nullptr), stop_call(&call.stop_call), last_model(last) {}
  // A hedge: its own copy of the request, since a cancelled loser may finish after the call
  // returned (hedging.h); the stream limits apply, recovery is the hedge's.
  ModelPlan(ModelManager& m, Slot& s, const ChatRequest& r, int* counted)
      : manager(m), slot(s), owned(r), attempts(counted), hedged(true) {}
  policy::Retry* retry() const noexcept { return &*slot.retry; }
  policy::RetryOutcome* outcome() noexcept { return &how; }
  policy::CircuitBreaker* breaker() const noexcept { return slot.breaker ? &*slot.breaker : nullptr; }
  const ChatRequest& req() const noexcept { return owned ? *owned : *request; }
  const std::string& name() const noexcept { return slot.transport->info().name; }
  // The request's ids: the attempt's, for the policies' events and the transport.
  const TraceIds* trace_ids() const noexcept { return &req().trace; }

  void started(int attempt, TimePoint) {
    ++*attempts;
    (owned ? *owned : *request).trace.attempt = static_cast<std::uint64_t>(attempt);
  }
  bool may_probe(int attempt) const noexcept { return hedged || attempt == 1 || last_model; }
  Error refused(Error e) { return std::move(e).with_provider(name()); }
  void admitted(TimePoint now) {
    ++manager.counters_.attempts;
    emit(manager.events_, now, ev::model_attempt, {{key::model, name()}}, trace_ids());
  }
  Task<Value> attempt(int) {
    if (!req().stream) return slot.transport->complete(req());
    if (!streamed) return manager.stream_attempt(slot, req(), &hedge_outcome);
    prefill = streamed->wants_prefill(slot);
    if (prefill) {
      ++manager.counters_.continuations;
      streamed->continued.trace = req().trace;  // the continuation is this attempt
    }
    streamed->attempt_continues = prefill;
    return manager.stream_attempt(slot, prefill ? streamed->continued : req(), &streamed->outcome);
  }
  // A stream keeps its own limits (stream_attempt); a whole answer has the attempt timeout.
  std::optional<Deadline> attempt_deadline(TimePoint start, Deadline) const noexcept {
    if (req().stream) return std::nullopt;
    return manager.attempt_deadline(start);
  }
  policy::BreakerOutcome breaker_outcome(const Value& r, Duration ran) const noexcept {
    // What a per-try timeout would have said (Envoy records its per-try timeout for outlier
    // detection even when it hedges); the caller still sees `cancelled`.
    if (hedged && manager.hedged_out_late(r, ran)) return policy::BreakerOutcome::error(ErrorCode::timeout);
    return policy::BreakerOutcome::of(r);
  }
  policy::AttemptNext after_attempt(Value& r, TimePoint, TimePoint) {
    if (r && r->provider.empty()) r->provider = name();
    if (!r && r.error().code == ErrorCode::timeout && r.error().provider.empty()) r.error().provider = name();
    if (!streamed) return policy::AttemptNext::usual;
    if (r) {
      streamed->complete(*r, prefill);
    } else if (prefill && r.error().code == ErrorCode::invalid_request) {
      streamed->refused_prefill(slot);  // the refusal is never the call's error: ask again, whole
      return policy::AttemptNext::again;
    }
    return policy::AttemptNext::usual;
  }
  // The retry budget refused this model's retry: the model's answer is that refusal
  // (budget_exhausted), caused by the provider's error, so that a caller and a report can tell
  // "my retry budget refused" from "the provider refused". The call moves on as after any
  // other failure (next_after).
  void note_budget_refusal(Value& r) {
    if (r || how.stopped_by != policy::RetryReason::budget_exhausted) return;
    r = Error{ErrorCode::budget_exhausted, "the retry budget refused a retry"}.with_provider(name()).caused_by(
        std::move(r).error());
  }
  Value returned(Value&& r) {
    note_budget_refusal(r);
    return std::move(r);
  }
  // The stream policy may leave the model whatever the retry policy would say. A whole answer
  // that timed out is a silent route too: nothing of it arrived (on_timeout applies to both).
  policy::AttemptNext on_failure(const Error& e, TimePoint, TimePoint) {
    if (hedged) return policy::AttemptNext::usual;
    if (!streamed) {
      if (!manager.config_.stream.leaves_silent_route(e.code, !last_model)) return policy::AttemptNext::usual;
      ++manager.counters_.silent_route_moves;
      return policy::AttemptNext::stop;
    }
    const StreamCall::Next next = streamed->after_failure(*request, e, !last_model, manager.config_.stream);
    if (next == StreamCall::Next::usual) return policy::AttemptNext::usual;
    if (next == StreamCall::Next::next_model) ++manager.counters_.silent_route_moves;
    if (next == StreamCall::Next::end_call) *stop_call = true;
    return policy::AttemptNext::stop;
  }

  ModelManager& manager;
  Slot& slot;
  std::optional<ChatRequest> owned;       // a hedge's request
  ChatRequest* request = nullptr;         // else the call's
  int* attempts;                          // the call's attempt count
  StreamCall* streamed = nullptr;         // a streamed call in order: its recovery state
  bool* stop_call = nullptr;
  bool hedged = false;
  bool last_model = false;
  bool prefill = false;                   // this attempt carries the partial answer
  StreamOutcome hedge_outcome;            // a hedged stream's (recovery is the hedge's)
  policy::RetryOutcome how;               // why the retries on this model stopped

};

// A model tried in the call's order: the attempt's result is kept in the call's frame (which
// awaits this loop) and the loop yields only a Status, so the response is not moved through
// the loop's task on its way to the caller.
struct ModelManager::ChainPlan : ModelPlan {
  using Returned = Status;
  ChainPlan(ModelManager& m, Slot& s, Call& call, bool last) : ModelPlan(m, s, call, last), result(&call.result) {}
  std::optional<Value>& result_slot(std::optional<Value>&) noexcept { return *result; }
  Status returned(Value&& r) {
    note_budget_refusal(r);
    if (!r) return std::move(r).error();
    return {};  // the answer stays in the call's result
  }
  std::optional<Value>* result;
};

namespace {

// `failure` (with its own causes) followed by the errors of the models tried before it.
Error chain_failure(Error failure, const std::optional<Error>& previous) {
  if (!previous) return failure;
  if (!failure.cause) {
    failure.cause = std::make_shared<const Error>(*previous);
    return failure;
  }
  failure.cause = std::make_shared<const Error>(chain_failure(*failure.cause, previous));
  return failure;
}

}  // namespace

Task<Result<ChatResponse>> ModelManager::run_call(ChatRequest request) {
  Scheduler& sched = co_await this_task::scheduler();
  const std::uint64_t index = next_call_++;
  ++counters_.calls;
  Call call{counters_, request, index, first_for_call(index), slots_.size()};
  emit(events_, sched.now(), ev::model_call_start, {{key::prompt_tokens, request.prompt_tokens}}, &call.ids);
  std::size_t pos = 0;
  if (hedging_) {
    Result<ChatResponse> r = co_await hedged(call);
    if (r) {
      finish_ok(call, *r, sched.now());
      co_return r;
    }
    if (r.error().code == ErrorCode::cancelled || !config_.fallback_on_error) {
      ++counters_.failed;
      emit(events_, sched.now(), ev::model_call_end,
           {{key::ok, false}, {key::code, r.error().code}, {key::attempts, call.attempts}, {key::models, call.tried}},
           &call.ids);
      co_return r;
    }
    call.failures = std::move(r).error();
    pos = static_cast<std::size_t>(call.tried);
    call.last_model = slots_[call.model_at(pos - 1)]->transport->info().name;
  }
  for (; pos < call.size; ++pos) {
    const std::size_t index_here = call.model_at(pos);
    if (!enter_model(call, index_here, sched.now())) continue;
    ++call.tried;
    Status got = co_await policy::run_attempts(ChainPlan{*this, *slots_[index_here], call, pos + 1 == call.size});
    if (got) {
      finish_ok(call, **call.result, sched.now());
      co_return std::move(*call.result);
    }
    if (!next_after(call, index_here, std::move(got).error())) break;
  }
  co_return finish_failed(call, sched.now());
}

Task<Result<ChatResponse>> ModelManager::hedged(Call& call) {
  const int width = static_cast<int>(std::min<std::size_t>(call.size, 1 + config_.hedging->max_extra));
  call.tried = width;
  const ChatRequest* req = &call.request;
  int* counted = &call.attempts;
  const Call* order = &call;
  auto make = [this, order, req, width, counted](int i) {
    Slot& slot = *slots_[order->model_at(static_cast<std::size_t>(i % width))];
    return policy::run_attempts(ModelPlan{*this, slot, *req, counted});
  };
  co_return co_await hedging_->execute(std::move(make), &call.ids);
}

bool ModelManager::enter_model(Call& call, std::size_t index, TimePoint now) {
  const TransportInfo& info = slots_[index]->transport->info();
  if (!call.last_model.empty()) {
    ++counters_.fallbacks;
    emit(events_, now, ev::model_fallback,
         {{key::from, call.last_model}, {key::to, info.name}, {key::code, call.failures ? call.failures->code : ErrorCode::internal}},
         &call.ids);
  }
  call.last_model = info.name;
  const int prompt = call.request.prompt_tokens;
  if ((prompt > info.context_window && config_.skip_over_window) || info.context_window <= call.overflow_window) {
    ++counters_.context_skips;
    emit(events_, now, ev::model_skip,
         {{key::model, info.name}, {key::reason, "context_window"}, {key::prompt_tokens, prompt}, {key::window, info.context_window}},
         &call.ids);
    Error skipped{ErrorCode::context_overflow, "prompt does not fit this model's context window"};
    skipped.provider = info.name;
    call.failures = chain_failure(std::move(skipped), call.failures);
    return false;
  }
  return true;
}

bool ModelManager::next_after(Call& call, std::size_t index, Error e) {
  const ErrorCode code = e.code;
  call.failures = chain_failure(std::move(e), call.failures);
  if (code == ErrorCode::cancelled || call.stop_call) return false;
  if (code == ErrorCode::context_overflow) {
    if (!config_.context_window_fallback) return false;
    ++counters_.context_fallbacks;
    call.overflow_window = std::max(call.overflow_window, slots_[index]->transport->info().context_window);
    return true;
  }
  return config_.fallback_on_error;
}

void ModelManager::finish_ok(Call& call, const ChatResponse& r, TimePoint now) {
  ++counters_.succeeded;
  counters_.answered_usage.prompt_tokens += r.usage.prompt_tokens;
  counters_.answered_usage.completion_tokens += r.usage.completion_tokens;
  if (r.streamed) {  // what a truncated answer is measured by (the scenario report)
    emit(events_, now, ev::model_stream_answer,
         {{key::model, r.provider}, {key::id, r.id}, {key::tokens, static_cast<std::int64_t>(r.answer_tokens)}},
         &call.ids);
  }
  emit(events_, now, ev::model_call_end,
       {{key::ok, true}, {key::model, r.provider}, {key::attempts, call.attempts}, {key::models, call.tried}}, &call.ids);
}

Error ModelManager::finish_failed(Call& call, TimePoint now) {
  ++counters_.failed;
  const ErrorCode code = call.failures ? call.failures->code : ErrorCode::internal;
  emit(events_, now, ev::model_call_end,
       {{key::ok, false}, {key::code, code}, {key::attempts, call.attempts}, {key::models, call.tried}}, &call.ids);
  if (code == ErrorCode::cancelled) return std::move(*call.failures);
  Error all{code, "all " + std::to_string(slots_.size()) + " models failed"};
  if (call.failures) all.cause = std::make_shared<const Error>(std::move(*call.failures));
  return all;
}

}  // namespace keel::model
