// keel/agent/function_tool.h — FunctionTool: a user callable as a Tool; SyncToolExecutor: where
// blocking tool code runs.
//
// Purpose: most tools are a function. FunctionTool wraps one with its name, description,
// JSON-schema and ToolOptions, parses the model's arguments, turns the return value into JSON
// text and every failure — including an exception thrown by the callable — into an Error, so
// nothing escapes into the agent (docs/architecture.md).
//
// Accepted callables (checked at compile time, in this order):
//  - async:  (const nlohmann::json&) or (nlohmann::json) -> Task<Result<nlohmann::json>>. Runs on
//            the scheduler like any Task and should honour cancellation (sleep_for etc. do). The
//            argument object lives until the Task finishes, so taking it by reference is safe.
//  - sync, stop-aware: (const nlohmann::json&, std::stop_token) -> R
//  - sync:             (const nlohmann::json&) -> R
//    where R is Result<nlohmann::json>, Result<T> or T for any T nlohmann::json can be built
//    from (plain nlohmann::json included), or void (gives `null`). A thrown exception becomes
//    ErrorCode::tool_error with the exception's what(). Argument text that is not JSON gives
//    invalid_request without calling the function (empty text counts as `{}`).
// Sync callables run through a SyncToolExecutor:
//  - InlineToolExecutor (the default): runs the function on the scheduler thread, right away.
//    Deterministic, for simulations and quick non-blocking functions; the scheduler waits for
//    the function, so a timeout cannot interrupt it (its stop_token is never requested).
//  - live::ToolThreadPool (runtime/live): a worker pool. A timeout or cancellation releases
//    the caller at once and requests the job's stop_token; the worker thread is abandoned, not
//    killed — it keeps running the function until it returns, and the result is discarded.
//    Functions given to a pool may run concurrently on several threads: make them thread-safe.
// The callable is owned by the tool (sync callables through a shared_ptr that each job also
// holds, so an abandoned job never outlives the function it runs). A FunctionTool is neither
// copyable nor movable, and must outlive the calls in flight on it.
//
// Example:
//   FunctionTool add{{"add", "Adds a and b", R"({"type":"object","properties":{...}})"},
//                    [](const nlohmann::json& a) { return a.at("a").get<int>() + a.at("b").get<int>(); },
//                    {.idempotent = true}};
//   FunctionTool fetch{{"fetch", "GET a URL"}, [&](nlohmann::json a) { return http_get(a); }};
//   FunctionTool grep{{"grep", "search files"}, blocking_grep, {}, &thread_pool};  // sync, pooled
#pragma once

#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <type_traits>
#include <utility>

#include <nlohmann/json.hpp>

#include "keel/agent/tool.h"
#include "keel/core/result.h"
#include "keel/core/task.h"
#include "keel/model/message.h"

namespace keel::agent {

// Runs blocking tool code somewhere and hands the result back to the awaiting task.
// Contract for implementations: `run` resumes the awaiter on its own scheduler; it honours
// the awaiter's cancellation (and so any with_timeout around it) by returning `cancelled`
// promptly where it can, requesting the job's stop_token; it never lets an exception escape
// from the job (a throwing job gives tool_error).
class SyncToolExecutor {
 public:
  using Job = std::function<Result<std::string>(std::stop_token)>;
  virtual ~SyncToolExecutor() = default;
  virtual Task<Result<std::string>> run(Job job) = 0;
};

// Runs the job inline on the scheduler thread when awaited (deterministic). An awaiter that is
// already cancelled gets `cancelled` without running it.
class InlineToolExecutor final : public SyncToolExecutor {
 public:
  Task<Result<std::string>> run(Job job) override;
};

class FunctionTool final : public Tool {
 public:
  using Json = nlohmann::json;
  using AsyncFn = std::function<Task<Result<Json>>(const Json&)>;
  using SyncFn = std::function<Result<Json>(const Json&, std::stop_token)>;

  // `executor` (sync callables only; null = inline) must outlive the tool. Throws
  // std::invalid_argument for an empty name.
  template <class F>
  FunctionTool(model::ToolSpec spec, F fn, ToolOptions options = {}, SyncToolExecutor* executor = nullptr)
      : spec_(std::move(spec)), options_(std::move(options)), executor_(executor ? executor : &inline_) {
    validate();
    if constexpr (is_async<F>()) {
      async_ = AsyncFn(std::move(fn));
    } else if constexpr (std::is_invocable_v<F&, const Json&, std::stop_token>) {
      sync_ = std::make_shared<const SyncFn>(
          [f = std::move(fn)](const Json& a, std::stop_token st) mutable { return to_json_result([&] { return f(a, st); }); });
    } else if constexpr (std::is_invocable_v<F&, const Json&>) {
      sync_ = std::make_shared<const SyncFn>(
          [f = std::move(fn)](const Json& a, std::stop_token) mutable { return to_json_result([&] { return f(a); }); });
    } else {
      static_assert(is_async<F>() || std::is_invocable_v<F&, const Json&>,
                    "FunctionTool: the callable must take (const nlohmann::json&) [, std::stop_token] "
                    "or return Task<Result<nlohmann::json>>");
    }
  }
  FunctionTool(const FunctionTool&) = delete;
  FunctionTool& operator=(const FunctionTool&) = delete;

  const model::ToolSpec& spec() const noexcept override { return spec_; }
  const ToolOptions& options() const noexcept override { return options_; }
  Task<Result<std::string>> invoke(std::string arguments_json) override;

  bool is_async() const noexcept { return static_cast<bool>(async_); }

 private:
  template <class F>
  static constexpr bool is_async() {
    if constexpr (std::is_invocable_v<F&, const Json&>)
      return std::is_same_v<std::invoke_result_t<F&, const Json&>, Task<Result<Json>>>;
    else
      return false;
  }

  // Calls `call()` and converts what it returns into Result<Json>.
  template <class Call>
  static Result<Json> to_json_result(Call&& call) {
    using R = std::invoke_result_t<Call&>;
    if constexpr (std::is_void_v<R>) {
      call();
      return Json(nullptr);
    } else if constexpr (std::is_same_v<std::remove_cvref_t<R>, Result<Json>>) {
      return call();
    } else if constexpr (keel::detail::is_result_v<std::remove_cvref_t<R>>) {
      auto r = call();
      if (!r) return std::move(r).error();
      if constexpr (std::is_void_v<typename std::remove_cvref_t<R>::value_type>)
        return Json(nullptr);
      else
        return Json(std::move(r).value());
    } else {
      return Json(call());
    }
  }

  void validate() const;
  Task<Result<std::string>> invoke_async(std::string arguments_json);
  SyncToolExecutor::Job make_job(std::string arguments_json) const;

  model::ToolSpec spec_;
  ToolOptions options_;
  InlineToolExecutor inline_;
  SyncToolExecutor* executor_;
  AsyncFn async_;
  std::shared_ptr<const SyncFn> sync_;
};

}  // namespace keel::agent
