#include "keel/agent/chat_agent.h"

#include <stdexcept>
#include <string_view>
#include <utility>

#include "keel/agent/tool_runner.h"
#include "keel/agent/toolkit.h"
#include "keel/core/timeout.h"

namespace keel::agent {

namespace {

using model::ChatRequest;
using model::ChatResponse;
using model::Message;
using model::Role;

void add_usage(model::Usage& total, const model::Usage& more) noexcept {
  total.prompt_tokens += more.prompt_tokens;
  total.completion_tokens += more.completion_tokens;
}

Error stopped_error() { return Error(ErrorCode::cancelled, "the step was stopped"); }


}  // namespace

ChatAgent::ChatAgent(model::ChatModel& model, ToolRunner* tools, const model::TokenCounter& counter,
                     EventSink* events, ChatAgentConfig config)
    : model_(model),
      tools_(tools),
      events_(events),
      config_(std::move(config)),
      trace_{.agent = config_.id},
      memory_(counter, config_.system_message),
      context_(model, events, config_.context, &trace_),
      stop_(std::make_unique<CancelSource>()) {
  if (config_.max_iterations < 1) throw std::invalid_argument("ChatAgentConfig: max_iterations must be >= 1");
  if (config_.step_timeout && *config_.step_timeout < Duration::zero())
    throw std::invalid_argument("ChatAgentConfig: step_timeout must not be negative");
}

ChatAgent::~ChatAgent() = default;

void ChatAgent::stop() {
  terminated_ = true;
  stop_->cancel();
}

void ChatAgent::reset() {
  stop_->cancel();  // a running step ends now; its work sees the new epoch
  stop_ = std::make_unique<CancelSource>();
  ++epoch_;
  memory_.clear();
  terminated_ = false;
}

bool ChatAgent::interrupted(const StepGuard& g) const noexcept {
  return g.token.cancelled() || stop_->cancelled() || epoch_ != g.epoch;
}

Task<Result<StepResult>> ChatAgent::step(std::string input) {
  Scheduler& sched = co_await this_task::scheduler();
  const TimePoint started = sched.now();
  const std::uint64_t index = ++steps_started_;
  ++counters_.steps;
  trace_ = TraceIds{.agent = config_.id, .step = index};
  emit(events_, started, ev::agent_step_start, {{key::step, index}}, &trace_);

  int iterations = 0;
  Result<StepResult> result = co_await run_step(std::move(input), index, iterations);

  const std::string_view code = result ? std::string_view{"ok"} : to_string(result.error().code);
  if (result) ++counters_.steps_ok;
  else ++counters_.steps_failed;
  trace_ = TraceIds{.agent = config_.id, .step = index};  // this step's end (not a later step's)
  emit(events_, sched.now(), ev::agent_step_end,
       {{key::step, index}, {key::ok, result.ok()}, {key::code, code}, {key::iterations, iterations},
        {key::duration, sched.now() - started}},
       &trace_);
  co_return result;
}

Task<Result<StepResult>> ChatAgent::run_step(std::string input, std::uint64_t index, int& iterations) {
  if (terminated_) co_return Error(ErrorCode::cancelled, "the agent was stopped; reset() it before the next step");
  if (running_) co_return Error(ErrorCode::invalid_request, "a step is already running on this agent");
  running_ = true;
  iterations_ = 0;
  const std::uint64_t epoch = epoch_;
  memory_.add(Message::user(std::move(input)));

  Scheduler& sched = co_await this_task::scheduler();
  const Deadline deadline =
      config_.step_timeout ? Deadline::after(sched.now(), *config_.step_timeout) : Deadline::never();
  // Released at the step deadline, on the caller's cancellation or on stop(): the loop is
  // cancelled in each case and never touches the memory again (it checks the epoch).
  // (The token is not read after the await: reset() retires its source.)
  Result<StepResult> result = co_await with_timeout(loop(index, epoch), deadline, stop_->token());
  if (!result && result.error().code == ErrorCode::cancelled && (terminated_ || epoch_ != epoch)) {
    result = Error(ErrorCode::cancelled, "the agent was stopped");
  }

  running_ = false;
  iterations = result ? result->iterations : iterations_;
  if (epoch_ == epoch) {  // reset() did not replace the memory meanwhile
    if (!result) {
      if (const auto input_at = memory_.last_index_of(Role::user)) memory_.erase(*input_at, memory_.size());
    }
    if (!config_.keep_history) memory_.clear();
  }
  co_return result;
}

Task<Result<StepResult>> ChatAgent::loop(std::uint64_t index, std::uint64_t epoch) {
  const StepGuard guard{co_await this_task::cancel_token(), epoch};
  Scheduler& sched = co_await this_task::scheduler();
  StepResult out;
  for (int iteration = 1; iteration <= config_.max_iterations; ++iteration) {
    if (interrupted(guard)) co_return stopped_error();
    iterations_ = iteration;
    // The model call, inline (one coroutine frame and two moves of the answer fewer than a
    // helper coroutine): fit the memory, send, and on a context_overflow shrink and send again.
    int sent_tokens = 0;
    if (std::optional<ContextFit> as_is = context_.fits_as_is(memory_)) {  // the usual case: no frame
      sent_tokens = as_is->prompt_tokens;
    } else {
      Result<ContextFit> fit = co_await context_.fit(memory_);
      if (interrupted(guard)) co_return stopped_error();
      if (!fit) co_return std::move(fit).error();
      add_usage(out.usage, fit->usage);
      sent_tokens = fit->prompt_tokens;
    }
    const TimePoint sent = sched.now();
    ++counters_.model_calls;
    ++trace_.call;
    Result<ChatResponse> answer = co_await model_.complete(build_request(sent_tokens));
    note_model_call(answer, index, iteration, sent_tokens, sent, sched.now(), false);
    if (!answer && answer.error().code == ErrorCode::context_overflow && !interrupted(guard)) {
      Result<ChatResponse> again = co_await resend_after_overflow(guard, index, iteration, out.usage, sent_tokens,
                                                                  std::move(answer).error());
      answer = std::move(again);
    }
    if (interrupted(guard)) co_return stopped_error();
    if (!answer) co_return std::move(answer).error();
    context_.on_answered(sched.now());

    out.iterations = iteration;
    add_usage(out.usage, answer->usage);
    Message reply = std::move(answer->message);
    reply.role = Role::assistant;
    if (reply.tool_calls.empty()) {
      // Without keep_history the memory is cleared when the step ends: no one would read it there.
      if (config_.keep_history) memory_.add(reply);
      out.answer = std::move(reply);
      co_return out;
    }
    const std::size_t calls = reply.tool_calls.size();
    emit(events_, sched.now(), ev::agent_tool_calls, {{key::step, index}, {key::iteration, iteration}, {key::count, calls}},
         &trace_);
    memory_.add(std::move(reply));
    if (iteration == config_.max_iterations) break;  // no model would see these results
    const std::size_t asked_at = memory_.size() - 1;  // the message asking for the tools
    for (std::size_t k = 0; k < calls; ++k) {
      if (interrupted(guard)) co_return stopped_error();  // also before the memory could change
      // A copy for the runner; indexed anew each time, as the results below grow the memory.
      model::ToolCall call = memory_.history()[asked_at].tool_calls[k];
      std::string id = call.id, name = call.name;
      ++counters_.tool_calls;
      std::optional<ToolResult> ran;
      if (tools_) ran.emplace(co_await tools_->run(std::move(call), trace_));
      else ran.emplace(no_tools(std::move(call)));
      ToolResult& result = *ran;
      if (interrupted(guard)) co_return stopped_error();
      memory_.add(Message::tool_result(std::move(id), std::move(name), result.to_json()));
      out.tool_results.push_back(std::move(result));
    }
  }
  co_return Error(ErrorCode::invalid_request,
                  "max_iterations (" + std::to_string(config_.max_iterations) + ") reached without a final answer");
}

Task<Result<ChatResponse>> ChatAgent::resend_after_overflow(StepGuard guard, std::uint64_t index, int iteration,
                                                           model::Usage& usage, int sent_tokens, Error overflow) {
  // The provider's window was smaller than we believed: shrink and retry once.
  Result<ContextFit> refit = co_await context_.recover(memory_, sent_tokens, ContextManager::stated_in(overflow));
  if (interrupted(guard)) co_return stopped_error();
  if (!refit) {
    Error e = std::move(refit).error();
    if (e.code == ErrorCode::context_overflow) e.caused_by(std::move(overflow));
    co_return e;
  }
  add_usage(usage, refit->usage);
  Scheduler& sched = co_await this_task::scheduler();
  const TimePoint sent = sched.now();
  ++counters_.model_calls;
  ++trace_.call;
  Result<ChatResponse> again = co_await model_.complete(build_request(refit->prompt_tokens));
  note_model_call(again, index, iteration, refit->prompt_tokens, sent, sched.now(), true);
  co_return again;
}

void ChatAgent::note_model_call(const Result<ChatResponse>& answer, std::uint64_t index, int iteration,
                                int prompt_tokens, TimePoint sent, TimePoint now, bool retry) {
  const std::string_view code = answer ? std::string_view{"ok"} : to_string(answer.error().code);
  emit(events_, now, ev::agent_model_call,
       {{key::step, index}, {key::iteration, iteration}, {key::ok, answer.ok()}, {key::code, code},
        {key::prompt_tokens, prompt_tokens}, {key::duration, now - sent}, {key::retry, retry}},
       &trace_);
}

ToolResult ChatAgent::no_tools(model::ToolCall call) {
  ToolResult r;
  r.call_id = std::move(call.id);
  r.tool = std::move(call.name);
  r.error = ErrorCode::invalid_request;
  r.error_message = "this agent has no tools";
  return r;
}

ChatRequest ChatAgent::build_request(int prompt_tokens) const {
  ChatRequest request;
  request.messages = memory_.messages();
  if (tools_) request.tools = tools_->toolkit().specs();
  request.prompt_tokens = prompt_tokens;
  request.stream = config_.stream;
  request.trace = trace_;  // this call's number is already counted
  return request;
}

}  // namespace keel::agent
