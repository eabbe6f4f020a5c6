// keel/policy/sliding_window.h — the circuit breaker's call window: count- or time-based.
//
// Purpose: keep the number of calls, failures and slow calls over "the last N calls" (count
// window) or "the last D of time" (time window) in O(1) per record and fixed memory, so the
// breaker can compute its rates on every call without allocating.
//
// Contract:
//  - Count window of size N: the last N recorded calls (a ring of N one-byte entries).
//  - Time window of duration D and bucket width w: B = ceil(D / w) buckets; bucket index of a
//    time t is floor(t / w). At time `now`, the window holds the calls recorded in buckets
//    floor(now/w) - B + 1 .. floor(now/w): the current (partial) bucket and the B-1 before it,
//    as resilience4j does. Advancing time costs O(1) per elapsed bucket, at most O(B), and
//    O(1) after a jump of B buckets or more. A `now` earlier than the latest seen is treated as
//    the latest seen (time never goes backwards in a window).
//  - All memory is allocated by the constructor; record/stats/clear never allocate.
//  - Single-threaded, owned by its breaker.
//
// Example:
//   SlidingWindow w = SlidingWindow::time_based(10s, 1s);
//   w.record(/*failure=*/true, /*slow=*/false, now);
//   WindowStats s = w.stats(now + 3s);   // {calls=1, failures=1, slow=0}
//   s = w.stats(now + 11s);              // {} — the bucket expired
#pragma once

#include <cstdint>
#include <memory>

#include "keel/core/time.h"

namespace keel::policy {

enum class WindowKind : std::uint8_t { count, time };

// Totals over the window.
struct WindowStats {
  std::uint64_t calls = 0;
  std::uint64_t failures = 0;
  std::uint64_t slow = 0;
  friend bool operator==(const WindowStats&, const WindowStats&) noexcept = default;
};

class SlidingWindow {
 public:
  // The last `size` calls (size >= 1).
  static SlidingWindow count_based(std::uint32_t size);
  // Calls in the last ceil(duration / bucket_width) buckets (both > 0; at most 1<<20 buckets).
  static SlidingWindow time_based(Duration duration, Duration bucket_width);

  WindowKind kind() const noexcept { return kind_; }
  // Count window: N. Time window: the number of buckets B.
  std::uint32_t capacity() const noexcept { return capacity_; }
  Duration bucket_width() const noexcept { return Duration{width_}; }

  // Records one call at `now` (ignored by count windows) and expires what fell out.
  void record(bool failure, bool slow, TimePoint now) noexcept {
    if (kind_ == WindowKind::count) {
      record_count(failure, slow);
    } else {
      record_time(failure, slow, now);
    }
  }
  // Totals at `now` (time windows expire old buckets first; observing changes nothing else).
  WindowStats stats(TimePoint now) noexcept {
    if (kind_ == WindowKind::time) advance(bucket_of(now));
    return totals_;
  }
  // Totals as of the last record/stats call (no expiry).
  const WindowStats& totals() const noexcept { return totals_; }
  // Forgets everything (O(capacity)).
  void clear() noexcept;

 private:
  struct Bucket {
    std::int64_t epoch;  // bucket index this slot holds
    std::uint64_t calls, failures, slow;
  };
  static constexpr std::uint8_t kFailureBit = 1, kSlowBit = 2;

  SlidingWindow(WindowKind kind, std::uint32_t capacity, std::int64_t width);

  void record_count(bool failure, bool slow) noexcept {
    std::uint8_t& slot = ring_[pos_];
    // The evicted entry's counts, then one update per total (modulo 2^64, so adding 0 - 1
    // subtracts): each total is loaded and stored once, which keeps the next call's loads
    // forwardable from these stores. A full window's call count does not change.
    std::uint64_t out_failures = 0, out_slow = 0;
    if (filled_ == capacity_) {
      out_failures = (slot & kFailureBit) ? 1 : 0;
      out_slow = (slot & kSlowBit) ? 1 : 0;
    } else {
      ++filled_;
      ++totals_.calls;
    }
    slot = static_cast<std::uint8_t>((failure ? kFailureBit : 0) | (slow ? kSlowBit : 0));
    totals_.failures += (failure ? 1 : 0) - out_failures;
    totals_.slow += (slow ? 1 : 0) - out_slow;
    pos_ = pos_ + 1 == capacity_ ? 0 : pos_ + 1;
  }
  void record_time(bool failure, bool slow, TimePoint now) noexcept;
  std::int64_t bucket_of(TimePoint t) const noexcept;
  void advance(std::int64_t bucket) noexcept;

  WindowKind kind_;
  std::uint32_t capacity_;
  std::int64_t width_ = 0;  // time window: bucket width in ns
  WindowStats totals_;
  // Count window.
  std::unique_ptr<std::uint8_t[]> ring_;
  std::uint32_t pos_ = 0;
  std::uint32_t filled_ = 0;
  // Time window.
  std::unique_ptr<Bucket[]> buckets_;
  std::int64_t head_ = 0;  // the newest bucket index seen
  bool started_ = false;
};

}  // namespace keel::policy
