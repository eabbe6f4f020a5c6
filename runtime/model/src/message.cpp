#include "keel/model/message.h"

#include "keel/model/token_counter.h"

namespace keel::model {

std::string_view to_string(Role r) noexcept {
  switch (r) {
    case Role::system: return "system";
    case Role::user: return "user";
    case Role::assistant: return "assistant";
    case Role::tool: return "tool";
  }
  return "unknown";
}

std::string_view to_string(FinishReason r) noexcept {
  switch (r) {
    case FinishReason::stop: return "stop";
    case FinishReason::tool_calls: return "tool_calls";
    case FinishReason::length: return "length";
    case FinishReason::content_filter: return "content_filter";
    case FinishReason::other: return "other";
  }
  return "other";
}

int TokenCounter::count(std::span<const Message> messages) const {
  int total = ApproxTokenCounter::kPerRequest;
  for (const Message& m : messages) total += count(m);
  return total;
}

int ApproxTokenCounter::count(const Message& m) const {
  int n = kPerMessage + approx_text_tokens(m.content) + approx_text_tokens(m.name);
  for (const ToolCall& c : m.tool_calls) n += approx_text_tokens(c.name) + approx_text_tokens(c.arguments);
  return n;
}

}  // namespace keel::model
