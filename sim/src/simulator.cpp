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

// SplitMix64 finalizer: a bijection on 64 bits, so distinct sequence numbers get distinct keys.
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
    for (std::size_t i = 0; i < size_; ++i) bigger[i] = std::move(ring_[(head_ + i) & (ring_.size() - 1)]);
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

// --- Simulator ---------------------------------------------------------------------------

Simulator::Simulator(Options options) : options_(options), mix_key_(mix64(options.seed)) {}

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

std::uint64_t Simulator::next_order() noexcept {
  const std::uint64_t seq = seq_++;
  return options_.permute_ties ? mix64(seq ^ mix_key_) : seq;
}

std::uint32_t Simulator::alloc_slot() {
  std::uint32_t slot;
  if (free_head_ != 0) {
    slot = free_head_ - 1;
    free_head_ = slots_[slot].next_free;
  } else {
    if (slots_.size() >= std::numeric_limits<std::uint32_t>::max() - 1)
      throw std::length_error("sim::Simulator: too many pending timers");
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  ++slots_[slot].gen;  // even (free) -> odd (live)
  return slot;
}

void Simulator::free_slot(std::uint32_t slot) noexcept {
  Slot& s = slots_[slot];
  ++s.gen;  // odd (live) -> even (free): every id and heap entry for it is now stale
  // A slot whose generation wrapped is retired for good, so a TimerId is never reused.
  if (s.gen == 0) return;
  s.next_free = free_head_;
  free_head_ = slot + 1;
}

void Simulator::post(Callback cb) {
  if (!options_.permute_ties) {
    posts_.push(seq_++, std::move(cb));
    return;
  }
  start_timer(now(), std::move(cb));
}

TimerId Simulator::start_timer(TimePoint at, Callback cb) {
  const std::int64_t t = std::max(at.time_since_epoch().count(), now_);
  const std::uint32_t slot = alloc_slot();
  Slot& s = slots_[slot];
  s.cb = std::move(cb);
  heap_push(Entry{t, next_order(), slot, s.gen});
  return TimerId{(std::uint64_t{s.gen} << 32) | (std::uint64_t{slot} + 1)};
}

bool Simulator::cancel_timer(TimerId id) noexcept {
  const std::uint64_t slot_plus_one = id.value & 0xffff'ffffULL;
  const auto gen = static_cast<std::uint32_t>(id.value >> 32);
  if (slot_plus_one == 0 || slot_plus_one > slots_.size() || (gen & 1) == 0) return false;
  const auto slot = static_cast<std::uint32_t>(slot_plus_one - 1);
  if (slots_[slot].gen != gen) return false;
  // Finish the bookkeeping before the callback's destructor runs: it may re-enter.
  Callback doomed = std::move(slots_[slot].cb);
  free_slot(slot);
  ++stale_;
  drop_stale_top();
  maybe_compact();
  return true;
}

// --- 4-ary min-heap ----------------------------------------------------------------------

void Simulator::heap_push(Entry e) {
  heap_.push_back(e);
  std::size_t i = heap_.size() - 1;
  while (i > 0) {
    const std::size_t parent = (i - 1) / kArity;
    if (!before(e, heap_[parent])) break;
    heap_[i] = heap_[parent];
    i = parent;
  }
  heap_[i] = e;
}

// Moves `e` down from the hole at `i` to its place.
void Simulator::sift_down(std::size_t i, Entry e) noexcept {
  const std::size_t n = heap_.size();
  for (;;) {
    const std::size_t first = i * kArity + 1;
    if (first >= n) break;
    const std::size_t last = std::min(first + kArity, n);
    std::size_t best = first;
    for (std::size_t c = first + 1; c < last; ++c)
      if (before(heap_[c], heap_[best])) best = c;
    if (!before(heap_[best], e)) break;
    heap_[i] = heap_[best];
    i = best;
  }
  heap_[i] = e;
}

void Simulator::heap_pop() noexcept {
  const Entry last = heap_.back();
  heap_.pop_back();
  if (!heap_.empty()) sift_down(0, last);
}

void Simulator::drop_stale_top() noexcept {
  while (!heap_.empty() && !live(heap_.front())) {
    heap_pop();
    --stale_;
  }
}

// Rebuilds the heap without cancelled entries once they outnumber live ones, so memory stays
// bounded when most timers are cancelled (timeouts usually are): checked after every cancel
// and fire, it keeps heap_size() <= 2 * pending() + kMinCompactSize. Amortised O(1).
void Simulator::maybe_compact() noexcept {
  if (heap_.size() < kMinCompactSize || stale_ * 2 <= heap_.size()) return;
  std::erase_if(heap_, [this](const Entry& e) { return !live(e); });
  stale_ = 0;
  if (heap_.size() < 2) return;
  for (std::size_t i = (heap_.size() - 2) / kArity + 1; i-- > 0;) sift_down(i, heap_[i]);
}

// --- run loop ----------------------------------------------------------------------------

bool Simulator::has_due(std::int64_t limit) const noexcept {
  return !posts_.empty() || (!heap_.empty() && heap_.front().time <= limit);
}

// Runs the earliest event. Posts are all due at now_; a timer goes first only if it is due
// now too and was scheduled earlier.
void Simulator::run_next() {
  Callback cb;
  if (!posts_.empty() &&
      (heap_.empty() || heap_.front().time != now_ || heap_.front().order > posts_.front().seq)) {
    cb = std::move(posts_.front().cb);
    posts_.pop();
  } else {
    const Entry top = heap_.front();
    heap_pop();
    now_ = top.time;
    cb = std::move(slots_[top.slot].cb);
    free_slot(top.slot);
    if (stale_ > 0) {
      drop_stale_top();
      maybe_compact();  // firing raises the stale share too
    }
    // The next event's slot is a likely cache miss: start loading it while this one runs.
    if (!heap_.empty()) __builtin_prefetch(&slots_[heap_.front().slot]);
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
  return TimePoint{Duration{heap_.front().time}};
}

}  // namespace keel::sim
