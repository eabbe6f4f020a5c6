#include "keel/agent/tool_runner.h"

#include <algorithm>
#include <exception>
#include <string_view>
#include <utility>

#include "keel/core/json_check.h"
#include "keel/core/sleep.h"
#include "keel/core/timeout.h"
#include "keel/policy/attempt_loop.h"

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


// The runner's retry rules as a retry configuration, for one attempt (a call allowed more
// copies it with its own max_attempts): tool errors and the retryable codes are worth another
// try; servers' retry hints do not apply.
policy::RetryConfig tool_retry_config(const ToolRunnerConfig& config) {
  policy::RetryConfig c;
  c.max_attempts = 1;
  c.backoff = config.retry_backoff;
  c.retryable = policy::RetryCodeSet::retryable_codes().insert(ErrorCode::tool_error);
  c.honor_retry_after = false;
  c.honor_should_retry = false;
  return c;
}

}  // namespace

ToolRunner::ToolRunner(Toolkit& toolkit, ToolRunnerConfig config, Rng rng, EventSink* events)
    : toolkit_(toolkit), config_(std::move(config)), rng_(rng), events_(events),
      retry_(tool_retry_config(config_), rng_) {}

std::optional<Duration> ToolRunner::timeout_for(const Tool& tool) const noexcept {
  const ToolOptions& o = tool.options();
  if (o.no_timeout) return std::nullopt;
  return o.timeout ? o.timeout : config_.default_timeout;
}

// One tool call's executions: the attempt loop (keel/policy/attempt_loop.h) with the runner's
// retry rules (this call's max_attempts: 1 unless the tool is idempotent), and the tool's own
// steps as hooks: no start once cancelled or out of time, "tool.start"/"tool.retry" events,
// exceptions as tool errors, a non-idempotent tool never re-run, the result's error fields.
struct ToolRunner::ToolPlan : policy::AttemptPlan {
  using Value = Result<std::string>;
  static constexpr bool converts_exceptions = true;

  ToolPlan(ToolRunner& run, Tool& t, ToolResult& result, const TraceIds* call_ids, std::string args, int max_attempts)
      : runner(run), tool(t), r(result), ids(call_ids), arguments(std::move(args)), timeout(run.timeout_for(t)) {
    if (max_attempts > 1) {
      own.emplace(run.retry_.config());
      own->max_attempts = max_attempts;
    }
  }

