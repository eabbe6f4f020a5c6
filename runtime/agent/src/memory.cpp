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
  if (text.empty()) {
    system_.reset();
    system_tokens_ = 0;
  } else {
    system_ = model::Message::system(std::move(text));
    system_tokens_ = counter_.count(*system_);
  }
  ++version_;
}

void Memory::add(model::Message message) {
  if (message.role == model::Role::system)
    throw std::invalid_argument("Memory::add: the system message is set with set_system()");
  const int n = counter_.count(message);
  history_.push_back(std::move(message));
  history_tokens_.push_back(n);
  history_total_ += n;
  ++version_;
}

std::optional<std::size_t> Memory::last_index_of(model::Role role) const noexcept {
  for (std::size_t i = history_.size(); i-- > 0;)
    if (history_[i].role == role) return i;
  return std::nullopt;
}

void Memory::erase(std::size_t first, std::size_t last) {
  last = std::min(last, history_.size());
  first = std::min(first, last);
  if (first == last) return;
  history_.erase(history_.begin() + static_cast<std::ptrdiff_t>(first),
                 history_.begin() + static_cast<std::ptrdiff_t>(last));
  history_tokens_.erase(history_tokens_.begin() + static_cast<std::ptrdiff_t>(first),
                        history_tokens_.begin() + static_cast<std::ptrdiff_t>(last));
  recount_total();
  ++version_;
}

void Memory::erase_indices(std::span<const std::size_t> ascending) {
  if (ascending.empty()) return;
  for (std::size_t k = 0; k < ascending.size(); ++k) {
    if (ascending[k] >= history_.size() || (k > 0 && ascending[k] <= ascending[k - 1]))
      throw std::invalid_argument("Memory::erase_indices: indices must be ascending and in range");
  }
  std::size_t out = 0, next = 0;
  for (std::size_t i = 0; i < history_.size(); ++i) {
    if (next < ascending.size() && ascending[next] == i) {
      ++next;
      continue;
    }
    if (out != i) {
      history_[out] = std::move(history_[i]);
      history_tokens_[out] = history_tokens_[i];
    }
    ++out;
  }
  history_.resize(out);
  history_tokens_.resize(out);
  recount_total();
  ++version_;
}

void Memory::replace_history(std::vector<model::Message> messages) {
  for (const model::Message& m : messages)
    if (m.role == model::Role::system)
      throw std::invalid_argument("Memory::replace_history: the system message is set with set_system()");
  history_ = std::move(messages);
  history_tokens_.clear();
  history_tokens_.reserve(history_.size());
  for (const model::Message& m : history_) history_tokens_.push_back(counter_.count(m));
  recount_total();
  ++version_;
}

void Memory::clear() {
  history_.clear();
  history_tokens_.clear();
  history_total_ = 0;
  ++version_;
}

std::vector<model::Message> Memory::messages() const {
  std::vector<model::Message> out;
  out.reserve(history_.size() + 1);
  if (system_) out.push_back(*system_);
  out.insert(out.end(), history_.begin(), history_.end());
  return out;
}

void Memory::recount_total() noexcept {
  history_total_ = std::accumulate(history_tokens_.begin(), history_tokens_.end(), 0);
}

}  // namespace keel::agent
