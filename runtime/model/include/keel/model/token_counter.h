// keel/model/token_counter.h — counting prompt tokens before a request is sent.
//
// Purpose: the agent never sends a request over the target model's context window (a defect
// of the source design), so it counts first. Real tokenizers are model-specific; keel ships a
// deterministic approximation and lets users plug in an exact counter.
//
// Contract: `count` is pure and deterministic. ApproxTokenCounter: ceil(bytes / 4) per text
// field plus 4 tokens of framing per message and 3 per request (the OpenAI cookbook's
// overheads), tool calls counted by name + arguments. It over-estimates English slightly,
// which errs on the safe side of a context window.
//
// Example:
//   ApproxTokenCounter counter;
//   int n = counter.count(request.messages);
//   if (n > window) { /* summarize, truncate, or pick a larger model */ }
#pragma once

#include <span>

#include "keel/model/message.h"

namespace keel::model {

class TokenCounter {
 public:
  virtual ~TokenCounter() = default;
  virtual int count(const Message& m) const = 0;
  virtual int count(std::span<const Message> messages) const;
};

class ApproxTokenCounter final : public TokenCounter {
 public:
  static constexpr int kPerMessage = 4;
  static constexpr int kPerRequest = 3;
  int count(const Message& m) const override;
  using TokenCounter::count;
};

// Tokens in a text by the approximation: ceil(bytes / 4).
constexpr int approx_text_tokens(std::string_view text) noexcept {
  return static_cast<int>((text.size() + 3) / 4);
}

}  // namespace keel::model
