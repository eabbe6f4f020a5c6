#include "keel/sim/call_counter.h"

#include <functional>
#include <utility>

namespace keel::sim {

std::uint64_t CallCounter::hash_of(std::string_view id) noexcept {
  const std::uint64_t h = std::hash<std::string_view>{}(id);
  return h == 0 ? 1 : h;
}

std::size_t CallCounter::find(std::string_view id, std::uint64_t hash) const noexcept {
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.hash == 0) return i;
    if (s.hash == hash && std::string_view(arena_).substr(s.offset, s.length) == id) return i;
  }
}

void CallCounter::grow() {
  const std::size_t capacity = slots_.empty() ? 1024 : 2 * slots_.size();
  std::vector<Slot> old = std::exchange(slots_, std::vector<Slot>(capacity));
  const std::size_t mask = slots_.size() - 1;
  for (const Slot& s : old) {
    if (s.hash == 0) continue;
    std::size_t i = s.hash & mask;
    while (slots_[i].hash != 0) i = (i + 1) & mask;
    slots_[i] = s;
  }
}

std::uint64_t CallCounter::add(std::string_view id) {
  if (2 * (size_ + 1) > slots_.size()) grow();
  const std::uint64_t hash = hash_of(id);
  Slot& s = slots_[find(id, hash)];
  if (s.hash == 0) {
    s = Slot{hash, 0, arena_.size(), id.size()};
    arena_.append(id);
    ++size_;
  }
  return ++s.count;
}

std::uint64_t CallCounter::count(std::string_view id) const noexcept {
  if (slots_.empty()) return 0;
  return slots_[find(id, hash_of(id))].count;
}

}  // namespace keel::sim
