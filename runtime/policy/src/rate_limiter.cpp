#include "keel/policy/rate_limiter.h"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace keel::policy {

// GCC 12 workaround (frame_allocator.h).
KEEL_OUT_OF_LINE_COPY(kTryAdmitOutOfLine, &RateLimiter::try_admit);

namespace {

__extension__ typedef __int128 Wide;
constexpr Wide kNsPerMinute = 60'000'000'000LL;
constexpr Wide kMaxNs = std::numeric_limits<std::int64_t>::max();

Wide ceil_div(Wide n, Wide d) noexcept {  // d > 0; C++ division truncates toward zero
  Wide q = n / d;
  if (n % d != 0 && n > 0) ++q;
  return q;
}
Wide floor_div(Wide n, Wide d) noexcept {
  Wide q = n / d;
  if (n % d != 0 && n < 0) --q;
  return q;
}
Wide ns_of(TimePoint t) noexcept { return t.time_since_epoch().count(); }

}  // namespace

std::string_view to_string(OnLimit o) noexcept { return o == OnLimit::delay ? "delay" : "reject"; }

std::string_view to_string(RateLimitReason r) noexcept {
  switch (r) {
    case RateLimitReason::admitted: return "admitted";
    case RateLimitReason::delayed: return "delayed";
    case RateLimitReason::rejected: return "rejected";
    case RateLimitReason::delay_too_long: return "delay_too_long";
    case RateLimitReason::exceeds_burst: return "exceeds_burst";
    case RateLimitReason::cancelled: return "cancelled";
  }
  return "unknown";
}

std::uint64_t& RateLimiterCounters::operator[](RateLimitReason r) noexcept {
  switch (r) {
    case RateLimitReason::admitted: return admitted;
    case RateLimitReason::delayed: return delayed;
    case RateLimitReason::rejected: return rejected;
    case RateLimitReason::delay_too_long: return delay_too_long;
    case RateLimitReason::exceeds_burst: return exceeds_burst;
    case RateLimitReason::cancelled: break;
  }
  return cancelled;
}

// --- TokenBucket (GCRA) -----------------------------------------------------------------------
// Times are scaled by the rate r (units/min): instant t ns is t*r, one unit costs 60e9, and the
// bucket holds `burst` units, i.e. the TAT may run at most burst*60e9 ahead of now.

TokenBucket::TokenBucket(std::int64_t per_minute, std::int64_t burst)
    : per_minute_(per_minute), burst_(burst), capacity_(Wide{burst} * kNsPerMinute) {
  if (per_minute <= 0) throw std::invalid_argument("TokenBucket: per_minute must be > 0");
  if (burst <= 0) throw std::invalid_argument("TokenBucket: burst must be > 0");
}

TimePoint TokenBucket::earliest(std::int64_t cost, TimePoint now) const noexcept {
  cost = std::max<std::int64_t>(cost, 0);
  if (cost > burst_) return TimePoint::max();
  const Wide need = tat_ + (Wide{cost} - burst_) * kNsPerMinute;  // scaled instant
  if (need <= ns_of(now) * Wide{per_minute_}) return now;
  return TimePoint{Duration{static_cast<std::int64_t>(std::min(kMaxNs, ceil_div(need, per_minute_)))}};
}

void TokenBucket::take(std::int64_t cost, TimePoint at) noexcept {
  cost = std::max<std::int64_t>(cost, 0);
  tat_ = std::max(tat_, ns_of(at) * Wide{per_minute_}) + Wide{cost} * kNsPerMinute;
}

std::int64_t TokenBucket::available(TimePoint now) const noexcept {
  const Wide ahead = tat_ - ns_of(now) * Wide{per_minute_};  // promised beyond now
  if (ahead <= 0) return burst_;
  return static_cast<std::int64_t>(floor_div(Wide{burst_} * kNsPerMinute - ahead, kNsPerMinute));
}

// --- RateLimiter ------------------------------------------------------------------------------

RateLimiter::RateLimiter(RateLimiterConfig config, EventSink* sink) : config_(config), sink_(sink) {
  if (config_.requests_per_minute) {
    requests_.emplace(*config_.requests_per_minute, config_.request_burst.value_or(*config_.requests_per_minute));
  }
  if (config_.tokens_per_minute) {
    tokens_.emplace(*config_.tokens_per_minute, config_.token_burst.value_or(*config_.tokens_per_minute));
  }
}

TimePoint RateLimiter::earliest(std::int64_t tokens, TimePoint now) const noexcept {
  TimePoint at = now;
  if (requests_) at = std::max(at, requests_->earliest(1, now));
  if (tokens_) at = std::max(at, tokens_->earliest(tokens, now));
  return at;
}

Duration RateLimiter::time_until_available(std::int64_t tokens, TimePoint now) const noexcept {
  const TimePoint at = earliest(tokens, now);
  return at == TimePoint::max() ? Duration::max() : at - now;
}

