#include "keel/sim/mock_provider.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "keel/core/sleep.h"
#include "keel/model/classify.h"
#include "keel/model/token_counter.h"
#include "keel/sim/provider_errors.h"
#include "mock_plan.h"

namespace keel::sim {

namespace {

MockProviderConfig validated(MockProviderConfig c) {
  if (c.name.empty()) throw std::invalid_argument("MockProvider: empty name");
  if (c.context_window < 1) throw std::invalid_argument("MockProvider " + c.name + ": context_window < 1");
  if (c.output_tokens < 0) throw std::invalid_argument("MockProvider " + c.name + ": output_tokens < 0");
  if (c.token_interval < Duration::zero()) throw std::invalid_argument("MockProvider " + c.name + ": token_interval < 0");
  return c;
}

}  // namespace

Duration paced(Duration interval, std::int64_t tokens) noexcept {
  if (tokens <= 0 || interval <= Duration::zero()) return Duration::zero();
  if (interval.count() > Duration::max().count() / tokens) return Duration::max();
  return interval * tokens;
}


MockProvider::MockProvider(Scheduler& scheduler, MockProviderConfig config, Rng rng, FaultHook* faults,
                           EventSink* events, Responder responder)
    : scheduler_(scheduler),
      config_(validated(std::move(config))),
      info_{config_.name, config_.api, config_.context_window, config_.name, config_.supports_prefill},
      latency_rng_(rng),
      extra_rng_(rng.substream("extra_latency")),
      faults_(faults),
      events_(events),
      responder_(responder ? std::move(responder) : Responder{ScriptedResponder{}}),
      window_(RateLimits{config_.requests_per_minute, config_.tokens_per_minute}) {}

MockProvider::Plan MockProvider::plan(const std::optional<InjectedFault>& fault, int prompt_tokens, Duration latency,
                                      TimePoint now) {
  const model::ProviderApi api = config_.api;
  const Duration reject = latency / 10;
  auto http = [](HttpErrorResponse r, Duration delay, std::optional<Duration> retry_after = std::nullopt) {
    return Plan{Plan::Kind::http_failure, delay, std::move(r), retry_after};
  };

  Duration extra{};
  if (fault) {
    switch (fault->kind) {
      case FaultKind::slow:
      case FaultKind::slow_first_token:  // a whole answer's first token is the answer: like slow
        if (fault->extra_latency) extra = fault->extra_latency->sample(extra_rng_);
        break;
      case FaultKind::missing_done: break;  // nothing to miss in a whole answer
      case FaultKind::content_filter: return http(content_filter_error(api), reject);
      case FaultKind::malformed_chunk: return http(malformed_success(api), latency);
      case FaultKind::stream_cut:  // the headers promise a body that is cut short
        return Plan{Plan::Kind::body_cut, latency};
      case FaultKind::stream_stall:  // headers, then silence for `stall` (or forever), then the close
        if (!fault->stall) return Plan{Plan::Kind::hang};
        return Plan{Plan::Kind::body_cut, saturating_add(latency, *fault->stall)};
      case FaultKind::rate_limit: return http(rate_limit_error(api, nullptr, fault->retry_after), reject, fault->retry_after);
      case FaultKind::server_error: return http(server_error(api, fault->status), latency);
      case FaultKind::hang: return Plan{Plan::Kind::hang};
      case FaultKind::context_overflow:
        return http(context_length_error(api, std::max<std::int64_t>(prompt_tokens, std::int64_t{config_.context_window} + 1),
                                         config_.context_window),
                    reject);
      case FaultKind::quota_exhausted: return http(quota_error(api), reject);
      case FaultKind::auth_error: return http(auth_error(api), reject);
      case FaultKind::network_reset: return Plan{Plan::Kind::network_reset, latency / 2};
      case FaultKind::malformed_response: return http(malformed_success(api), latency);
      case FaultKind::tool_error: return http(server_error(api, 500), latency);  // a tool fault aimed at a provider
    }
  }

  if (prompt_tokens > config_.context_window) {
    return http(context_length_error(api, prompt_tokens, config_.context_window), saturating_add(reject, extra));
  }
  const RateDecision d = window_.admit(now, std::int64_t{prompt_tokens} + config_.output_tokens);
  if (!d.admitted) {
    const Duration delay = saturating_add(reject, extra);
    std::optional<Duration> retry_after;
    if (d.available_at) retry_after = std::max(Duration::zero(), *d.available_at - saturating_add(now, delay));
    return http(rate_limit_error(api, &d, retry_after), delay, retry_after);
  }
  const Duration generation = paced(config_.token_interval, config_.output_tokens);
  return Plan{Plan::Kind::answer, saturating_add(saturating_add(latency, extra), generation)};
}

void MockProvider::record_end(const Arrival& a, const Error* failure) {
  const TimePoint now = scheduler_.now();
  if (!failure) {
    ++stats_.successes;
    emit(events_, now, ev::provider_response,
         {{key::target, config_.name}, {key::index, a.index}, {key::ok, true}, {key::status, 200},
          {key::latency, now - a.arrived}},
         a.ids);
  } else {
    ++stats_.failures;
    ++stats_.failures_by_code[static_cast<std::size_t>(failure->code)];
    emit(events_, now, ev::provider_response,
         {{key::target, config_.name}, {key::index, a.index}, {key::ok, false}, {key::code, failure->code},
          {key::status, failure->http_status}, {key::latency, now - a.arrived}},
         a.ids);
  }
}

Error MockProvider::fail(const Arrival& a, Error e) {
  record_end(a, &e);
  return e;
}

MockProvider::Arrival MockProvider::arrive(const model::ChatRequest& request) {
  Arrival a;
  a.ids = &request.trace;
  a.arrived = scheduler_.now();
  a.index = stats_.requests++;
  a.prompt_tokens = request.prompt_tokens > 0 ? request.prompt_tokens : model::ApproxTokenCounter{}.count(request.messages);
  stats_.max_prompt_tokens = std::max(stats_.max_prompt_tokens, a.prompt_tokens);
  a.latency = config_.latency.sample(latency_rng_);
  if (faults_) a.fault = faults_->decide(config_.name, a.arrived, a.index);
  if (a.fault) ++stats_.faults_injected;
  emit(events_, a.arrived, ev::provider_request,
       {{key::target, config_.name}, {key::index, a.index}, {key::prompt_tokens, a.prompt_tokens},
        {key::fault, a.fault ? to_string(a.fault->kind) : std::string_view{}}},
       a.ids);
  return a;
}

Error MockProvider::plan_error(const Plan& p) const {
  switch (p.kind) {
    case Plan::Kind::http_failure: {
      Error e = model::classify_failure(config_.api, config_.name,
                                        model::HttpFailure{p.http.status, p.http.body, p.retry_after});
      if (p.http.status == 200) e.message = "unparseable response body (HTTP 200)";
      return e;
    }
    case Plan::Kind::network_reset: return Error{ErrorCode::network, "connection reset by peer"}.with_provider(config_.name);
    case Plan::Kind::body_cut:
      return Error{ErrorCode::network, "connection closed before the response body ended"}.with_provider(config_.name);
    case Plan::Kind::hang:
    case Plan::Kind::answer: break;
  }
  return Error{ErrorCode::internal, "not a failing plan"}.with_provider(config_.name);
}

Task<Error> MockProvider::wait_failure(const Plan& p) {
  if (p.kind == Plan::Kind::hang) {
    Status s = co_await until_cancelled();  // only the caller's cancellation ends a hang
    Error e = s ? Error{ErrorCode::cancelled, "cancelled"} : std::move(s).error();
    e.provider = config_.name;
    co_return e;
  }
  if (Status s = co_await sleep_for(p.delay); !s) {
    Error e = std::move(s).error();
    e.provider = config_.name;
    co_return e;
  }
  co_return plan_error(p);
}

Task<Result<model::ChatResponse>> MockProvider::complete(model::ChatRequest request) {
  const Arrival a = arrive(request);  // its ids point into `request`, in this frame
  Plan p = plan(a.fault, a.prompt_tokens, a.latency, a.arrived);
  if (p.kind != Plan::Kind::answer) {
    Error e = co_await wait_failure(p);
    co_return fail(a, std::move(e));
  }
  if (Status s = co_await sleep_for(p.delay); !s) {
    Error e = std::move(s).error();
    e.provider = config_.name;
    co_return fail(a, std::move(e));
  }

  ModelAnswer answer = responder_(request, ResponseContext{config_.name, a.index, config_.output_tokens});
  model::ChatResponse response;
  response.message = std::move(answer.message);
  response.message.role = model::Role::assistant;
  response.usage = {a.prompt_tokens, config_.output_tokens};
  response.finish_reason = answer.finish_reason;
  response.model = info_.model;
  response.provider = config_.name;
  record_end(a, nullptr);
  co_return std::move(response);  // straight into the promise: no Result moved on the way
}

}  // namespace keel::sim
