#include "keel/agent/memory.h"

#include <algorithm>
#include <numeric>
#include <stdexcept>
#include <utility>

namespace keel::agent {

Memory::Memory(const model::TokenCounter& counter, std::string system_message)
    : counter_(counter), overhead_(counter.count(std::span<const model::Message>{})) {
  set_system(std::move(system_message));
}

void Memory::set_system(std::string text) {
  if (has_system_) messages_.erase(0, 1);
  has_system_ = !text.empty();
  system_tokens_ = 0;
  if (has_system_) {
    model::SharedList<model::Message> next;
    next.reserve(messages_.size() + 1);
    next.push_back(model::Message::system(std::move(text)));
    for (const model::Message& m : messages_) next.push_back(m);
    messages_ = std::move(next);
    system_tokens_ = counter_.count(messages_[0]);
  }
  ++version_;
}

void Memory::add(model::Message message) {
  if (message.role == model::Role::system)
    throw std::invalid_argument("Memory::add: the system message is set with set_system()");
  const int n = counter_.count(message);
  messages_.push_back(std::move(message));
  history_tokens_.push_back(n);
  history_total_ += n;
  ++version_;
}

std::optional<std::size_t> Memory::last_index_of(model::Role role) const noexcept {
  const std::span<const model::Message> h = history();
  for (std::size_t i = h.size(); i-- > 0;)
    if (h[i].role == role) return i;
  return std::nullopt;
}

void Memory::erase(std::size_t first, std::size_t last) {
  last = std::min(last, size());
  first = std::min(first, last);
  if (first == last) return;
  messages_.erase(history_offset() + first, history_offset() + last);
  history_tokens_.erase(history_tokens_.begin() + static_cast<std::ptrdiff_t>(first),
                        history_tokens_.begin() + static_cast<std::ptrdiff_t>(last));
  recount_total();
  ++version_;
}

void Memory::erase_indices(std::span<const std::size_t> ascending) {
  if (ascending.empty()) return;
  for (std::size_t k = 0; k < ascending.size(); ++k) {
    if (ascending[k] >= size() || (k > 0 && ascending[k] <= ascending[k - 1]))
      throw std::invalid_argument("Memory::erase_indices: indices must be ascending and in range");
  }
  const std::size_t offset = history_offset();
  std::size_t out = 0, next = 0;
  for (std::size_t i = 0; i < size(); ++i) {
    if (next < ascending.size() && ascending[next] == i) {
      ++next;
      continue;
    }
    if (out != i) {
      messages_.edit(offset + out) = std::move(messages_.edit(offset + i));
      history_tokens_[out] = history_tokens_[i];
    }
    ++out;
  }
  messages_.resize(offset + out);
  history_tokens_.resize(out);
  recount_total();
  ++version_;
}

void Memory::replace_history(std::vector<model::Message> messages) {
  for (const model::Message& m : messages)
    if (m.role == model::Role::system)
      throw std::invalid_argument("Memory::replace_history: the system message is set with set_system()");
  clear();
  messages_.reserve(history_offset() + messages.size());
  history_tokens_.reserve(messages.size());
  for (model::Message& m : messages) {
    history_tokens_.push_back(counter_.count(m));
    messages_.push_back(std::move(m));
  }
  recount_total();
  ++version_;
}

void Memory::clear() {
  messages_.erase(history_offset(), messages_.size());
  history_tokens_.clear();
  history_total_ = 0;
  ++version_;
}

void Memory::recount_total() noexcept {
  history_total_ = std::accumulate(history_tokens_.begin(), history_tokens_.end(), 0);
}

}  // namespace keel::agent
