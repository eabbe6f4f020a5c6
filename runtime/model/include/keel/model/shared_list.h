// keel/model/shared_list.h — SharedList<T>: a vector whose copies share storage until written.
//
// Purpose: a request's messages travel by value through every layer (agent → manager → retry →
// attempt → transport), because an abandoned attempt must own what it sends. Copying a whole
// conversation per attempt was a large share of a simulated call's cost; a SharedList copy is
// one reference-count increment, and the agent's memory and its requests share one history.
//
// Contract:
//  - Value semantics: a copy never sees a later change made through another copy. Every
//    write (push_back, emplace_back, edit, erase, clear, resize, reserve) first takes a private
//    copy of the elements if they are shared (copy-on-write).
//  - Reading never copies and never allocates, even through a non-const list: operator[],
//    front, back and iteration are read-only; write an element through `edit(i)`. References and iterators obtained from a
//    list are invalidated by any non-const call on that list (as with std::vector, and also
//    because the call may move the list to private storage).
//  - Copies may be read on different threads; a list (one object) is not thread-safe itself.
//
// Example:
//   SharedList<Message> history{Message::user("hi")};
//   SharedList<Message> sent = history;     // shares, no element copied
//   history.push_back(Message::assistant("hello"));   // history copies, then appends
//   history.edit(0).content = "hi!";                 // not shared any more: no copy
//   assert(sent.size() == 1 && history.size() == 2);
#pragma once

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <span>
#include <utility>
#include <vector>

namespace keel::model {

template <class T>
class SharedList {
 public:
  using value_type = T;
  using size_type = std::size_t;
  using const_iterator = typename std::vector<T>::const_iterator;

  SharedList() = default;
  SharedList(std::initializer_list<T> items) : SharedList(std::vector<T>(items)) {}
  SharedList(std::vector<T> items)  // NOLINT: implicit, a vector is a list
      : items_(items.empty() ? nullptr : std::make_shared<std::vector<T>>(std::move(items))) {}

  // --- Const access: never copies ---
  std::size_t size() const noexcept { return items_ ? items_->size() : 0; }
  bool empty() const noexcept { return size() == 0; }
  const T& operator[](std::size_t i) const noexcept { return (*items_)[i]; }
  const T& at(std::size_t i) const { return view().at(i); }
  const T& front() const noexcept { return items_->front(); }
  const T& back() const noexcept { return items_->back(); }
  const_iterator begin() const noexcept { return view().begin(); }
  const_iterator end() const noexcept { return view().end(); }
  const T* data() const noexcept { return view().data(); }
  std::span<const T> span() const noexcept { return {data(), size()}; }
  operator std::span<const T>() const noexcept { return span(); }  // NOLINT: read as a span
  // True when another list shares these elements (a write would copy them first).
  bool shared() const noexcept { return items_ && items_.use_count() > 1; }

  // --- Writes: copy the elements first if they are shared ---
  // Element access for writing is explicit, so that reading a non-const list never copies.
  T& edit(std::size_t i) { return own().at(i); }
  void push_back(T value) { own().push_back(std::move(value)); }
  template <class... Args>
  T& emplace_back(Args&&... args) {
    return own().emplace_back(std::forward<Args>(args)...);
  }
  void reserve(std::size_t n) { own().reserve(n); }
  void resize(std::size_t n) { own().resize(n); }
  // Removes elements [first, last); bounds are clamped to the size.
  void erase(std::size_t first, std::size_t last) {
    last = std::min(last, size());
    first = std::min(first, last);
    if (first == last) return;
    if (shared()) {  // copy only what stays
      std::vector<T> kept;
      kept.reserve(size() - (last - first));
      kept.insert(kept.end(), items_->begin(), items_->begin() + static_cast<std::ptrdiff_t>(first));
      kept.insert(kept.end(), items_->begin() + static_cast<std::ptrdiff_t>(last), items_->end());
      items_ = std::make_shared<std::vector<T>>(std::move(kept));
      return;
    }
    std::vector<T>& v = own();
    v.erase(v.begin() + static_cast<std::ptrdiff_t>(first), v.begin() + static_cast<std::ptrdiff_t>(last));
  }
  void clear() noexcept {
    if (shared()) items_.reset();
    else if (items_) items_->clear();
  }

  friend bool operator==(const SharedList& a, const SharedList& b) {
    return a.items_ == b.items_ || std::ranges::equal(a.span(), b.span());
  }

 private:
  const std::vector<T>& view() const noexcept { return items_ ? *items_ : empty_vector(); }
  std::vector<T>& own() {
    if (!items_) items_ = std::make_shared<std::vector<T>>();
    else if (items_.use_count() > 1) items_ = std::make_shared<std::vector<T>>(*items_);
    return *items_;
  }
  static const std::vector<T>& empty_vector() noexcept {
    static const std::vector<T> kEmpty;
    return kEmpty;
  }

  std::shared_ptr<std::vector<T>> items_;
};

}  // namespace keel::model
