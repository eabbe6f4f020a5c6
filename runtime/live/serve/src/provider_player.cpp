#include "provider_player.h"

#include <algorithm>
#include <cmath>

#include "keel/faults/fault_spec.h"
#include "keel/model/token_counter.h"
#include "keel/sim/mock_provider.h"
#include "keel/sim/provider_errors.h"
#include "keel/sim/stream_script.h"
#include "wire_format.h"

namespace keel::live::serve {

namespace {

using sim::FaultKind;

// Whole units of `unit`, rounded up: a client waiting the quoted time is never early.
std::string ceil_count(Duration d, Duration unit) {
  const std::int64_t ns = std::max<std::int64_t>(d.count(), 0);
  return std::to_string(ns / unit.count() + (ns % unit.count() != 0));
}

sim::RateLimits limits_of(const scenarios::Provider& p) {
  sim::RateLimits l;
  if (p.limits) {
    if (p.limits->requests_per_minute) l.requests_per_minute = static_cast<int>(*p.limits->requests_per_minute);
    if (p.limits->tokens_per_minute) l.tokens_per_minute = static_cast<int>(*p.limits->tokens_per_minute);
  }
  return l;
}

}  // namespace

ProviderPlayer::ProviderPlayer(const scenarios::Provider& provider, Rng rng, faults::FaultPlan& plan,
                               sim::Responder responder, double time_scale)
    : name_(provider.name),
      api_(provider.api == scenarios::Api::anthropic ? model::ProviderApi::anthropic : model::ProviderApi::openai),
      context_window_(static_cast<int>(provider.context_window)),
      output_tokens_(static_cast<int>(provider.output_tokens)),
      token_interval_(provider.token_interval),
      supports_prefill_(provider.supports_prefill),
      latency_(provider.latency),
      latency_rng_(rng),
      extra_rng_(rng.substream("extra_latency")),
      plan_(plan),
      responder_(responder ? std::move(responder) : sim::Responder{sim::ScriptedResponder{}}),
      scale_(time_scale),
      window_(limits_of(provider)) {}

Duration ProviderPlayer::real(Duration scenario) const noexcept {
  const double ns = static_cast<double>(scenario.count()) * scale_;
  if (ns >= static_cast<double>(Duration::max().count())) return Duration::max();
  return Duration{std::max<std::int64_t>(0, std::llround(ns))};
}

std::optional<Duration> ProviderPlayer::scaled(std::optional<Duration> scenario) const noexcept {
  if (!scenario) return std::nullopt;
  return real(*scenario);
}

Reply ProviderPlayer::http(const sim::HttpErrorResponse& r, Duration delay_scn) const {
  Reply reply;
  reply.kind = Reply::Kind::http;
  reply.delay = real(delay_scn);
  reply.status = r.status;
  reply.body = r.body;
  if (!r.body.empty() && r.body.front() == '<') reply.content_type = "text/html";
  return reply;
}

Reply ProviderPlayer::rate_limited(const sim::HttpErrorResponse& r, Duration delay_scn,
                                   std::optional<Duration> retry_after_scn) const {
  Reply reply = http(r, delay_scn);
  if (retry_after_scn) {
    const Duration wait = real(*retry_after_scn);
    reply.headers.emplace_back("retry-after", ceil_count(wait, std::chrono::seconds{1}));
    reply.headers.emplace_back("retry-after-ms", ceil_count(wait, std::chrono::milliseconds{1}));
  }
  return reply;
}

// The script's events at sim::MockProvider's times (relative to `open_scn`, when the status line
// goes), shaped by a stream fault: cut or stalled before an event, one bad event, no sentinel.
Reply ProviderPlayer::stream(const sim::StreamScript& script, const std::optional<sim::InjectedFault>& fault,
                             Duration open_scn, Duration first_token_scn) const {
  std::size_t cut_before = script.events.size(), malformed_before = script.events.size();
  std::size_t end = script.events.size();
  Reply reply;
  reply.kind = Reply::Kind::stream;
  reply.content_type = "text/event-stream; charset=utf-8";
  reply.delay = real(open_scn);
  if (fault) {
    const std::int64_t half = output_tokens_ / 2;
    switch (fault->kind) {
      case FaultKind::stream_cut:
      case FaultKind::stream_stall:
        cut_before = sim::event_of_token(script, fault->after_tokens.value_or(half));
        reply.end = fault->kind == FaultKind::stream_cut ? Reply::End::cut : Reply::End::stall;
        break;
      case FaultKind::malformed_chunk: malformed_before = sim::event_of_token(script, fault->at_token - 1); break;
      case FaultKind::missing_done: end = script.terminator; break;
      default: break;
    }
  }
  const Duration first = std::max(Duration::zero(), first_token_scn - open_scn);
  Duration at{};
  std::int64_t tokens = 0;
  for (std::size_t i = 0; i < end; ++i) {
    const sim::ScriptedEvent& ev = script.events[i];
    if (ev.token) at = std::max(at, saturating_add(first, sim::paced(token_interval_, tokens++)));
    if (i == cut_before) {
      if (reply.end == Reply::End::cut) reply.cut_at = real(at);  // when the next token was due
      const Duration last = reply.frame_at.empty() ? Duration::zero() : reply.frame_at.back();
      if (reply.end == Reply::End::stall && fault->stall) reply.cut_at = saturating_add(last, real(*fault->stall));
      break;
    }
    if (i == malformed_before) {
      reply.frames.push_back(sse_frame(sim::malformed_event(api_)));
      reply.frame_at.push_back(real(at));
    }
    reply.frames.push_back(sse_frame(ev.event));
    reply.frame_at.push_back(real(at));
  }
  return reply;
}

// The v1 malformed_response on a stream: its first event at R, then one event of cut-off JSON
// and its sentinel at L.
Reply ProviderPlayer::malformed_stream(const WireAnswer& a, const Timing& t) const {
  const sim::StreamScript script = stream_script(api_, a, false);
  Reply reply;
  reply.kind = Reply::Kind::stream;
  reply.content_type = "text/event-stream; charset=utf-8";
  reply.delay = real(t.reject);
  reply.frames = {sse_frame(script.events.front().event), sse_frame(sim::malformed_event(api_)),
                  sse_frame(script.events.back().event)};
  const Duration bad_at = real(t.latency - t.reject);
  reply.frame_at = {Duration::zero(), bad_at, bad_at};
  return reply;
}

// A whole (not streamed) answer the fault breaks: headers that promise it, then a cut or silence.
Reply ProviderPlayer::body_fault(const sim::InjectedFault& f, std::string body, Duration delay_scn) const {
  Reply r;
  r.kind = Reply::Kind::http;
  r.delay = real(delay_scn);
  r.body_sent = f.kind == FaultKind::stream_cut ? body.size() / 2 : 0;
  r.body = std::move(body);
  r.end = f.kind == FaultKind::stream_cut ? Reply::End::cut : Reply::End::stall;
  if (f.kind == FaultKind::stream_cut) r.cut_at = Duration::zero();
  if (f.kind == FaultKind::stream_stall && f.stall) r.cut_at = real(*f.stall);
  return r;
}

std::optional<Reply> ProviderPlayer::fault_reply(const sim::InjectedFault& f, Timing& t, const AnswerFn& answer,
                                                 const WireRequest& request) {
  const bool streaming = request.chat.stream;
  switch (f.kind) {
    case FaultKind::slow:
      if (f.extra_latency) t.extra = f.extra_latency->sample(extra_rng_);
      return std::nullopt;
    case FaultKind::slow_first_token:
      if (f.extra_latency) (streaming ? t.first_token_extra : t.extra) = f.extra_latency->sample(extra_rng_);
      return std::nullopt;
    case FaultKind::missing_done:
      if (streaming) t.in_stream = f;
      return std::nullopt;
    case FaultKind::rate_limit:
      return rate_limited(sim::rate_limit_error(api_, nullptr, scaled(f.retry_after)), t.reject, f.retry_after);
    case FaultKind::server_error: return http(sim::server_error(api_, f.status), t.latency);
    case FaultKind::hang: return Reply{.kind = Reply::Kind::hang};
    case FaultKind::context_overflow:
      return http(sim::context_length_error(api_, std::max<std::int64_t>(t.prompt_tokens, std::int64_t{context_window_} + 1),
                                            context_window_),
                  t.reject);
    case FaultKind::quota_exhausted: return http(sim::quota_error(api_), t.reject);
    case FaultKind::auth_error: return http(sim::auth_error(api_), t.reject);
    case FaultKind::content_filter: return http(sim::content_filter_error(api_), t.reject);
    case FaultKind::network_reset: return Reply{.kind = Reply::Kind::reset, .delay = real(t.latency / 2)};
    case FaultKind::malformed_response:
      if (streaming) return malformed_stream(answer(), t);
      return http(sim::malformed_success(api_), t.latency);
    case FaultKind::stream_cut:
    case FaultKind::stream_stall:
    case FaultKind::malformed_chunk:
      if (streaming) {  // shapes the stream the provider's own checks (3-5) let through
        t.in_stream = f;
        return std::nullopt;
      }
      if (f.kind == FaultKind::malformed_chunk) return http(sim::malformed_success(api_), t.latency);
      return body_fault(f, completion_body(api_, answer()), t.latency);
    case FaultKind::tool_error: return http(sim::server_error(api_, 500), t.latency);
  }
  return std::nullopt;
}

Reply ProviderPlayer::handle(const WireRequest& request, TimePoint now, std::int64_t unix_seconds) {
  const std::uint64_t index = counters_.requests++;
  Timing t;
  t.prompt_tokens = model::ApproxTokenCounter{}.count(request.chat.messages);
  counters_.max_prompt_tokens = std::max(counters_.max_prompt_tokens, t.prompt_tokens);
  t.latency = latency_.sample(latency_rng_);
  t.reject = t.latency / 10;
  const std::optional<faults::FaultDecision> decision = plan_.next(name_, now);
  if (decision) ++counters_.faults_injected;

  const AnswerFn answer = [&] {
    sim::ModelAnswer a = responder_(request.chat, sim::ResponseContext{name_, index, output_tokens_});
    WireAnswer w;
    const std::string n = std::to_string(index);
    w.id = api_ == model::ProviderApi::anthropic ? "msg_keel_" + n : "chatcmpl-keel-" + n;
    w.model = request.chat.model.empty() ? name_ : request.chat.model;
    w.created = unix_seconds;
    w.message = std::move(a.message);
    w.finish_reason = a.finish_reason;
    w.prompt_tokens = t.prompt_tokens;
    w.output_tokens = output_tokens_;
    return w;
  };

  if (decision) {
    if (std::optional<Reply> decided = fault_reply(decision->fault, t, answer, request)) {
      decided->fault = faults::fault_kind_name(decision->fault.kind);
      return std::move(*decided);
    }
  }
  Reply reply = answer_or_refusal(request, now, t, answer);
  if (decision) reply.fault = faults::fault_kind_name(decision->fault.kind);
  return reply;
}

// Steps 3-5: the provider's own refusals (context window, limits, prefill), else the answer.
Reply ProviderPlayer::answer_or_refusal(const WireRequest& request, TimePoint now, const Timing& t, const AnswerFn& answer) {
  const Duration refuse_at = saturating_add(t.reject, t.extra);
  if (t.prompt_tokens > context_window_) {
    ++counters_.context_overflows;
    return http(sim::context_length_error(api_, t.prompt_tokens, context_window_), refuse_at);
  }
  if (const sim::RateDecision d = window_.admit(now, std::int64_t{t.prompt_tokens} + output_tokens_); !d.admitted) {
    ++counters_.rate_limited;
    std::optional<Duration> retry_after;
    if (d.available_at) retry_after = std::max(Duration::zero(), *d.available_at - saturating_add(now, refuse_at));
    return rate_limited(sim::rate_limit_error(api_, &d, scaled(retry_after)), refuse_at, retry_after);
  }
  const bool continuation = sim::is_continuation(request.chat);
  if (continuation && !supports_prefill_) return http(sim::prefill_refused(api_), refuse_at);
  ++counters_.successes;
  const Duration answer_at = saturating_add(t.latency, t.extra);
  if (request.chat.stream) {
    WireAnswer a = answer();
    if (continuation) {  // the prefill holds the start of the answer: only the rest streams
      const std::size_t prefilled = std::min(request.chat.messages.back().content.size(), a.message.content.size());
      a.message.content.erase(0, prefilled);
    }
    return stream(stream_script(api_, a, request.include_usage), t.in_stream, refuse_at,
                  saturating_add(answer_at, t.first_token_extra));
  }
  // A whole answer takes its tokens' time too.
  Reply reply;
  reply.delay = real(saturating_add(answer_at, sim::paced(token_interval_, output_tokens_)));
  reply.body = completion_body(api_, answer());
  return reply;
}

}  // namespace keel::live::serve
