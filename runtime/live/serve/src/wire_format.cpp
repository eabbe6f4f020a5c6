#include "wire_format.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace keel::live::serve {

namespace {

using json = nlohmann::ordered_json;
using model::FinishReason;

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

json openai_tool_calls(const std::vector<model::ToolCall>& calls, bool with_index) {
  json out = json::array();
  for (std::size_t i = 0; i < calls.size(); ++i) {
    json c = {{"id", calls[i].id},
              {"type", "function"},
              {"function", {{"name", calls[i].name}, {"arguments", calls[i].arguments}}}};
    if (with_index) c["index"] = i;
    out.push_back(std::move(c));
  }
  return out;
}

json openai_usage(const WireAnswer& a) {
  return {{"prompt_tokens", a.prompt_tokens},
          {"completion_tokens", a.output_tokens},
          {"total_tokens", a.prompt_tokens + a.output_tokens}};
}

json openai_chunk(const WireAnswer& a, json delta, json finish) {
  return {{"id", a.id},
          {"object", "chat.completion.chunk"},
          {"created", a.created},
          {"model", a.model},
          {"system_fingerprint", nullptr},
          {"choices", json::array({{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr},
                                    {"finish_reason", std::move(finish)}}})}};
}

std::string data_frame(const json& j) { return "data: " + j.dump() + "\n\n"; }

std::string event_frame(std::string_view type, const json& j) {
  std::string s = "event: ";
  s += type;
  s += "\ndata: ";
  s += j.dump();
  s += "\n\n";
  return s;
}

}  // namespace

std::vector<std::string_view> content_pieces(std::string_view text) {
  constexpr std::size_t kMaxPieces = 16, kMinPiece = 64;
  std::vector<std::string_view> out;
  if (text.empty()) return out;
  const std::size_t piece = std::max(kMinPiece, (text.size() + kMaxPieces - 1) / kMaxPieces);
  for (std::size_t at = 0; at < text.size(); at += piece) out.push_back(text.substr(at, piece));
  return out;
}

std::string openai_completion_body(const WireAnswer& a) {
  json message = {{"role", "assistant"}, {"content", a.message.content}, {"refusal", nullptr}};
  if (!a.message.tool_calls.empty()) {
    message["tool_calls"] = openai_tool_calls(a.message.tool_calls, false);
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
  return body.dump();
}

std::vector<std::string> openai_stream_frames(const WireAnswer& a, bool include_usage) {
  std::vector<std::string> frames;
  frames.push_back(data_frame(openai_chunk(a, {{"role", "assistant"}, {"content", ""}, {"refusal", nullptr}}, nullptr)));
  for (std::string_view piece : content_pieces(a.message.content)) {
    frames.push_back(data_frame(openai_chunk(a, {{"content", piece}}, nullptr)));
  }
  const json calls = openai_tool_calls(a.message.tool_calls, true);
  for (const json& call : calls) frames.push_back(data_frame(openai_chunk(a, {{"tool_calls", json::array({call})}}, nullptr)));
  frames.push_back(data_frame(openai_chunk(a, json::object(), openai_finish(a.finish_reason))));
  if (include_usage) {
    json usage_chunk = openai_chunk(a, json::object(), nullptr);
    usage_chunk["choices"] = json::array();
    usage_chunk["usage"] = openai_usage(a);
    frames.push_back(data_frame(usage_chunk));
  }
  frames.push_back("data: [DONE]\n\n");
  return frames;
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
  return body.dump();
}

std::vector<std::string> anthropic_stream_frames(const WireAnswer& a) {
  std::vector<std::string> frames;
  json start = {{"type", "message_start"},
                {"message",
                 {{"id", a.id},
                  {"type", "message"},
                  {"role", "assistant"},
                  {"model", a.model},
                  {"content", json::array()},
                  {"stop_reason", nullptr},
                  {"stop_sequence", nullptr},
                  {"usage", {{"input_tokens", a.prompt_tokens}, {"output_tokens", 1}}}}}};
  frames.push_back(event_frame("message_start", start));
  std::size_t index = 0;
  if (!a.message.content.empty() || a.message.tool_calls.empty()) {
    frames.push_back(event_frame("content_block_start", {{"type", "content_block_start"},
                                                         {"index", index},
                                                         {"content_block", {{"type", "text"}, {"text", ""}}}}));
    frames.push_back(event_frame("ping", {{"type", "ping"}}));
    for (std::string_view piece : content_pieces(a.message.content)) {
      frames.push_back(event_frame("content_block_delta", {{"type", "content_block_delta"},
                                                           {"index", index},
                                                           {"delta", {{"type", "text_delta"}, {"text", piece}}}}));
    }
    frames.push_back(event_frame("content_block_stop", {{"type", "content_block_stop"}, {"index", index}}));
    ++index;
  }
  for (const model::ToolCall& c : a.message.tool_calls) {
    frames.push_back(event_frame(
        "content_block_start",
        {{"type", "content_block_start"},
         {"index", index},
         {"content_block", {{"type", "tool_use"}, {"id", c.id}, {"name", c.name}, {"input", json::object()}}}}));
    frames.push_back(event_frame("content_block_delta",
                                 {{"type", "content_block_delta"},
                                  {"index", index},
                                  {"delta", {{"type", "input_json_delta"}, {"partial_json", input_of(c.arguments).dump()}}}}));
    frames.push_back(event_frame("content_block_stop", {{"type", "content_block_stop"}, {"index", index}}));
    ++index;
  }
  frames.push_back(event_frame("message_delta", {{"type", "message_delta"},
                                                 {"delta", {{"stop_reason", anthropic_stop(a.finish_reason)}, {"stop_sequence", nullptr}}},
                                                 {"usage", {{"output_tokens", a.output_tokens}}}}));
  frames.push_back(event_frame("message_stop", {{"type", "message_stop"}}));
  return frames;
}

std::string completion_body(model::ProviderApi api, const WireAnswer& a) {
  return api == model::ProviderApi::anthropic ? anthropic_message_body(a) : openai_completion_body(a);
}

std::vector<std::string> stream_frames(model::ProviderApi api, const WireAnswer& a, bool include_usage) {
  return api == model::ProviderApi::anthropic ? anthropic_stream_frames(a) : openai_stream_frames(a, include_usage);
}

std::vector<std::string> malformed_stream_frames(model::ProviderApi api, const WireAnswer& a) {
  std::vector<std::string> normal = stream_frames(api, a, false);
  std::vector<std::string> frames{normal.front()};
  if (api == model::ProviderApi::anthropic) {
    frames.push_back("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_del\n\n");
  } else {
    frames.push_back("data: {\"id\":\"" + a.id + "\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"The ans\n\n");
  }
  frames.push_back(normal.back());
  return frames;
}

sim::HttpErrorResponse invalid_request(model::ProviderApi api, int status, std::string_view message) {
  const std::string type = status == 404 ? "not_found_error" : "invalid_request_error";
  if (api == model::ProviderApi::anthropic) {
    return {status, json{{"type", "error"}, {"error", {{"type", type}, {"message", message}}}}.dump()};
  }
  return {status, json{{"error", {{"message", message}, {"type", "invalid_request_error"}, {"param", nullptr},
                                  {"code", status == 404 ? json("unknown_url") : json(nullptr)}}}}.dump()};
}

}  // namespace keel::live::serve
