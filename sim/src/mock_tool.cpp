#include "keel/sim/mock_tool.h"

#include <optional>
#include <stdexcept>
#include <utility>

#include "json_text.h"
#include "keel/core/sleep.h"

namespace keel::sim {

namespace {

MockToolConfig validated(MockToolConfig c) {
  if (c.name.empty()) throw std::invalid_argument("MockTool: empty name");
  return c;
}

std::string_view tool_fault_name(FaultKind k) noexcept {
  switch (k) {
    case FaultKind::hang: return "hang";
    case FaultKind::slow: return "slow";
    default: return "error";  // every other kind fails the tool
  }
}

}  // namespace

MockTool::MockTool(Scheduler& scheduler, MockToolConfig config, Rng rng, FaultHook* faults, EventSink* events)
    : scheduler_(scheduler),
      config_(validated(std::move(config))),
      target_("tool:" + config_.name),
      spec_{config_.name, "simulated tool " + config_.name, R"({"type":"object"})"},
      options_{.idempotent = config_.idempotent},
      latency_rng_(rng),
      extra_rng_(rng.substream("extra_latency")),
      faults_(faults),
      events_(events) {}

Result<std::string> MockTool::finish(std::uint64_t index, TimePoint started, Result<std::string> r) {
  const TimePoint now = scheduler_.now();
  if (r) {
    ++stats_.successes;
    emit(events_, now, ev::tool_response,
         {{key::tool, config_.name}, {key::index, index}, {key::ok, true}, {key::latency, now - started}});
  } else {
    ++stats_.failures;
    ++stats_.failures_by_code[static_cast<std::size_t>(r.error().code)];
    emit(events_, now, ev::tool_response,
         {{key::tool, config_.name}, {key::index, index}, {key::ok, false}, {key::code, r.error().code},
          {key::latency, now - started}});
  }
  return r;
}

Task<Result<std::string>> MockTool::invoke(std::string arguments_json) {
  const TimePoint started = scheduler_.now();
  const std::uint64_t index = stats_.executions++;
  std::string_view call_id;  // a view into arguments_json, which lives in this frame
  if (auto id = detail::find_string_field(arguments_json, "call_id")) {
    call_id = *id;
    stats_.count_execution(call_id);
  } else {
    ++stats_.untracked;
  }
  Duration delay = config_.latency.sample(latency_rng_);
  std::optional<InjectedFault> fault;
  if (faults_) fault = faults_->decide(target_, started, index);
  if (fault) ++stats_.faults_injected;
  emit(events_, started, ev::tool_request,
       {{key::tool, config_.name}, {key::index, index}, {key::call_id, call_id},
        {key::fault, fault ? tool_fault_name(fault->kind) : std::string_view{}}});

  if (fault && fault->kind == FaultKind::hang) {
    Status s = co_await until_cancelled();  // only the caller's cancellation ends a hang
    co_return finish(index, started, s ? Error{ErrorCode::cancelled, "cancelled"} : std::move(s).error());
  }
  if (fault && fault->kind == FaultKind::slow && fault->extra_latency) {
    delay = saturating_add(delay, fault->extra_latency->sample(extra_rng_));
  }
  if (Status s = co_await sleep_for(delay); !s) co_return finish(index, started, std::move(s).error());
  if (fault && fault->kind != FaultKind::slow) {
    co_return finish(index, started, Error{ErrorCode::tool_error, "injected fault: tool " + config_.name + " failed"});
  }

  std::string out;
  out.reserve(48 + config_.name.size() + call_id.size());  // one allocation for the usual result
  out += "{\"tool\":";
  detail::append_json_string(out, config_.name);
  out += ",\"call\":";
  out += std::to_string(index);
  if (!call_id.empty()) {
    out += ",\"call_id\":";
    detail::append_json_string(out, call_id);
  }
  out += '}';
  co_return finish(index, started, std::move(out));
}

}  // namespace keel::sim