  policy::Retry* retry() const noexcept { return &runner.retry_; }
  const TraceIds* trace_ids() const noexcept { return ids; }
  // The runner's (one attempt), or this call's own when it may retry (an idempotent tool).
  const policy::RetryConfig* retry_config() const noexcept { return own ? &*own : &runner.retry_.config(); }
  std::optional<Error> precheck(const this_task::TaskContext& ctx, TimePoint now) {
    if (ctx.token.cancelled()) return fail(ErrorCode::cancelled, "cancelled before the tool started");
    deadline = timeout ? Deadline::earliest(ctx.deadline, Deadline::after(now, *timeout)) : ctx.deadline;
    if (deadline.passed(now)) return fail(ErrorCode::timeout, "no time left to run the tool");
    return std::nullopt;
  }
  void started(int attempt, TimePoint now) {
    ++runner.counters_.executions;
    r.attempts = attempt;
    emit(runner.events_, now, ev::tool_start, {{key::tool, r.tool}, {key::call_id, r.call_id}, {key::attempt, attempt}}, ids);
  }
  // The last possible attempt takes the arguments; earlier ones get a copy for the next.
  Task<Value> attempt(int n) {
    std::string a;
    if (n == retry_config()->max_attempts) a = std::move(arguments);
    else a = arguments;
    return tool.invoke(std::move(a));
  }
  std::optional<Deadline> attempt_deadline(TimePoint, Deadline) const noexcept { return deadline; }
  Error thrown(std::exception_ptr e) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      return Error(ErrorCode::tool_error, std::string{"tool threw an exception: "} + x.what());
    } catch (...) {
      return Error(ErrorCode::tool_error, "tool threw a non-standard exception");
    }
  }
  policy::AttemptNext on_failure(const Error& e, TimePoint start, TimePoint now) {
    r.error = e.code;
    if (e.code == ErrorCode::timeout) {
      ++runner.counters_.timeouts;
      r.error_message = "tool '" + r.tool + "' timed out after " + whole_ms(now - start);
    } else if (e.code == ErrorCode::cancelled) {
      r.error_message = "tool '" + r.tool + "' was cancelled while running";
    } else {
      r.error_message = e.message.empty() ? e.describe() : e.message;
    }
    if (tool.options().idempotent) return policy::AttemptNext::usual;
    if (e.code == ErrorCode::timeout || e.code == ErrorCode::cancelled) {
      r.maybe_executed = true;
      r.error_message += "; it may have executed and is not retried (not idempotent)";
    }
    return policy::AttemptNext::stop;
  }
  void before_backoff(const policy::RetryDecision& d, const Error& e, int attempt, TimePoint now) {
    emit(runner.events_, now, ev::tool_retry,
         {{key::tool, r.tool}, {key::call_id, r.call_id}, {key::attempt, attempt}, {key::code, e.code}, {key::delay, d.delay}},
         ids);
    ++runner.counters_.retries;
  }
  Error caller_cancelled(Error last) { return last; }  // the result keeps the attempt's error
  Error backoff_cancelled(Error e) {
    r.error = ErrorCode::cancelled;
    r.error_message = "cancelled while waiting to retry tool '" + r.tool + "'";
    return e;
  }

  ToolRunner& runner;
  Tool& tool;
  ToolResult& r;
  const TraceIds* ids;  // the agent step's (in the caller's frame)
  std::string arguments;
  std::optional<policy::RetryConfig> own;  // this call's retry configuration, when it may retry
  std::optional<Duration> timeout;
  Deadline deadline = Deadline::never();  // this attempt's: the tool's timeout within the caller's

 private:
  Error fail(ErrorCode code, const char* message) {
    r.error = code;
    r.error_message = message;
    return Error(code, message);
  }
};

Task<ToolResult> ToolRunner::execute(model::ToolCall call, TraceIds ids, Retries retries) {
  Scheduler& sched = co_await this_task::scheduler();
  const TimePoint started = sched.now();
  ++counters_.calls;

  ToolResult r;
  r.call_id = std::move(call.id);
  r.tool = std::move(call.name);
  std::string arguments = only_whitespace(call.arguments) ? std::string{"{}"} : std::move(call.arguments);

  Tool* tool = toolkit_.find(r.tool);
  std::string problem = tool ? argument_problem(arguments) : "unknown tool '" + r.tool + "'";
  if (!problem.empty()) {
    ++counters_.rejected;
    r.error = ErrorCode::invalid_request;
    r.error_message = tool ? "tool '" + r.tool + "': " + problem : std::move(problem);
    record_end(r, started, sched.now(), &ids);
    co_return std::move(r);
  }
  const ToolOptions& opts = tool->options();
  const int max_attempts = opts.idempotent && retries == Retries::tool_policy ? std::max(1, opts.max_attempts) : 1;
  Result<std::string> out =
      co_await policy::run_attempts(ToolPlan{*this, *tool, r, &ids, std::move(arguments), max_attempts});
  if (out) {
    r.ok = true;
    r.value = std::move(*out);
    r.error.reset();
    r.error_message.clear();
  }
  record_end(r, started, sched.now(), &ids);
  co_return std::move(r);
}

void ToolRunner::record_end(ToolResult& r, TimePoint started, TimePoint now, const TraceIds* ids) {
  r.duration = now - started;
  if (r.ok) {
    ++counters_.successes;
  } else {
    ++counters_.failures;
  }
  const std::string_view code = r.error ? to_string(*r.error) : std::string_view{};
  emit(events_, now, ev::tool_end,
       {{key::tool, r.tool},
        {key::call_id, r.call_id},
        {key::ok, r.ok},
        {key::code, code},
        {key::attempts, r.attempts},
        {key::duration, r.duration},
        {key::maybe_executed, r.maybe_executed}},
       ids);
}

}  // namespace keel::agent
