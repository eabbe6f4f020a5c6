// keel/model/chat_model.h — ChatModel: what an agent talks to (a ModelManager, or a test fake).
//
// Purpose: the agent layer depends on this small interface, not on the ModelManager, so an
// agent can be tested against a fake and a ModelManager can be swapped for any other chain.
//
// Contract:
//  - `complete` sends the request to one model of the chain (with whatever retries,
//    breakers, timeouts and fallbacks the implementation applies) and returns the answer or a
//    classified Error; it never sends a request whose `prompt_tokens` exceed the window of the
//    model it goes to — it skips such models, and returns ErrorCode::context_overflow if none
//    fits. It honours the awaiting task's cancellation and deadline.
//  - `max_context_window()` is the largest window any model of the chain accepts: the budget
//    an agent should fit its history into (by summarizing or truncating).
//
// Example:
//   request.prompt_tokens = counter.count(request.messages);
//   if (request.prompt_tokens > chat.max_context_window()) { /* summarize or truncate first */ }
//   Result<ChatResponse> r = co_await chat.complete(std::move(request));
#pragma once

#include "keel/core/result.h"
#include "keel/core/task.h"
#include "keel/model/message.h"

namespace keel::model {

class ChatModel {
 public:
  virtual ~ChatModel() = default;
  virtual Task<Result<ChatResponse>> complete(ChatRequest request) = 0;
  virtual int max_context_window() const noexcept = 0;
};

}  // namespace keel::model
