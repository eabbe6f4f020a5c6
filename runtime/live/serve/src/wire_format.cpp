#include "wire_format.h"

#include <nlohmann/json.hpp>

namespace keel::live::serve {

namespace {

using json = nlohmann::ordered_json;
using model::FinishReason;

// Bytes that are not UTF-8 (a URL's provider name quoted in an error) become U+FFFD, keel's one
// rule (keel/core/json_escape.h), instead of nlohmann's default: an exception.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string_view openai_finish(FinishReason r) {
  switch (r) {
    case FinishReason::stop: return "stop";
    case FinishReason::tool_calls: return "tool_calls";
    case FinishReason::length: return "length";
    case FinishReason::content_filter: return "content_filter";
    case FinishReason::other: return "stop";
  }
  return "stop";
}

std::string_view anthropic_stop(FinishReason r) {
  switch (r) {
    case FinishReason::tool_calls: return "tool_use";
    case FinishReason::length: return "max_tokens";
    case FinishReason::content_filter: return "refusal";
    case FinishReason::stop:
    case FinishReason::other: return "end_turn";
  }
  return "end_turn";
}

// Tool-call arguments as a JSON value for Anthropic's `input` (an object; text that does not
// parse is passed as a string, as the scripted tools never produce).
json input_of(const std::string& arguments) {
  json v = json::parse(arguments, nullptr, false);
  return v.is_discarded() ? json(arguments) : v;
}

json openai_tool_calls(const std::vector<model::ToolCall>& calls) {
  json out = json::array();
  for (std::size_t i = 0; i < calls.size(); ++i) {
    json c = {{"id", calls[i].id},
              {"type", "function"},
              {"function", {{"name", calls[i].name}, {"arguments", calls[i].arguments}}}};
    out.push_back(std::move(c));
  }
  return out;
}

json openai_usage(const WireAnswer& a) {
  return {{"prompt_tokens", a.prompt_tokens},
          {"completion_tokens", a.output_tokens},
          {"total_tokens", a.prompt_tokens + a.output_tokens}};
}

}  // namespace

std::string openai_completion_body(const WireAnswer& a) {
  json message = {{"role", "assistant"}, {"content", a.message.content}, {"refusal", nullptr}};
  if (!a.message.tool_calls.empty()) {
    message["tool_calls"] = openai_tool_calls(a.message.tool_calls);
    if (a.message.content.empty()) message["content"] = nullptr;
  }
  json body = {{"id", a.id},
               {"object", "chat.completion"},
               {"created", a.created},
               {"model", a.model},
               {"choices", json::array({{{"index", 0}, {"message", std::move(message)}, {"logprobs", nullptr},
                                         {"finish_reason", openai_finish(a.finish_reason)}}})},
               {"usage", openai_usage(a)},
               {"system_fingerprint", nullptr}};
  return dump(body);
}

std::string anthropic_message_body(const WireAnswer& a) {
  json content = json::array();
  if (!a.message.content.empty() || a.message.tool_calls.empty()) {
    content.push_back({{"type", "text"}, {"text", a.message.content}});
  }
  for (const model::ToolCall& c : a.message.tool_calls) {
    content.push_back({{"type", "tool_use"}, {"id", c.id}, {"name", c.name}, {"input", input_of(c.arguments)}});
  }
  json body = {{"id", a.id},
               {"type", "message"},
               {"role", "assistant"},
               {"model", a.model},
               {"content", std::move(content)},
               {"stop_reason", anthropic_stop(a.finish_reason)},
               {"stop_sequence", nullptr},
               {"usage", {{"input_tokens", a.prompt_tokens}, {"output_tokens", a.output_tokens}}}};
  return dump(body);
}

std::string completion_body(model::ProviderApi api, const WireAnswer& a) {
  return api == model::ProviderApi::anthropic ? anthropic_message_body(a) : openai_completion_body(a);
}

sim::StreamScript stream_script(model::ProviderApi api, const WireAnswer& a, bool include_usage) {
  return sim::stream_script(api, {.id = a.id,
                                  .model = a.model,
                                  .message = a.message,
                                  .finish_reason = a.finish_reason,
                                  .prompt_tokens = a.prompt_tokens,
                                  .created = a.created,
                                  .include_usage = include_usage});
}

std::string sse_frame(const model::StreamEvent& e) {
  std::string frame;
  frame.reserve(e.event.size() + e.data.size() + 16);
  if (e.event != "message") {
    frame += "event: ";
    frame += e.event;
    frame += '\n';
  }
  frame += "data: ";
  frame += e.data;
  frame += "\n\n";
  return frame;
}

sim::HttpErrorResponse invalid_request(model::ProviderApi api, int status, std::string_view message) {
  const std::string type = status == 404 ? "not_found_error" : "invalid_request_error";
  if (api == model::ProviderApi::anthropic) {
    return {status, dump(json{{"type", "error"}, {"error", {{"type", type}, {"message", message}}}})};
  }
  return {status, dump(json{{"error", {{"message", message}, {"type", "invalid_request_error"}, {"param", nullptr},
                                       {"code", status == 404 ? json("unknown_url") : json(nullptr)}}}})};
}

}  // namespace keel::live::serve
