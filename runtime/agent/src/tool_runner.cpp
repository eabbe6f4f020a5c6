#include "keel/agent/tool_runner.h"

#include <algorithm>
#include <exception>
#include <string_view>
#include <utility>

#include "keel/core/json_check.h"
#include "keel/core/sleep.h"
#include "keel/core/timeout.h"

namespace keel::agent {

namespace {

bool only_whitespace(std::string_view s) noexcept {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
}

// Why `arguments` is not acceptable, or an empty string when it is a JSON object.
std::string argument_problem(std::string_view arguments) {
  const std::optional<JsonType> type = json_type(arguments);
  if (!type) return "arguments are not valid JSON";
  if (*type == JsonType::object) return {};
  return std::string{"arguments must be a JSON object, got "}.append(to_string(*type));
}

std::string whole_ms(Duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()) + " ms";
}

bool worth_retrying(ErrorCode c) noexcept { return c == ErrorCode::tool_error || is_retryable(c); }

}  // namespace

ToolRunner::ToolRunner(Toolkit& toolkit, ToolRunnerConfig config, Rng rng, EventSink* events)
    : toolkit_(toolkit), config_(std::move(config)), rng_(rng), events_(events) {}

std::optional<Duration> ToolRunner::timeout_for(const Tool& tool) const noexcept {
  const ToolOptions& o = tool.options();
  if (o.no_timeout) return std::nullopt;
  return o.timeout ? o.timeout : config_.default_timeout;
}

Task<ToolResult> ToolRunner::execute(model::ToolCall call, TraceIds ids, Retries retries) {
  Scheduler& sched = co_await this_task::scheduler();
  StampingSink events{events_};  // this call's events, with its ids (one runner serves every agent)
  events.set(ids);
  const CancelToken token = co_await this_task::cancel_token();
  const TimePoint started = sched.now();
  ++counters_.calls;

  ToolResult r;
  r.call_id = std::move(call.id);
  r.tool = std::move(call.name);
  std::string arguments = only_whitespace(call.arguments) ? std::string{"{}"} : std::move(call.arguments);

  Tool* tool = toolkit_.find(r.tool);
  if (!tool) {
    ++counters_.rejected;
    r.error = ErrorCode::invalid_request;
    r.error_message = "unknown tool '" + r.tool + "'";
    record_end(r, started, sched.now(), events.sink());
    co_return std::move(r);
  }
  if (std::string problem = argument_problem(arguments); !problem.empty()) {
    ++counters_.rejected;
    r.error = ErrorCode::invalid_request;
    r.error_message = "tool '" + r.tool + "': " + problem;
    record_end(r, started, sched.now(), events.sink());
    co_return std::move(r);
  }

  const ToolOptions& opts = tool->options();
  const std::optional<Duration> timeout = timeout_for(*tool);
  const int max_attempts = opts.idempotent && retries == Retries::tool_policy ? std::max(1, opts.max_attempts) : 1;
  policy::Backoff backoff{config_.retry_backoff};

  for (int attempt = 1;; ++attempt) {
    if (token.cancelled()) {
      r.error = ErrorCode::cancelled;
      r.error_message = "cancelled before the tool started";
      break;
    }
    const Deadline caller_deadline = co_await this_task::deadline();
    const Deadline deadline =
        timeout ? Deadline::earliest(caller_deadline, Deadline::after(sched.now(), *timeout)) : caller_deadline;
    if (deadline.passed(sched.now())) {
      r.error = ErrorCode::timeout;
      r.error_message = "no time left to run the tool";
      break;
    }

    ++counters_.executions;
    r.attempts = attempt;
    const TimePoint attempt_started = sched.now();
    emit(events.sink(), attempt_started, "tool.start", {{"tool", r.tool}, {"call_id", r.call_id}, {"attempt", attempt}});
    // The last possible attempt takes the arguments; earlier ones get a copy for the next.
    // (A local, not a ?: inside the co_await: g++ 12 destroys such a temporary twice.)
    std::string attempt_arguments;
    if (attempt == max_attempts) attempt_arguments = std::move(arguments);
    else attempt_arguments = arguments;
    std::optional<Result<std::string>> attempt_out;  // the attempt, inline: no coroutine frame of its own
    try {
      attempt_out.emplace(co_await with_timeout(tool->invoke(std::move(attempt_arguments)), deadline));
    } catch (const std::exception& thrown) {
      attempt_out.emplace(Error(ErrorCode::tool_error, std::string{"tool threw an exception: "} + thrown.what()));
    } catch (...) {
      attempt_out.emplace(Error(ErrorCode::tool_error, "tool threw a non-standard exception"));
    }
    Result<std::string>& out = *attempt_out;
    if (out) {
      r.ok = true;
      r.value = std::move(*out);
      r.error.reset();
      r.error_message.clear();
      break;
    }

    const Error& e = out.error();
    r.error = e.code;
    if (e.code == ErrorCode::timeout) {
      ++counters_.timeouts;
      r.error_message = "tool '" + r.tool + "' timed out after " + whole_ms(sched.now() - attempt_started);
    } else if (e.code == ErrorCode::cancelled) {
      r.error_message = "tool '" + r.tool + "' was cancelled while running";
    } else {
      r.error_message = e.message.empty() ? e.describe() : e.message;
    }

    if (!opts.idempotent) {
      if (e.code == ErrorCode::timeout || e.code == ErrorCode::cancelled) {
        r.maybe_executed = true;
        r.error_message += "; it may have executed and is not retried (not idempotent)";
      }
      break;
    }
    if (attempt >= max_attempts || !worth_retrying(e.code) || token.cancelled()) break;

    const Duration delay = backoff.next(attempt, rng_);
    const Deadline after_backoff = co_await this_task::deadline();
    if (after_backoff.passed(saturating_add(sched.now(), delay))) break;  // no time for a retry
    emit(events.sink(), sched.now(), "tool.retry",
         {{"tool", r.tool}, {"call_id", r.call_id}, {"attempt", attempt}, {"code", e.code}, {"delay", delay}});
    ++counters_.retries;
    if (Status slept = co_await sleep_for(delay); !slept) {
      r.error = ErrorCode::cancelled;
      r.error_message = "cancelled while waiting to retry tool '" + r.tool + "'";
      break;
    }
  }
  record_end(r, started, sched.now(), events.sink());
  co_return std::move(r);
}

void ToolRunner::record_end(ToolResult& r, TimePoint started, TimePoint now, EventSink* sink) {
  r.duration = now - started;
  if (r.ok) {
    ++counters_.successes;
  } else {
    ++counters_.failures;
  }
  const std::string_view code = r.error ? to_string(*r.error) : std::string_view{};
  emit(sink, now, "tool.end",
       {{"tool", r.tool},
        {"call_id", r.call_id},
        {"ok", r.ok},
        {"code", code},
        {"attempts", r.attempts},
        {"duration", r.duration},
        {"maybe_executed", r.maybe_executed}});
}

}  // namespace keel::agent
