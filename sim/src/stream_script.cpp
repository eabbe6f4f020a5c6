// The events of a streamed answer (stream_script.h).
#include "keel/sim/stream_script.h"

#include <algorithm>
#include <string_view>

#include "json_text.h"

namespace keel::sim {

namespace {

using detail::append_json_string;

constexpr std::size_t kTokenBytes = 4;  // ApproxTokenCounter: 4 bytes a token

// The content's tokens: pieces of kTokenBytes bytes, each cut back to a UTF-8 character
// boundary (a real API never splits a character across chunks, and a split one would not be
// valid JSON text: the escaper would write U+FFFD for each half). Never empty: a character is
// at most 4 bytes, and a piece starts on a boundary.
template <class Fn>
void each_token(std::string_view text, Fn&& fn) {
  const auto continuation = [&](std::size_t i) { return (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80; };
  for (std::size_t at = 0; at < text.size();) {
    std::size_t end = std::min(at + kTokenBytes, text.size());
    while (end < text.size() && end > at + 1 && continuation(end)) --end;
    fn(text.substr(at, end - at));
    at = end;
  }
}

std::string_view openai_finish(model::FinishReason r) {
  switch (r) {
    case model::FinishReason::stop: return "stop";
    case model::FinishReason::tool_calls: return "tool_calls";
    case model::FinishReason::length: return "length";
    case model::FinishReason::content_filter: return "content_filter";
    case model::FinishReason::other: return "stop";
  }
  return "stop";
}

std::string_view anthropic_stop(model::FinishReason r) {
  switch (r) {
    case model::FinishReason::stop: return "end_turn";
    case model::FinishReason::tool_calls: return "tool_use";
    case model::FinishReason::length: return "max_tokens";
    case model::FinishReason::content_filter: return "refusal";
    case model::FinishReason::other: return "end_turn";
  }
  return "end_turn";
}

class Builder {
 public:
  explicit Builder(StreamScript& s) : s_(s) {}
  void add(std::string_view event, std::string data, bool token = false) {
    s_.events.push_back({model::StreamEvent{std::string(event), std::move(data)}, token});
    if (token) ++s_.tokens;
  }

 private:
  StreamScript& s_;
};

// `{"id":...,"object":"chat.completion.chunk","created":0,"model":...,"choices":[` — the rest is the caller's.
std::string openai_head(const StreamAnswer& a) {
  std::string h = R"({"id":)";
  append_json_string(h, a.id);
  h += R"(,"object":"chat.completion.chunk","created":)" + std::to_string(a.created) + R"(,"model":)";
  append_json_string(h, a.model);
  h += R"(,"choices":[)";
  return h;
}

StreamScript openai_script(const StreamAnswer& a) {
  StreamScript s;
  Builder b{s};
  const std::string head = openai_head(a);
  b.add("message", head + R"({"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]})");
  const std::string& text = a.message.content;
  each_token(text, [&](std::string_view token) {
    std::string d = head + R"({"index":0,"delta":{"content":)";
    append_json_string(d, token);
    d += R"(},"finish_reason":null}]})";
    b.add("message", std::move(d), true);
  });
  for (std::size_t k = 0; k < a.message.tool_calls.size(); ++k) {
    const model::ToolCall& c = a.message.tool_calls[k];
    std::string d = head + R"({"index":0,"delta":{"tool_calls":[{"index":)" + std::to_string(k) + R"(,"id":)";
    append_json_string(d, c.id);
    d += R"(,"type":"function","function":{"name":)";
    append_json_string(d, c.name);
    d += R"(,"arguments":)";
    append_json_string(d, c.arguments);
    d += R"(}}]},"finish_reason":null}]})";
    b.add("message", std::move(d), true);
  }
  b.add("message", head + R"({"index":0,"delta":{},"finish_reason":")" + std::string(openai_finish(a.finish_reason)) + R"("}]})");
  if (a.include_usage) {
    std::string usage = head;
    usage += R"(],"usage":{"prompt_tokens":)" + std::to_string(a.prompt_tokens) + R"(,"completion_tokens":)" +
             std::to_string(s.tokens) + R"(,"total_tokens":)" + std::to_string(a.prompt_tokens + s.tokens) + "}}";
    b.add("message", std::move(usage));
  }
  b.add("message", "[DONE]");
  s.terminator = s.events.size() - 1;
  return s;
}

StreamScript anthropic_script(const StreamAnswer& a) {
  StreamScript s;
  Builder b{s};
  std::string start = R"({"type":"message_start","message":{"id":)";
  append_json_string(start, a.id);
  start += R"(,"type":"message","role":"assistant","model":)";
  append_json_string(start, a.model);
  start += R"(,"content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":)" +
           std::to_string(a.prompt_tokens) + R"(,"output_tokens":1}}})";
  b.add("message_start", std::move(start));
  std::size_t index = 0;
  const std::string& text = a.message.content;
  if (!text.empty() || a.message.tool_calls.empty()) {
    b.add("content_block_start", R"({"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})");
    b.add("ping", R"({"type":"ping"})");
    each_token(text, [&](std::string_view token) {
      std::string d = R"({"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":)";
      append_json_string(d, token);
      d += "}}";
      b.add("content_block_delta", std::move(d), true);
    });
    b.add("content_block_stop", R"({"type":"content_block_stop","index":0})");
    ++index;
  }
  for (const model::ToolCall& c : a.message.tool_calls) {
    const std::string i = std::to_string(index++);
    std::string open = R"({"type":"content_block_start","index":)" + i + R"(,"content_block":{"type":"tool_use","id":)";
    append_json_string(open, c.id);
    open += R"(,"name":)";
    append_json_string(open, c.name);
    open += R"(,"input":{}}})";
    b.add("content_block_start", std::move(open));
    std::string d = R"({"type":"content_block_delta","index":)" + i + R"(,"delta":{"type":"input_json_delta","partial_json":)";
    append_json_string(d, c.arguments.empty() ? std::string_view("{}") : std::string_view(c.arguments));
    d += "}}";
    b.add("content_block_delta", std::move(d), true);
    b.add("content_block_stop", R"({"type":"content_block_stop","index":)" + i + "}");
  }
  b.add("message_delta", R"({"type":"message_delta","delta":{"stop_reason":")" + std::string(anthropic_stop(a.finish_reason)) +
                             R"(","stop_sequence":null},"usage":{"output_tokens":)" + std::to_string(s.tokens) + "}}");
  b.add("message_stop", R"({"type":"message_stop"})");
  s.terminator = s.events.size() - 1;
  return s;
}

}  // namespace

