#include "keel/sim/rate_window.h"

#include <stdexcept>

namespace keel::sim {

RateWindow::RateWindow(RateLimits limits) : limits_(limits) {
  if ((limits_.requests_per_minute && *limits_.requests_per_minute < 1) ||
      (limits_.tokens_per_minute && *limits_.tokens_per_minute < 1)) {
    throw std::invalid_argument("rate limits must be >= 1 per minute");
  }
}

void RateWindow::expire(TimePoint now) noexcept {
  while (!entries_.empty() && entries_.front().at + kWindow <= now) {
    tokens_ -= entries_.front().tokens;
    entries_.pop_front();
  }
}

RateDecision RateWindow::admit(TimePoint now, std::int64_t tokens) {
  if (!limited()) return {};
  expire(now);
  const auto count = static_cast<std::int64_t>(entries_.size());
  RateDecision d;

  // Requests: the (count - rpm)-th oldest entry (0-based) must leave to make room for one more.
  if (limits_.requests_per_minute && count + 1 > *limits_.requests_per_minute) {
    const std::int64_t rpm = *limits_.requests_per_minute;
    d.admitted = false;
    d.limited_by = RateLimitKind::requests;
    d.limit = rpm;
    d.used = count;
    d.requested = 1;
    d.available_at = entries_[static_cast<std::size_t>(count - rpm)].at + kWindow;
  }

  // Tokens: the shortest prefix of oldest entries whose leaving makes `tokens` fit.
  if (limits_.tokens_per_minute && tokens_ + tokens > *limits_.tokens_per_minute) {
    const std::int64_t tpm = *limits_.tokens_per_minute;
    std::optional<TimePoint> at;
    if (tokens <= tpm) {
      std::int64_t remaining = tokens_;
      for (const Entry& e : entries_) {
        remaining -= e.tokens;
        if (remaining + tokens <= tpm) {
          at = e.at + kWindow;
          break;
        }
      }
    }
    // Decides if it frees up later than the request limit (never = latest of all).
    if (d.admitted || !at || (d.available_at && *at > *d.available_at)) {
      d.limited_by = RateLimitKind::tokens;
      d.limit = tpm;
      d.used = tokens_;
      d.requested = tokens;
      d.available_at = at;
    }
    d.admitted = false;
  }

  if (d.admitted) {
    entries_.push_back({now, tokens});
    tokens_ += tokens;
  }
  return d;
}

}  // namespace keel::sim
