// Internal to keel_model: the ModelManager's per-model slot, and a streamed call's state across its attempts — what the
// last attempt delivered, the partial answer kept for `stream_recovery: continue`, and the
// decision after a failed attempt (model_manager.h, "Streams").
#pragma once

#include <string>
#include <vector>

#include "keel/model/model_manager.h"

namespace keel::model {

// Everything one model of the chain owns: its transport and its policies.
struct ModelManager::Slot {
  ModelTransport* transport = nullptr;
  Rng rng;
  std::optional<policy::RetryBudget> budget;
  std::optional<policy::CircuitBreaker> breaker;
  std::optional<policy::Retry> retry;
};

// What one streamed attempt delivered (filled by ModelManager::stream_attempt).
struct ModelManager::StreamOutcome {
  bool opened = false;   // at least one event arrived
  int tokens = 0;        // content deltas received
  std::string partial;   // the text received (kept only when the attempt failed mid-answer)
  bool timed_out = false;
};

class StreamCall {
 public:
  enum class Next : std::uint8_t { usual, next_model, end_call };

  StreamCall(ModelManagerCounters& counters, const ChatRequest& request) : counters_(counters), request_(request) {}

  ModelManager::StreamOutcome outcome;
  ChatRequest continued;  // the request with the partial answer as an assistant prefill

  // Whether the next attempt on `slot`'s model carries the partial answer.
  template <class Slot>
  bool wants_prefill(const Slot& slot) const {
    if (prefix_.empty() || !slot.transport->info().supports_prefill) return false;
    for (const void* t : refused_) {
      if (t == slot.transport) return false;
    }
    return true;
  }
  template <class Slot>
  void refused_prefill(const Slot& slot) {
    refused_.push_back(slot.transport);
  }

  // A successful attempt: a continued one returns the partial answer and its rest.
  void complete(ChatResponse& r, bool prefilled) const {
    if (!prefilled) return;
    r.message.content.insert(0, prefix_);
    r.answer_tokens += prefix_tokens_;
  }

  // After a failed streamed attempt: account its usage, keep its partial answer (continue),
  // and say whether the policy leaves the usual retry/fallback path.
  Next after_failure(const ChatRequest& request, const Error& e, bool has_next_model, const StreamPolicy& policy) {
    if (outcome.opened) {
      counters_.failed_attempts_usage.prompt_tokens += request.prompt_tokens;
      counters_.failed_attempts_usage.completion_tokens += outcome.tokens;
    }
    if (e.code == ErrorCode::cancelled) return Next::usual;
    if (outcome.tokens == 0) {  // nothing of the answer arrived
      return policy.leaves_silent_route(e.code, has_next_model) ? Next::next_model : Next::usual;
    }
    switch (policy.recovery) {
      case StreamPolicy::Recovery::fail: return Next::end_call;
      case StreamPolicy::Recovery::restart: return Next::usual;
      case StreamPolicy::Recovery::continue_: keep_partial(); return Next::usual;
    }
    return Next::usual;
  }

 private:
  // The partial answer grows by what this attempt delivered (it continued the prefix when it
  // was sent with it, else it restarted).
  void keep_partial() {
    if (!attempt_continues) {
      prefix_.clear();
      prefix_tokens_ = 0;
    }
    prefix_ += outcome.partial;
    prefix_tokens_ += outcome.tokens;
    continued = request_;
    continued.messages.push_back(Message::assistant(prefix_));
  }

 public:
  // Set by the caller before each attempt: whether it carries the prefix.
  bool attempt_continues = false;

 private:
  ModelManagerCounters& counters_;
  const ChatRequest& request_;
  std::string prefix_;
  int prefix_tokens_ = 0;
  std::vector<const void*> refused_;
};

}  // namespace keel::model