StreamScript stream_script(model::ProviderApi api, const StreamAnswer& answer) {
  return api == model::ProviderApi::anthropic ? anthropic_script(answer) : openai_script(answer);
}

model::StreamEvent malformed_event(model::ProviderApi api) {
  if (api == model::ProviderApi::anthropic) {
    return {"content_block_delta", R"({"type":"content_block_delta","index":0,"delta":{"type":"text_del)"};
  }
  return {"message", R"({"id":"chatcmpl-sim","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"The ans)"};
}

std::size_t event_of_token(const StreamScript& s, std::int64_t n) {
  std::int64_t seen = 0;
  std::size_t last_token = 0;
  bool any = false;
  for (std::size_t i = 0; i < s.events.size(); ++i) {
    if (!s.events[i].token) continue;
    if (seen++ == n) return i;
    last_token = i;
    any = true;
  }
  if (!any) {  // no token at all: before the first closing event (after the opening ones)
    for (std::size_t i = 0; i < s.events.size(); ++i) {
      const std::string& e = s.events[i].event.event;
      if (e == "message_delta" || (e == "message" && s.events[i].event.data.find("\"finish_reason\":\"") != std::string::npos)) return i;
    }
    return s.terminator;
  }
  return last_token + 1;
}

}  // namespace keel::sim
