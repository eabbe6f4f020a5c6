#include "keel/model/model_manager.h"

#include <algorithm>
#include <string>

#include "keel/core/sleep.h"
#include "keel/core/timeout.h"
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

std::optional<Error> ModelManager::begin_attempt(Slot& slot, policy::BreakerPermit& permit, TimePoint now,
                                                bool may_probe) {
  if (slot.breaker) {
    permit = slot.breaker->try_acquire(now, may_probe);
    if (!permit) return permit.error().with_provider(slot.transport->info().name);
  }
  ++counters_.attempts;
  emit(events_, now, "model.attempt", {{"model", slot.transport->info().name}});
  return std::nullopt;
}

Deadline ModelManager::attempt_deadline(TimePoint start) const noexcept {
  return config_.attempt_timeout ? Deadline::after(start, *config_.attempt_timeout) : Deadline::never();
}

void ModelManager::end_attempt(Slot& slot, const policy::BreakerPermit& permit, Result<ChatResponse>& r,
                               TimePoint start, TimePoint now) {
  if (!r && r.error().code == ErrorCode::timeout && r.error().provider.empty()) {
    r.error().provider = slot.transport->info().name;
  }
  if (slot.breaker) slot.breaker->on_result(permit, policy::BreakerOutcome::of(r), now - start, now);
  if (r && r->provider.empty()) r->provider = slot.transport->info().name;
}

Task<Result<ChatResponse>> ModelManager::attempt(std::size_t index, ChatRequest request) {
  Scheduler& sched = co_await this_task::scheduler();
  Slot& slot = *slots_[index];
  policy::BreakerPermit permit;
  if (std::optional<Error> refused = begin_attempt(slot, permit, sched.now())) co_return std::move(*refused);
  const TimePoint start = sched.now();
  std::optional<Result<ChatResponse>> r;
  if (request.stream) {  // a hedged stream: the stream limits apply, recovery is the hedge's
    StreamOutcome outcome;
    r.emplace(co_await stream_attempt(slot, request, &outcome));
  } else {
    r.emplace(co_await with_timeout(slot.transport->complete(std::move(request)), attempt_deadline(start)));
  }
  const TimePoint now = sched.now();
  if (slot.breaker && hedged_out_late(*r, now - start)) {
    // Hedged out after the hedge delay without an answer: what a per-try timeout would have
    // said (Envoy records its per-try timeout for outlier detection even when it hedges). The
    // caller still sees `cancelled`; only the breaker hears `timeout`.
    slot.breaker->on_result(permit, policy::BreakerOutcome::error(ErrorCode::timeout), now - start, now);
    co_return std::move(*r);
  }
  end_attempt(slot, permit, *r, start, now);
  co_return std::move(*r);
}

bool ModelManager::hedged_out_late(const Result<ChatResponse>& r, Duration ran) const noexcept {
  return !r && r.error().code == ErrorCode::cancelled && config_.hedging && ran >= config_.hedging->delay;
}

