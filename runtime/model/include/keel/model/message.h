// keel/model/message.h — chat messages, requests and responses, provider-neutral.
//
// Purpose: the vocabulary between agents, the ModelManager and transports. Wire formats
// (OpenAI chat completions, Anthropic messages) are mapped to and from these by transports.
//
// Contract: plain values. Tool-call arguments and tool results are JSON text (parsed by the
// tool layer, not here), so this header stays light. `ChatRequest::prompt_tokens` is filled in
// by whoever counted them (the agent, with a TokenCounter) so no layer counts twice.
// `ChatRequest::trace` names the agent step the request is for (trace_ids.h): the agent fills
// agent, step and call, the ModelManager the attempt; every event about the request carries
// them, a simulated provider's included. Never sent on the wire.
//
// Example:
//   ChatRequest req;
//   req.messages = {Message::system("You are terse."), Message::user("2+2?")};
//   Result<ChatResponse> r = co_await transport.complete(req);
//   if (r && r->message.tool_calls.empty()) print(r->message.content);
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "keel/core/trace_ids.h"
#include "keel/model/shared_list.h"

namespace keel::model {

enum class Role : std::uint8_t { system, user, assistant, tool };
std::string_view to_string(Role r) noexcept;

struct ToolCall {
  std::string id;         // provider-assigned id, echoed in the tool result message
  std::string name;       // tool name
  std::string arguments;  // JSON object text
  friend bool operator==(const ToolCall&, const ToolCall&) = default;
};

struct Message {
  Role role = Role::user;
  std::string content;
  std::vector<ToolCall> tool_calls;  // assistant messages asking for tools
  std::string tool_call_id;          // tool messages: which call this answers
  std::string name;                  // tool messages: the tool's name

  static Message system(std::string text) { return {Role::system, std::move(text), {}, {}, {}}; }
  static Message user(std::string text) { return {Role::user, std::move(text), {}, {}, {}}; }
  static Message assistant(std::string text, std::vector<ToolCall> calls = {}) {
    return {Role::assistant, std::move(text), std::move(calls), {}, {}};
  }
  static Message tool_result(std::string call_id, std::string tool_name, std::string result_json) {
    return {Role::tool, std::move(result_json), {}, std::move(call_id), std::move(tool_name)};
  }
  friend bool operator==(const Message&, const Message&) = default;
};

// A tool the model may call: name, description, JSON-schema of its parameters (text).
struct ToolSpec {
  std::string name;
  std::string description;
  std::string parameters_schema = R"({"type":"object"})";
};

struct ChatRequest {
  std::string model;  // provider model id; empty = the transport's default
  SharedList<Message> messages;  // copies share the elements (shared_list.h)
  SharedList<ToolSpec> tools;
  int max_output_tokens = 1024;
  int prompt_tokens = 0;  // counted by the caller (TokenCounter); 0 = not counted
  bool stream = false;    // stream the answer (transports: ModelTransport::stream)
  TraceIds trace;         // the agent step it is for (0s: unknown)
};

struct Usage {
  int prompt_tokens = 0;
  int completion_tokens = 0;
  int total() const noexcept { return prompt_tokens + completion_tokens; }
};

enum class FinishReason : std::uint8_t { stop, tool_calls, length, content_filter, other };
std::string_view to_string(FinishReason r) noexcept;

struct ChatResponse {
  Message message;  // role assistant
  Usage usage;
  FinishReason finish_reason = FinishReason::stop;
  std::string model;     // the model that answered (for reports)
  std::string provider;  // the provider/target that answered
  std::string id;        // the provider's response id (chatcmpl-..., msg_...), when it gave one
  // Streamed answers (stream.h): content deltas received, malformed events skipped.
  int answer_tokens = 0;
  int skipped_events = 0;
  bool streamed = false;
};

}  // namespace keel::model
