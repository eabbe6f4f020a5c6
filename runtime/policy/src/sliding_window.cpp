#include "keel/policy/sliding_window.h"

#include <limits>
#include <stdexcept>

namespace keel::policy {

namespace {

constexpr std::int64_t kNoEpoch = std::numeric_limits<std::int64_t>::min();
constexpr std::int64_t kMaxBuckets = std::int64_t{1} << 20;

// Floor division and a non-negative modulus (time points may in principle be negative).
constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
  const std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
constexpr std::uint32_t slot_of(std::int64_t bucket, std::uint32_t n) noexcept {
  const std::int64_t m = bucket % static_cast<std::int64_t>(n);
  return static_cast<std::uint32_t>(m < 0 ? m + n : m);
}

}  // namespace

SlidingWindow::SlidingWindow(WindowKind kind, std::uint32_t capacity, std::int64_t width)
    : kind_(kind), capacity_(capacity), width_(width) {
  if (kind_ == WindowKind::count) {
    ring_ = std::make_unique<std::uint8_t[]>(capacity_);
  } else {
    buckets_ = std::make_unique<Bucket[]>(capacity_);
  }
  clear();
}

SlidingWindow SlidingWindow::count_based(std::uint32_t size) {
  if (size == 0) throw std::invalid_argument("SlidingWindow: count window size must be >= 1");
  return SlidingWindow{WindowKind::count, size, 0};
}

SlidingWindow SlidingWindow::time_based(Duration duration, Duration bucket_width) {
  if (duration <= Duration::zero() || bucket_width <= Duration::zero())
    throw std::invalid_argument("SlidingWindow: time window duration and bucket width must be > 0");
  const std::int64_t d = duration.count(), w = bucket_width.count();
  const std::int64_t n = d / w + (d % w != 0 ? 1 : 0);
  if (n > kMaxBuckets) throw std::invalid_argument("SlidingWindow: more than 2^20 buckets; widen bucket_width");
  return SlidingWindow{WindowKind::time, static_cast<std::uint32_t>(n), w};
}

void SlidingWindow::clear() noexcept {
  totals_ = {};
  pos_ = filled_ = 0;
  started_ = false;
  head_ = 0;
  if (ring_) {
    for (std::uint32_t i = 0; i < capacity_; ++i) ring_[i] = 0;
  }
  if (buckets_) {
    for (std::uint32_t i = 0; i < capacity_; ++i) buckets_[i] = Bucket{kNoEpoch, 0, 0, 0};
  }
}

std::int64_t SlidingWindow::bucket_of(TimePoint t) const noexcept {
  return floor_div(t.time_since_epoch().count(), width_);
}

void SlidingWindow::advance(std::int64_t bucket) noexcept {
  if (!started_) {
    started_ = true;
    head_ = bucket;
    return;
  }
  if (bucket <= head_) return;  // same bucket, or time went backwards: stay on the newest
  const std::int64_t n = capacity_;
  if (bucket - head_ >= n) {
    // Everything expired. Slots keep stale epochs that can never match again.
    totals_ = {};
  } else {
    // Each newly entered bucket e reuses the slot of bucket e - n, which just expired.
    for (std::int64_t e = head_ + 1; e <= bucket; ++e) {
      Bucket& b = buckets_[slot_of(e, capacity_)];
      if (b.epoch == e - n) {
        totals_.calls -= b.calls;
        totals_.failures -= b.failures;
        totals_.slow -= b.slow;
      }
      b = Bucket{e, 0, 0, 0};
    }
  }
  head_ = bucket;
}

void SlidingWindow::record_time(bool failure, bool slow, TimePoint now) noexcept {
  advance(bucket_of(now));
  Bucket& b = buckets_[slot_of(head_, capacity_)];
  if (b.epoch != head_) b = Bucket{head_, 0, 0, 0};
  const std::uint64_t f = failure ? 1 : 0, s = slow ? 1 : 0;
  b.calls += 1;
  b.failures += f;
  b.slow += s;
  totals_.calls += 1;
  totals_.failures += f;
  totals_.slow += s;
}

}  // namespace keel::policy