Task<Result<ChatResponse>> ModelManager::on_model(std::size_t index, ChatRequest request, int* attempts) {
  Slot& slot = *slots_[index];
  co_return co_await slot.retry->execute([this, index, &request, attempts] {
    ++*attempts;
    return attempt(index, request);
  });
}

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
  const CancelToken token = co_await this_task::cancel_token();
  const Deadline deadline = co_await this_task::deadline();
  const std::uint64_t call = next_call_++;
  ++counters_.calls;
  emit(events_, sched.now(), "model.call.start", {{"call", call}, {"prompt_tokens", request.prompt_tokens}});
  // The call's order: every model once, from `first`, wrapping around.
  const std::size_t n = slots_.size();
  const std::size_t first = first_for_call(call);
  const auto model_at = [first, n](std::size_t pos) { return (first + pos) % n; };

  std::optional<Error> failures;  // each model's final error, latest first
  int tried = 0;                  // models tried
  int attempts = 0;               // attempts started on every model (a breaker's refusal included)
  int overflow_window = -1;       // after a context_overflow: only larger windows qualify
  std::size_t pos = 0;
  std::string last_model;
  std::optional<StreamCall> streamed;       // streamed calls: recovery state across attempts
  if (request.stream) streamed.emplace(counters_, request);
  bool stop_call = false;                   // stream_recovery fail: no further model

  auto finish_ok = [&](const Result<ChatResponse>& r) {
    ++counters_.succeeded;
    counters_.answered_usage.prompt_tokens += r->usage.prompt_tokens;
    counters_.answered_usage.completion_tokens += r->usage.completion_tokens;
    if (r->streamed) {  // what a truncated answer is measured by (the scenario report)
      emit(events_, sched.now(), "model.stream.answer",
           {{"model", r->provider}, {"id", r->id}, {"tokens", static_cast<std::int64_t>(r->answer_tokens)}});
    }
    emit(events_, sched.now(), "model.call.end",
         {{"ok", true}, {"model", r->provider}, {"attempts", attempts}, {"models", tried}});
  };

  // Optional hedging across the first models of the order.
  if (hedging_) {
    const int width = static_cast<int>(std::min<std::size_t>(n, 1 + config_.hedging->max_extra));
    const ChatRequest* req = &request;
    int* counted = &attempts;
    Result<ChatResponse> r = co_await hedging_->execute([this, model_at, req, width, counted](int i) {
      return on_model(model_at(static_cast<std::size_t>(i % width)), *req, counted);
    });
    tried = width;
    if (r) {
      finish_ok(r);
      co_return r;
    }
    if (r.error().code == ErrorCode::cancelled || !config_.fallback_on_error) {
      ++counters_.failed;
      emit(events_, sched.now(), "model.call.end",
           {{"ok", false}, {"code", r.error().code}, {"attempts", attempts}, {"models", tried}});
      co_return r;
    }
    failures = std::move(r).error();
    pos = static_cast<std::size_t>(width);
    last_model = slots_[model_at(pos - 1)]->transport->info().name;  // moving on from it is a fallback
  }

  for (; pos < n; ++pos) {
    const std::size_t index = model_at(pos);
    Slot& slot = *slots_[index];
    const std::string& name = slot.transport->info().name;
    const int window = slot.transport->info().context_window;
    if (!last_model.empty()) {
      ++counters_.fallbacks;
      emit(events_, sched.now(), "model.fallback",
           {{"from", last_model}, {"to", name}, {"code", failures ? failures->code : ErrorCode::internal}});
    }
    last_model = name;
    if ((request.prompt_tokens > window && config_.skip_over_window) || window <= overflow_window) {
      ++counters_.context_skips;
      emit(events_, sched.now(), "model.skip", {{"model", name}, {"reason", "context_window"},
                                                {"prompt_tokens", request.prompt_tokens}, {"window", window}});
      Error skipped{ErrorCode::context_overflow, "prompt does not fit this model's context window"};
      skipped.provider = name;
      failures = chain_failure(std::move(skipped), failures);
      continue;
    }
    ++tried;
    // The model's retry loop and attempts, inline: what on_model() does for hedges, without a
    // coroutine frame per layer (Retry::Run keeps the bookkeeping identical to execute()).
    policy::Retry::Run run{&*slot.retry, deadline};
    std::optional<Result<ChatResponse>> got;
    for (;;) {
      run.start_attempt(sched.now());
      got.reset();
      policy::BreakerPermit permit;
      // A retry does not probe a half-open model when a later one can answer: its caller has
      // already paid one failure here (a whole attempt timeout on a silent route).
      const bool may_probe = run.attempt() == 1 || pos + 1 == n;
      if (std::optional<Error> refused = begin_attempt(slot, permit, sched.now(), may_probe)) {
        got.emplace(std::move(*refused));
      } else if (!request.stream) {
        const TimePoint start = sched.now();
        got.emplace(co_await with_timeout(slot.transport->complete(request), attempt_deadline(start)));
        end_attempt(slot, permit, *got, start, sched.now());
      } else {
        const TimePoint start = sched.now();
        const bool prefill = streamed->wants_prefill(slot);
        if (prefill) ++counters_.continuations;
        streamed->attempt_continues = prefill;
        got.emplace(co_await stream_attempt(slot, prefill ? streamed->continued : request, &streamed->outcome));
        end_attempt(slot, permit, *got, start, sched.now());
        if (got->ok()) {
          streamed->complete(**got, prefill);
        } else if (prefill && got->error().code == ErrorCode::invalid_request) {
          streamed->refused_prefill(slot);  // the refusal is never the call's error: ask again, whole
          continue;
        }
      }
      if (got->ok()) {
        run.succeeded();
        break;
      }
      if (request.stream) {
        const StreamCall::Next next = streamed->after_failure(request, got->error(), pos + 1 < n, config_.stream);
        if (next != StreamCall::Next::usual) {
          run.failed_without_retry(got->error(), sched.now());
          if (next == StreamCall::Next::next_model) ++counters_.silent_route_moves;
          if (next == StreamCall::Next::end_call) stop_call = true;
          break;
        }
      }
      const policy::RetryDecision& decision = run.failed(got->error(), token.cancelled(), sched.now());
      if (decision.reason == policy::RetryReason::cancelled && got->error().code != ErrorCode::cancelled) {
        got.emplace(policy::Retry::Run::cancelled(std::move(*got).error()));
        break;
      }
      if (!decision.retry()) break;
      if (Status slept = co_await sleep_for(decision.delay); !slept) {
        got.emplace(run.backoff_cancelled(std::move(*got).error(), sched.now()));
        break;
      }
    }
    attempts += run.attempt();
    if (*got) {
      finish_ok(*got);
      co_return std::move(*got);
    }
    const ErrorCode code = (*got).error().code;
    failures = chain_failure(std::move(*got).error(), failures);
    if (code == ErrorCode::cancelled || stop_call) break;
    if (code == ErrorCode::context_overflow) {
      if (!config_.context_window_fallback) break;
      ++counters_.context_fallbacks;
      overflow_window = std::max(overflow_window, window);
      continue;
    }
    if (!config_.fallback_on_error) break;
  }

  ++counters_.failed;
  const ErrorCode code = failures ? failures->code : ErrorCode::internal;
  emit(events_, sched.now(), "model.call.end", {{"ok", false}, {"code", code}, {"attempts", attempts}, {"models", tried}});
  if (code == ErrorCode::cancelled) co_return std::move(*failures);
  Error all{code, "all " + std::to_string(slots_.size()) + " models failed"};
  if (failures) all.cause = std::make_shared<const Error>(std::move(*failures));
  co_return all;
}

}  // namespace keel::model
