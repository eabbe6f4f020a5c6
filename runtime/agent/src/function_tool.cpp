#include "keel/agent/function_tool.h"

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <string_view>

namespace keel::agent {

namespace {

using Json = nlohmann::json;

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

// Parses the model's argument text; empty text counts as `{}`.
Result<Json> parse_arguments(std::string_view text) {
  const bool blank = std::all_of(text.begin(), text.end(), [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; });
  if (blank) return Json::object();
  Json parsed = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return Error(ErrorCode::invalid_request, "tool arguments are not valid JSON");
  return parsed;
}

Error thrown(const std::exception& e) {
  return Error(ErrorCode::tool_error, std::string{"tool threw an exception: "} + e.what());
}
Error thrown_unknown() { return Error(ErrorCode::tool_error, "tool threw a non-standard exception"); }

// The body of every sync job: parse, call, serialise; nothing escapes.
Result<std::string> run_sync(const FunctionTool::SyncFn& fn, const std::string& arguments, std::stop_token stop) {
  try {
    Result<Json> args = parse_arguments(arguments);
    if (!args) return std::move(args).error();
    Result<Json> out = fn(*args, std::move(stop));
    if (!out) return std::move(out).error();
    return dump(*out);
  } catch (const std::exception& e) {
    return thrown(e);
  } catch (...) {
    return thrown_unknown();
  }
}

}  // namespace

Task<Result<std::string>> InlineToolExecutor::run(Job job) {
  const CancelToken token = co_await this_task::cancel_token();
  if (token.cancelled()) co_return Error(ErrorCode::cancelled, "cancelled before the tool started");
  try {
    co_return job(std::stop_token{});
  } catch (const std::exception& e) {
    co_return thrown(e);
  } catch (...) {
    co_return thrown_unknown();
  }
}

void FunctionTool::validate() const {
  if (spec_.name.empty()) throw std::invalid_argument("FunctionTool: a tool needs a non-empty name");
}

Task<Result<std::string>> FunctionTool::invoke(std::string arguments_json) {
  if (async_) co_return co_await invoke_async(std::move(arguments_json));
  co_return co_await executor_->run(make_job(std::move(arguments_json)));
}

Task<Result<std::string>> FunctionTool::invoke_async(std::string arguments_json) {
  const Result<Json> args = parse_arguments(arguments_json);
  if (!args) co_return args.error();
  Result<Json> out = Error(ErrorCode::internal, "tool produced no result");
  try {
    out = co_await async_(*args);  // `args` lives in this frame until the task finishes
  } catch (const std::exception& e) {
    out = thrown(e);
  } catch (...) {
    out = thrown_unknown();
  }
  if (!out) co_return std::move(out).error();
  co_return dump(*out);
}

SyncToolExecutor::Job FunctionTool::make_job(std::string arguments_json) const {
  return [fn = sync_, arguments = std::move(arguments_json)](std::stop_token stop) {
    return run_sync(*fn, arguments, std::move(stop));
  };
}

}  // namespace keel::agent
