#include "keel/sim/responder.h"

#include <algorithm>

#include "json_text.h"

namespace keel::sim {

namespace {

// `prefix`, then filler words, cut to exactly 4 * tokens bytes (ApproxTokenCounter: `tokens`).
std::string text_of_tokens(std::string prefix, int tokens) {
  static constexpr std::string_view kFiller = " lorem ipsum dolor sit amet";
  const std::size_t size = 4 * static_cast<std::size_t>(std::max(tokens, 0));
  std::string s = std::move(prefix);
  if (s.size() >= size) {
    s.resize(size);
    return s;
  }
  // The filler repeated, built once: the text is appended a few KiB at a time.
  static const std::string kRepeated = [] {
    std::string r;
    while (r.size() < 4096) r += kFiller;
    return r;
  }();
  s.reserve(size);
  while (s.size() < size) s.append(kRepeated, 0, std::min(kRepeated.size(), size - s.size()));
  return s;
}

bool starts_with_ci(std::string_view text, std::string_view prefix) noexcept {
  if (text.size() < prefix.size()) return false;
  auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (lower(text[i]) != lower(prefix[i])) return false;
  return true;
}

std::string_view trim_front(std::string_view s) noexcept {
  const auto i = s.find_first_not_of(" \t\r\n");
  return i == std::string_view::npos ? std::string_view{} : s.substr(i);
}

std::string tag(std::string_view what, const ResponseContext& c) {
  std::string s{what};
  s += " from ";
  s += c.provider;
  s += " #";
  s += std::to_string(c.request_index);
  s += ':';
  return s;
}

}  // namespace

bool ScriptedResponder::is_summarization(const model::ChatRequest& request) noexcept {
  if (request.messages.empty()) return false;
  const model::Message& last = request.messages.back();
  return last.role == model::Role::user && starts_with_ci(trim_front(last.content), kSummarizeInstruction);
}

ModelAnswer ScriptedResponder::operator()(const model::ChatRequest& request, const ResponseContext& context) const {
  if (is_summarization(request)) {
    return {model::Message::assistant(text_of_tokens(tag("summary", context), context.output_tokens)),
            model::FinishReason::stop};
  }
  const bool user_turn = !request.messages.empty() && request.messages.back().role == model::Role::user;
  if (user_turn && config_.tool_calls_per_step > 0 && !config_.tools.empty()) {
    std::vector<model::ToolCall> calls;
    calls.reserve(static_cast<std::size_t>(config_.tool_calls_per_step));
    for (int k = 0; k < config_.tool_calls_per_step; ++k) {
      model::ToolCall call;
      call.id = "call_";
      call.id += context.provider;
      call.id += '_';
      call.id += std::to_string(context.request_index);
      call.id += '_';
      call.id += std::to_string(k);
      call.name = config_.tools[static_cast<std::size_t>(k) % config_.tools.size()];
      call.arguments = "{\"call_id\":";
      detail::append_json_string(call.arguments, call.id);
      call.arguments += '}';
      calls.push_back(std::move(call));
    }
    return {model::Message::assistant({}, std::move(calls)), model::FinishReason::tool_calls};
  }
  return {model::Message::assistant(text_of_tokens(tag("answer", context), context.output_tokens)),
          model::FinishReason::stop};
}

}  // namespace keel::sim
