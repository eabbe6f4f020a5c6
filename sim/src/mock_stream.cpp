// MockProvider::stream: a streamed answer token by token in virtual time, and the stream
// faults (mock_provider.h, "Streams").
#include <algorithm>

#include "keel/core/sleep.h"
#include "keel/model/classify.h"
#include "keel/sim/mock_provider.h"
#include "keel/sim/provider_errors.h"
#include "keel/sim/stream_script.h"
#include "mock_plan.h"

namespace keel::sim {

namespace {

bool is_stream_fault(FaultKind k) noexcept {
  return k == FaultKind::slow_first_token || k == FaultKind::stream_cut || k == FaultKind::stream_stall ||
         k == FaultKind::malformed_chunk || k == FaultKind::missing_done;
}

}  // namespace

// How a streamed answer goes: when its events come and how it ends.
struct MockProvider::StreamPlan {
  TimePoint open_at, first_token_at;
  Duration interval{};
  std::size_t cut_before = SIZE_MAX;       // stream_cut / stream_stall: events from here never come
  std::optional<Duration> stall;           // stream_stall: silence, then the cut (none: forever)
  bool stalls = false;
  std::size_t malformed_before = SIZE_MAX; // malformed_chunk: the bad event comes before this one
  bool drop_terminator = false;            // missing_done
};

MockProvider::StreamPlan MockProvider::stream_plan(const std::optional<InjectedFault>& fault, const StreamScript& script,
                                                   TimePoint arrived, Duration first_token, Duration reject) {
  StreamPlan sp;
  sp.open_at = saturating_add(arrived, reject);
  sp.first_token_at = saturating_add(arrived, first_token);
  sp.interval = config_.token_interval;
  if (!fault) return sp;
  const std::int64_t half = config_.output_tokens / 2;
  switch (fault->kind) {
    case FaultKind::stream_cut: sp.cut_before = event_of_token(script, fault->after_tokens.value_or(half)); break;
    case FaultKind::stream_stall:
      sp.cut_before = event_of_token(script, fault->after_tokens.value_or(half));
      sp.stalls = true;
      sp.stall = fault->stall;
      break;
    case FaultKind::malformed_chunk: sp.malformed_before = event_of_token(script, fault->at_token - 1); break;
    case FaultKind::missing_done: sp.drop_terminator = true; break;
    default: break;
  }
  return sp;
}

Task<Status> MockProvider::stream(model::ChatRequest request, model::StreamSink& sink) {
  const Arrival a = arrive(request);  // its ids point into `request`, in this frame
  const bool continuation = is_continuation(request);
  const bool stream_fault = a.fault && is_stream_fault(a.fault->kind);
  Duration first_extra{};
  if (stream_fault && a.fault->kind == FaultKind::slow_first_token && a.fault->extra_latency) {
    first_extra = a.fault->extra_latency->sample(extra_rng_);
  }
  Plan p = plan(stream_fault ? std::nullopt : a.fault, a.prompt_tokens, a.latency, a.arrived);
  if (continuation && !config_.supports_prefill && p.kind == Plan::Kind::answer) {
    p = Plan{Plan::Kind::http_failure, a.latency / 10, prefill_refused(config_.api)};
  }
  if (p.kind != Plan::Kind::answer) {
    Error e = co_await wait_failure(p);
    co_return fail(a, std::move(e));
  }

  ModelAnswer answer = responder_(request, ResponseContext{config_.name, a.index, config_.output_tokens});
  std::size_t prefilled = 0;  // a continuation streams only the rest of the answer
  if (continuation) {
    prefilled = std::min(request.messages.back().content.size(), answer.message.content.size());
    answer.message.content.erase(0, prefilled);
  }
  const bool anthropic = config_.api == model::ProviderApi::anthropic;
  const std::string n = std::to_string(a.index);
  StreamScript script = stream_script(config_.api, {.id = anthropic ? "msg_sim_" + n : "chatcmpl-sim-" + n,
                                                    .model = info_.model,
                                                    .message = std::move(answer.message),
                                                    .finish_reason = answer.finish_reason,
                                                    .prompt_tokens = a.prompt_tokens});
  stream_tokens_.emplace_back(a.index, script.tokens + static_cast<int>((prefilled + 3) / 4));
  const Duration generation = paced(config_.token_interval, config_.output_tokens);
  const Duration first = saturating_add(p.delay > generation ? p.delay - generation : p.delay, first_extra);
  const StreamPlan sp = stream_plan(stream_fault ? a.fault : std::nullopt, script, a.arrived, first, a.latency / 10);
  Status s = co_await play(script, sp, sink);
  if (!s) {
    Error e = std::move(s).error();
    if (e.provider.empty()) e.provider = config_.name;
    co_return fail(a, std::move(e));
  }
  record_end(a, nullptr);
  co_return Status{};
}

// Sends the script's events at their times; ends with the plan's cut or stall, or cleanly.
Task<Status> MockProvider::play(const StreamScript& script, const StreamPlan& sp, model::StreamSink& sink) {
  std::int64_t tokens = 0;
  TimePoint at = sp.open_at;
  for (std::size_t i = 0; i < script.events.size(); ++i) {
    if (i == script.terminator && sp.drop_terminator) break;
    const ScriptedEvent& ev = script.events[i];
    if (ev.token) at = std::max(at, saturating_add(sp.first_token_at, paced(sp.interval, tokens) ));
    if (i == sp.cut_before) {
      if (sp.stalls) {
        if (!sp.stall) {
          Status hung = co_await until_cancelled();
          co_return hung ? Status{Error{ErrorCode::cancelled, "cancelled"}} : hung;
        }
        if (Status slept = co_await sleep_until(saturating_add(scheduler_.now(), *sp.stall)); !slept) co_return slept;
      } else if (Status slept = co_await sleep_until(at); !slept) {
        co_return slept;
      }
      co_return Error{ErrorCode::network, "connection closed mid-stream (no finish reason, no terminator)"};
    }
    if (at > scheduler_.now()) {
      if (Status slept = co_await sleep_until(at); !slept) co_return slept;
    }
    if (i == sp.malformed_before) {
      if (Status s = sink.on_event(malformed_event(config_.api)); !s) co_return s;
    }
    if (Status s = sink.on_event(ev.event); !s) co_return s;
    if (ev.token) ++tokens;
  }
  co_return Status{};
}

int MockProvider::streamed_tokens(std::uint64_t index) const noexcept {
  auto it = std::lower_bound(stream_tokens_.begin(), stream_tokens_.end(), std::pair<std::uint64_t, int>{index, INT32_MIN});
  return it != stream_tokens_.end() && it->first == index ? it->second : -1;
}

}  // namespace keel::sim
