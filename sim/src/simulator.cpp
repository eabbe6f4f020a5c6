#include "keel/sim/simulator.h"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <utility>

namespace keel::sim {
namespace {

constexpr std::int64_t kForever = std::numeric_limits<std::int64_t>::max();
constexpr std::size_t kArity = 4;
constexpr std::size_t kMinCompactSize = 256;  // below this, stale entries are not worth a rebuild

// SplitMix64 finalizer: turns the seed into the tie permutation's parameters.
constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Clears `running` when a run ends, also when a callback throws.
struct RunningGuard {
  explicit RunningGuard(bool& running) : flag(running) {
    if (flag) throw std::logic_error("sim::Simulator: run_*/step called from inside a callback");
    flag = true;
  }
  ~RunningGuard() { flag = false; }
  RunningGuard(const RunningGuard&) = delete;
  RunningGuard& operator=(const RunningGuard&) = delete;
  bool& flag;
};

}  // namespace

// --- PostQueue ---------------------------------------------------------------------------

void Simulator::PostQueue::push(std::uint64_t seq, Callback cb) {
  if (size_ == ring_.size()) {
    std::vector<Post> bigger(std::max<std::size_t>(16, ring_.size() * 2));
    const std::size_t mask = ring_.size() - 1;
    for (std::size_t i = 0; i < size_; ++i) bigger[i] = std::move(ring_[(head_ + i) & mask]);
    ring_ = std::move(bigger);
    head_ = 0;
  }
  Post& p = ring_[(head_ + size_) & (ring_.size() - 1)];
  p.seq = seq;
  p.cb = std::move(cb);
  ++size_;
}

void Simulator::PostQueue::pop() noexcept {
  ring_[head_].cb.reset();
  head_ = (head_ + 1) & (ring_.size() - 1);
  --size_;
}

std::vector<Simulator::PostQueue::Post> Simulator::PostQueue::take_all() noexcept {
  head_ = size_ = 0;
  return std::move(ring_);
}

// --- KeyHeap -----------------------------------------------------------------------------
// Node i lives at buf_[kFront + i]; its children 4i+1..4i+4 share the cache line at byte
// 64 * (i + 1). Everything outside [0, n_) is kSentinel, which no real key reaches.

Simulator::KeyHeap::KeyHeap() : buf_(kFront + kArity, kSentinel) {}

void Simulator::KeyHeap::push(Key k) {
  buf_.push_back(kSentinel);  // may reallocate: before taking pointers
  sift_up(n_++, k);
}

void Simulator::KeyHeap::sift_up(std::size_t i, Key k) noexcept {
  Key* h = node();
  while (i > 0) {
    const std::size_t parent = (i - 1) / kArity;
    if (!(k < h[parent])) break;
    h[i] = h[parent];
    i = parent;
  }
  h[i] = k;
}

// Index of the smallest of the four children starting at `c`, without branches. Children
// past the end are sentinels and never win against a real one.
std::size_t Simulator::KeyHeap::min_child(std::size_t c) const noexcept {
  const Key* h = buf_.data() + kFront;
  // The grandchildren are the next four cache lines: fetch them while comparing children.
  if (const std::size_t g = c * kArity + 1; g < n_)
    for (std::size_t line = 0; line < kArity; ++line) __builtin_prefetch(h + g + line * kArity);
  const std::size_t a = c + (h[c + 1] < h[c]);
  const std::size_t b = c + 2 + (h[c + 3] < h[c + 2]);
  return h[b] < h[a] ? b : a;
}

// Floyd's pop: the last key nearly always belongs near the bottom, so walk the hole down to
// a leaf without comparing against it, then sift it up from there.
void Simulator::KeyHeap::pop() noexcept {
  Key* h = node();
  const Key last = h[--n_];
  h[n_] = kSentinel;
  buf_.pop_back();
  if (n_ == 0) return;
  std::size_t i = 0;
  for (std::size_t c = 1; c < n_; c = i * kArity + 1) {
    const std::size_t best = min_child(c);
    h[i] = h[best];
    i = best;
  }
  sift_up(i, last);
}

void Simulator::KeyHeap::sift_down(std::size_t i, Key k) noexcept {
  Key* h = node();
  for (std::size_t c = i * kArity + 1; c < n_; c = i * kArity + 1) {
    const std::size_t best = min_child(c);
    if (!(h[best] < k)) break;
    h[i] = h[best];
    i = best;
  }
  h[i] = k;
}

template <class Dead>
void Simulator::KeyHeap::erase_if(Dead dead) noexcept {
  Key* h = node();
  std::size_t kept = 0;
  for (std::size_t i = 0; i < n_; ++i)
    if (!dead(h[i])) h[kept++] = h[i];
  std::fill(h + kept, h + n_, kSentinel);
  buf_.resize(kFront + kept + kArity);
  n_ = kept;
  if (n_ < 2) return;
  for (std::size_t i = (n_ - 2) / kArity + 1; i-- > 0;) sift_down(i, h[i]);
}

void Simulator::KeyHeap::clear() noexcept {
  buf_.assign(kFront + kArity, kSentinel);
  n_ = 0;
}

// --- Simulator ---------------------------------------------------------------------------

Simulator::Simulator(Options options)
    : options_(options), perm_xor_(mix64(options.seed)), perm_mul_(mix64(options.seed + 1) | 1) {}

Simulator::~Simulator() {
  destroy_detached_tasks();
  // Destroying a callback may run user destructors that schedule or cancel: take everything
  // out first so they see a consistent (empty) simulator, and repeat until nothing is left.
  while (!slots_.empty() || !posts_.empty()) {
    std::vector<Slot> slots = std::move(slots_);
    std::vector<PostQueue::Post> posts = posts_.take_all();
    slots_.clear();
    heap_.clear();
    stale_ = 0;
    free_head_ = 0;
  }
}

std::uint64_t Simulator::next_seq() {
  if (seq_ >> kOrderBits) throw std::length_error("sim::Simulator: more than 2^40 events scheduled");
  return seq_++;
}

// Without permute_ties, the sequence number itself. With it, a seeded bijection on 40 bits
// (xor, then multiply/xorshift rounds mod 2^40): distinct, reproducible, well mixed.
std::uint64_t Simulator::tie_order(std::uint64_t seq) const noexcept {
  if (!options_.permute_ties) return seq;
  constexpr std::uint64_t mask = (std::uint64_t{1} << kOrderBits) - 1;
  std::uint64_t x = (seq ^ perm_xor_) & mask;
  x = (x * perm_mul_) & mask;
  x ^= x >> 20;
  x = (x * 0xbf58476d1ce4e5b9ULL) & mask;
  x ^= x >> 19;
  x = (x * 0x94d049bb133111ebULL) & mask;
  return x ^ (x >> 21);
}

std::uint32_t Simulator::alloc_slot() {
  if (free_head_ != 0) {
    const std::uint32_t slot = free_head_ - 1;
    free_head_ = slots_[slot].next_free;
    return slot;
  }
  // The all-ones slot index is reserved, so that kNoKey never names a slot.
  if (slots_.size() >= kSlotMask) throw std::length_error("sim::Simulator: 2^24 timers pending");
  slots_.emplace_back();
  return static_cast<std::uint32_t>(slots_.size() - 1);
}

void Simulator::free_slot(std::uint32_t slot) noexcept {
  slots_[slot].key = kNoKey;  // every id and heap entry for it is now stale
  slots_[slot].next_free = free_head_;
  free_head_ = slot + 1;
}

void Simulator::post(Callback cb) {
  if (!options_.permute_ties) {
    posts_.push(next_seq(), std::move(cb));
    return;
  }
  start_timer(now(), std::move(cb));
}

TimerId Simulator::start_timer(TimePoint at, Callback cb) {
  const std::int64_t t = std::max(at.time_since_epoch().count(), now_);  // >= now_ >= 0
  const std::uint64_t seq = next_seq();
  const std::uint32_t slot = alloc_slot();
  const std::uint64_t low = (tie_order(seq) << kSlotBits) | slot;
  try {
    heap_.push((Key{static_cast<std::uint64_t>(t)} << 64) | low);
  } catch (...) {
    free_slot(slot);
    throw;
  }
  slots_[slot].cb = std::move(cb);
  slots_[slot].key = low;
  return TimerId{low + 1};
}

bool Simulator::cancel_timer(TimerId id) noexcept {
  const std::uint64_t low = id.value - 1;
  const std::uint32_t slot = slot_of(low);
  if (slot >= slots_.size() || slots_[slot].key != low) return false;
  // Finish the bookkeeping before the callback's destructor runs: it may re-enter.
  Callback doomed = std::move(slots_[slot].cb);
  free_slot(slot);
  ++stale_;
  drop_stale_top();
  maybe_compact();
  return true;
}

void Simulator::drop_stale_top() noexcept {
  while (!heap_.empty() && !live(heap_.top())) {
    heap_.pop();
    --stale_;
  }
}

// Rebuilds the heap without cancelled entries once they outnumber live ones, so memory stays
// bounded when most timers are cancelled (timeouts usually are): checked after every cancel
// and fire, it keeps heap_size() <= 2 * pending() + kMinCompactSize. Amortised O(1).
void Simulator::maybe_compact() noexcept {
  if (heap_.size() < kMinCompactSize || stale_ * 2 <= heap_.size()) return;
  heap_.erase_if([this](Key k) { return !live(k); });
  stale_ = 0;
}

// --- run loop ----------------------------------------------------------------------------

bool Simulator::has_due(std::int64_t limit) const noexcept {
  return !posts_.empty() || (!heap_.empty() && time_of(heap_.top()) <= limit);
}

// Runs the earliest event. Posts are all due at now_; a timer goes first only if it is due
// now too and was scheduled earlier.
void Simulator::run_next() {
  Callback cb;
  if (!posts_.empty() && (heap_.empty() || time_of(heap_.top()) != now_ ||
                          (low_of(heap_.top()) >> kSlotBits) > posts_.front().seq)) {
    cb = std::move(posts_.front().cb);
    posts_.pop();
  } else {
    const Key top = heap_.top();
    heap_.pop();
    now_ = time_of(top);
    const std::uint32_t slot = slot_of(low_of(top));
    cb = std::move(slots_[slot].cb);
    free_slot(slot);
    if (stale_ > 0) {
      drop_stale_top();
      maybe_compact();  // firing raises the stale share too
    }
    // The next events' slots are likely cache misses: start loading them while this one runs
    // (the top's, and its children's: one of them comes right after it).
    for (std::size_t i = 0, n = std::min(heap_.size(), 1 + kArity); i < n; ++i)
      __builtin_prefetch(&slots_[slot_of(low_of(heap_.at(i)))]);
  }
  ++events_run_;
  cb();
}

RunResult Simulator::run_loop(std::int64_t limit) {
  RunningGuard guard{running_};
  std::uint64_t events = 0;
  while (has_due(limit)) {
    if (events == options_.event_budget) return {RunStatus::budget_exhausted, events};
    run_next();
    ++events;
  }
  return {RunStatus::idle, events};
}

bool Simulator::step() {
  RunningGuard guard{running_};
  if (!has_due(kForever)) return false;
  run_next();
  return true;
}

RunResult Simulator::run_until_idle() { return run_loop(kForever); }

RunResult Simulator::run_until(TimePoint target) {
  const std::int64_t t = std::max(target.time_since_epoch().count(), now_);
  RunResult r = run_loop(t);
  if (r.status == RunStatus::budget_exhausted) return r;
  now_ = t;
  if (pending() > 0) r.status = RunStatus::reached_time;
  return r;
}

std::optional<TimePoint> Simulator::next_wakeup() const noexcept {
  if (!posts_.empty()) return now();
  if (heap_.empty()) return std::nullopt;
  return TimePoint{Duration{time_of(heap_.top())}};
}

}  // namespace keel::sim
