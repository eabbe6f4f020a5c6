#include "provider_player.h"

#include <algorithm>
#include <cmath>

#include "keel/faults/fault_spec.h"
#include "keel/model/token_counter.h"
#include "keel/sim/provider_errors.h"
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

Reply ProviderPlayer::stream(std::vector<std::string> frames, Duration first_scn, Duration last_scn) const {
  Reply reply;
  reply.kind = Reply::Kind::stream;
  reply.content_type = "text/event-stream; charset=utf-8";
  reply.delay = real(first_scn);
  const Duration span = real(std::max(Duration::zero(), last_scn - first_scn));
  reply.frame_gap = frames.size() > 1 ? span / static_cast<std::int64_t>(frames.size() - 1) : Duration::zero();
  reply.frames = std::move(frames);
  return reply;
}

Reply ProviderPlayer::handle(const WireRequest& request, TimePoint now, std::int64_t unix_seconds) {
  const std::uint64_t index = counters_.requests++;
  const int prompt_tokens = model::ApproxTokenCounter{}.count(request.chat.messages);
  counters_.max_prompt_tokens = std::max(counters_.max_prompt_tokens, prompt_tokens);
  const Duration latency = latency_.sample(latency_rng_);
  const Duration reject = latency / 10;
  const std::optional<faults::FaultDecision> decision = plan_.next(name_, now);
  if (decision) ++counters_.faults_injected;
  const bool streaming = request.chat.stream;

  auto answer = [&] {
    sim::ModelAnswer a = responder_(request.chat, sim::ResponseContext{name_, index, output_tokens_});
    WireAnswer w;
    const std::string n = std::to_string(index);
    w.id = api_ == model::ProviderApi::anthropic ? "msg_keel_" + n : "chatcmpl-keel-" + n;
    w.model = request.chat.model.empty() ? name_ : request.chat.model;
    w.created = unix_seconds;
    w.message = std::move(a.message);
    w.finish_reason = a.finish_reason;
    w.prompt_tokens = prompt_tokens;
    w.output_tokens = output_tokens_;
    return w;
  };

  Duration extra{};
  Reply reply;
  bool decided = false;
  if (decision) {
    const sim::InjectedFault& f = decision->fault;
    decided = true;
    switch (f.kind) {
      case FaultKind::slow:
        if (f.extra_latency) extra = f.extra_latency->sample(extra_rng_);
        decided = false;
        break;
      case FaultKind::rate_limit:
        reply = rate_limited(sim::rate_limit_error(api_, nullptr, scaled(f.retry_after)), reject, f.retry_after);
        break;
      case FaultKind::server_error: reply = http(sim::server_error(api_, f.status), latency); break;
      case FaultKind::hang:
        if (streaming) {
          std::vector<std::string> frames = stream_frames(api_, answer(), request.include_usage);
          const std::size_t sent = std::max<std::size_t>(1, frames.size() / 2);
          reply = stream(std::move(frames), reject, latency);
          reply.stall_after = sent;
        } else {
          reply.kind = Reply::Kind::hang;
        }
        break;
      case FaultKind::context_overflow:
        reply = http(sim::context_length_error(api_, std::max<std::int64_t>(prompt_tokens, std::int64_t{context_window_} + 1),
                                               context_window_),
                     reject);
        break;
      case FaultKind::quota_exhausted: reply = http(sim::quota_error(api_), reject); break;
      case FaultKind::auth_error: reply = http(sim::auth_error(api_), reject); break;
      case FaultKind::network_reset:
        reply.kind = Reply::Kind::reset;
        reply.delay = real(latency / 2);
        break;
      case FaultKind::malformed_response:
        if (streaming) reply = stream(malformed_stream_frames(api_, answer()), reject, latency);
        else reply = http(sim::malformed_success(api_), latency);
        break;
      case FaultKind::tool_error: reply = http(sim::server_error(api_, 500), latency); break;
      // The v1.1 stream faults, until the wire emits each as its own framing (issue 15, `wire`):
      // the nearest v1 behaviour.
      case FaultKind::slow_first_token:
        if (f.extra_latency) extra = f.extra_latency->sample(extra_rng_);
        decided = false;
        break;
      case FaultKind::missing_done: decided = false; break;
      case FaultKind::content_filter: reply = http(sim::content_filter_error(api_), reject); break;
      case FaultKind::malformed_chunk: reply = http(sim::malformed_success(api_), latency); break;
      case FaultKind::stream_cut:
        reply.kind = Reply::Kind::reset;
        reply.delay = real(latency);
        break;
      case FaultKind::stream_stall: reply.kind = Reply::Kind::hang; break;
    }
    if (decided) {
      reply.fault = faults::fault_kind_name(f.kind);
      return reply;
    }
  }

  if (prompt_tokens > context_window_) {
    ++counters_.context_overflows;
    reply = http(sim::context_length_error(api_, prompt_tokens, context_window_), saturating_add(reject, extra));
  } else if (const sim::RateDecision d = window_.admit(now, std::int64_t{prompt_tokens} + output_tokens_); !d.admitted) {
    ++counters_.rate_limited;
    const Duration delay = saturating_add(reject, extra);
    std::optional<Duration> retry_after;
    if (d.available_at) retry_after = std::max(Duration::zero(), *d.available_at - saturating_add(now, delay));
    reply = rate_limited(sim::rate_limit_error(api_, &d, scaled(retry_after)), delay, retry_after);
  } else {
    ++counters_.successes;
    if (streaming) {
      reply = stream(stream_frames(api_, answer(), request.include_usage), saturating_add(reject, extra),
                     saturating_add(latency, extra));
    } else {
      reply.kind = Reply::Kind::http;
      reply.delay = real(saturating_add(latency, extra));
      reply.body = completion_body(api_, answer());
    }
  }
  if (decision) reply.fault = faults::fault_kind_name(decision->fault.kind);
  return reply;
}

}  // namespace keel::live::serve