RateLimitDecision RateLimiter::decide(std::int64_t tokens, TimePoint now, Deadline deadline) const noexcept {
  const TimePoint at = earliest(tokens, now);
  if (at == TimePoint::max()) return {RateLimitReason::exceeds_burst, at, Duration::max()};
  const Duration wait = at - now;
  if (wait == Duration::zero()) return {RateLimitReason::admitted, at, wait};
  if (config_.on_limit == OnLimit::reject) return {RateLimitReason::rejected, at, wait};
  if (wait > config_.max_delay || (!deadline.is_never() && at >= deadline.time())) {
    return {RateLimitReason::delay_too_long, at, wait};
  }
  return {RateLimitReason::delayed, at, wait};
}

RateLimiter::Reservation RateLimiter::take(std::int64_t tokens, TimePoint at) noexcept {
  Reservation r;
  r.seq = ++last_seq_;
  if (requests_) {
    r.requests = requests_->snapshot();
    requests_->take(1, at);
  }
  if (tokens_) {
    r.tokens = tokens_->snapshot();
    tokens_->take(tokens, at);
  }
  return r;
}

void RateLimiter::give_back(const Reservation& r) noexcept {
  if (r.seq != last_seq_) return;  // someone reserved after it: their times stand, capacity is lost
  if (requests_) requests_->restore(r.requests);
  if (tokens_) tokens_->restore(r.tokens);
}

void RateLimiter::record(RateLimitReason r, TimePoint now, std::int64_t tokens, Duration delay,
                         const TraceIds* ids) noexcept {
  ++counters_[r];
  if (sink_) emit_decision(r, now, tokens, delay, ids);  // attributes built only with a sink
}

void RateLimiter::emit_decision(RateLimitReason r, TimePoint now, std::int64_t tokens, Duration delay,
                                const TraceIds* ids) noexcept {
  emit(sink_, now, ev::ratelimit_decision, {{key::reason, to_string(r)}, {key::tokens, tokens}, {key::delay, delay}},
       ids);
}

// --- AcquireAwaiter ---------------------------------------------------------------------------

bool RateLimiter::AcquireAwaiter::suspend(Scheduler& sched, CancelToken token, Deadline deadline,
                                          std::coroutine_handle<> h) {
  RateLimiter& l = *limiter_;
  sched_ = &sched;
  const TimePoint now = sched.now();
  if (token.cancelled()) {
    decision_ = {RateLimitReason::cancelled, now, Duration::zero()};
    l.record(RateLimitReason::cancelled, now, tokens_, Duration::zero(), ids_);
    return false;
  }
  decision_ = l.decide(tokens_, now, deadline);
  switch (decision_.reason) {
    case RateLimitReason::admitted:
      l.take(tokens_, now);
      l.record(RateLimitReason::admitted, now, tokens_, Duration::zero(), ids_);
      return false;
    case RateLimitReason::delayed: break;
    default:
      l.record(decision_.reason, now, tokens_, decision_.wait, ids_);
      return false;
  }
  reservation_ = l.take(tokens_, decision_.admit_at);
  l.record(RateLimitReason::delayed, now, tokens_, decision_.wait, ids_);
  waiter_ = h;
  waiting_ = true;
  timer_ = sched.start_timer(decision_.admit_at, [this] {
    timer_ = {};
    waiting_ = false;
    on_cancel_.disarm();
    waiter_.resume();
  });
  on_cancel_.arm(token, [this] { on_cancel(); });
  return true;
}

void RateLimiter::AcquireAwaiter::on_cancel() noexcept {
  if (timer_) sched_->cancel_timer(timer_);
  waiting_ = false;
  limiter_->give_back(reservation_);
  decision_.reason = RateLimitReason::cancelled;
  limiter_->record(RateLimitReason::cancelled, sched_->now(), tokens_, Duration::zero(), ids_);
  timer_ = sched_->start_timer(sched_->now(), [this] {
    timer_ = {};
    waiter_.resume();
  });
}

Status RateLimiter::AcquireAwaiter::await_resume() noexcept {
  switch (decision_.reason) {
    case RateLimitReason::admitted:
    case RateLimitReason::delayed: return {};
    case RateLimitReason::rejected:
      return Error(ErrorCode::throttled, "rate limiter: over the limit").with_retry_after(decision_.wait);
    case RateLimitReason::delay_too_long:
      return Error(ErrorCode::throttled, "rate limiter: wait too long").with_retry_after(decision_.wait);
    case RateLimitReason::exceeds_burst: return Error(ErrorCode::throttled, "rate limiter: cost exceeds burst");
    case RateLimitReason::cancelled: break;
  }
  return Error(ErrorCode::cancelled, "rate limiter: cancelled");
}

RateLimiter::AcquireAwaiter::~AcquireAwaiter() {
  if (timer_) sched_->cancel_timer(timer_);
  if (waiting_) limiter_->give_back(reservation_);  // torn down while delayed
}

}  // namespace keel::policy
