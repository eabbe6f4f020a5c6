// keel/agent/memory.h — Memory: an agent's conversation history with O(1) token accounting.
//
// Purpose: the agent counts prompt tokens before every model call (the source design sent
// over-limit context to the model). Memory keeps each message's token count, computed once when
// the message is added, and a running total, so "how big would the request be?" costs nothing.
//
// Contract:
//  - The system message (optional: empty text means none) is held apart from the history and
//    is never removed by clear(), erase or replace_history(); only set_system() changes it.
//  - `history()` is every other message, in the order added. Adding a system-role message to
//    the history throws std::invalid_argument (use set_system).
//  - `tokens()` == counter.count(messages()) for an additive TokenCounter, i.e. one whose
//    count(span) is count({}) plus the sum of count(m) — true of TokenCounter's default and
//    of ApproxTokenCounter. Each message is counted exactly once, when it enters the memory.
//  - `version()` changes on every modification, so a caller that suspended (e.g. while a
//    summary was being written) can tell whether the history moved under it.
//  - Not thread-safe (like everything on one scheduler). The counter must outlive the memory.
//
// Example:
//   Memory memory{counter, "You are terse."};
//   memory.add(model::Message::user("2+2?"));
//   request.messages = memory.messages();
//   request.prompt_tokens = memory.tokens();       // == counter.count(request.messages)
//   memory.clear();                                // back to just the system message
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "keel/model/message.h"
#include "keel/model/token_counter.h"

namespace keel::agent {

class Memory {
 public:
  explicit Memory(const model::TokenCounter& counter, std::string system_message = {});

  // --- The system message ---
  void set_system(std::string text);
  bool has_system() const noexcept { return has_system_; }
  const model::Message* system() const noexcept { return has_system_ ? &messages_[0] : nullptr; }
  int system_tokens() const noexcept { return system_tokens_; }

  // --- The history (everything but the system message) ---
  void add(model::Message message);
  std::span<const model::Message> history() const noexcept { return messages_.span().subspan(history_offset()); }
  std::size_t size() const noexcept { return history_tokens_.size(); }
  bool empty() const noexcept { return history_tokens_.empty(); }
  const model::Message& at(std::size_t index) const { return messages_.at(history_offset() + index); }
  // The cached token count of history()[index].
  int tokens_at(std::size_t index) const { return history_tokens_.at(index); }
  // The index of the last history message with role `role`, or nullopt.
  std::optional<std::size_t> last_index_of(model::Role role) const noexcept;

  // Removes history()[first, last). Out-of-range bounds are clamped.
  void erase(std::size_t first, std::size_t last);
  // Removes the history messages at `ascending` indices (strictly increasing, in range).
  void erase_indices(std::span<const std::size_t> ascending);
  // Replaces the whole history (the system message stays).
  void replace_history(std::vector<model::Message> messages);
  // Drops the history; the system message stays.
  void clear();

  // --- What a request built from this memory would hold ---
  // The system message (if any) followed by the history. O(1): the list is shared with the
  // memory until either changes (shared_list.h).
  const model::SharedList<model::Message>& messages() const noexcept { return messages_; }
  // Prompt tokens of messages(): request overhead + system + history. O(1).
  int tokens() const noexcept { return overhead_ + system_tokens_ + history_total_; }
  // The counter's per-request overhead, count({}).
  int request_overhead() const noexcept { return overhead_; }

  std::uint64_t version() const noexcept { return version_; }
  const model::TokenCounter& counter() const noexcept { return counter_; }

 private:
  void recount_total() noexcept;
  std::size_t history_offset() const noexcept { return has_system_ ? 1 : 0; }

  const model::TokenCounter& counter_;
  int overhead_ = 0;
  // The system message (when has_system_) followed by the history: requests share it.
  model::SharedList<model::Message> messages_;
  bool has_system_ = false;
  int system_tokens_ = 0;
  std::vector<int> history_tokens_;  // parallel to the history
  int history_total_ = 0;
  std::uint64_t version_ = 0;
};

}  // namespace keel::agent
