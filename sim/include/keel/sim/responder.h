// keel/sim/responder.h — what a simulated provider answers when a request succeeds.
//
// Purpose: the mock provider (mock_provider.h) decides *whether* and *when* a request is
// answered (latency, limits, faults); a Responder decides *what* the answer says. The
// ScriptedResponder plays the model of a scenario's workload (scenarios/FORMAT.md, Workload):
// it asks for `tool_calls_per_step` tool calls, then gives a final answer once the tool results
// are back; and it answers summarization requests with a summary.
//
// Contract (ScriptedResponder; pure: same request and context, same answer):
//  - Summarization: the last message is a user message whose text starts with
//    `kSummarizeInstruction` ("Summarize", ASCII case-insensitive, leading whitespace ignored)
//    → a summary of `output_tokens` tokens, finish_reason stop, no tool calls — whether or not
//    the request carries tools. The agent's summarization prompt must start with that word.
//  - Tool calls: otherwise, if the last message is a user message, `tool_calls_per_step` > 0
//    and the tool list is not empty → an assistant message with exactly that many tool calls,
//    finish_reason tool_calls. Call k of the step uses tools[k % tools.size()] (file order,
//    round-robin, restarting each step), id `call_<provider>_<request index>_<k>` (unique
//    across providers and requests), arguments `{"call_id":"<id>"}` — MockTool counts
//    executions per requested call from that field (mock_tool.h).
//  - Otherwise (the last message is a tool result, an assistant message, or no tool calls are
//    scripted) → a final answer, finish_reason stop.
//  - Answer and summary texts are exactly 4 * output_tokens bytes, so ApproxTokenCounter counts
//    them as `output_tokens` tokens and a kept history grows as the scenario says.
//
// Example:
//   ScriptedResponder model{{.tool_calls_per_step = 2, .tools = {"search", "fetch"}}};
//   ModelAnswer a = model(request, {.provider = "gpt", .request_index = 0, .output_tokens = 200});
//   // a.finish_reason == tool_calls; a.message.tool_calls[1].name == "fetch"
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "keel/model/message.h"

namespace keel::sim {

// A summarization request's last user message starts with this word (see the contract).
inline constexpr std::string_view kSummarizeInstruction = "Summarize";

// What the provider knows about the request being answered.
struct ResponseContext {
  std::string_view provider;        // the provider's name
  std::uint64_t request_index = 0;  // 0-based, per provider, counting every request that reached it
  int output_tokens = 200;          // tokens the answer should have
};

struct ModelAnswer {
  model::Message message;  // role assistant
  model::FinishReason finish_reason = model::FinishReason::stop;
};

// Produces the answer to a successful request. Called synchronously by the mock provider.
using Responder = std::function<ModelAnswer(const model::ChatRequest&, const ResponseContext&)>;

struct ScriptedResponderConfig {
  int tool_calls_per_step = 0;
  std::vector<std::string> tools;  // tool names, in file order
};

class ScriptedResponder {
 public:
  ScriptedResponder() = default;
  explicit ScriptedResponder(ScriptedResponderConfig config) : config_(std::move(config)) {}

  ModelAnswer operator()(const model::ChatRequest& request, const ResponseContext& context) const;

  // True iff `request` is a summarization request by the rule above.
  static bool is_summarization(const model::ChatRequest& request) noexcept;

 private:
  ScriptedResponderConfig config_;
};

}  // namespace keel::sim
