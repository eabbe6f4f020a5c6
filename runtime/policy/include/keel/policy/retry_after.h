// keel/policy/retry_after.h — parsing the server's retry hints: retry-after-ms, retry-after,
// x-should-retry.
//
// Purpose: turn header values into a RetryHints value the retry policy understands, the way
// the official OpenAI SDKs read them: `retry-after-ms` wins over `retry-after`, and
// `x-should-retry: true|false` overrides the status-code rule.
//
// Contract:
//  - Pure and total: malformed input gives nullopt; nothing throws, allocates or reads a clock.
//    Optional whitespace (space, tab) around a value is ignored; anything else extra is
//    malformed.
//  - Numbers are plain decimals: digits with an optional fraction ("1500", "1.5", ".5", "2.");
//    no sign, exponent, inf or nan. Exact to the nanosecond (fraction digits below 1 ns are
//    truncated); huge values saturate at Duration::max() (a caller's cap then refuses them).
//  - `retry-after` is delta-seconds (integer or decimal) or an HTTP-date: IMF-fixdate
//    ("Wed, 21 Oct 2015 07:28:00 GMT"), or the obsolete RFC 850 ("Wednesday, 21-Oct-15
//    07:28:00 GMT"; two-digit years 70-99 are 19xx, 00-69 are 20xx) and asctime
//    ("Wed Oct 21 07:28:00 2015") forms. Names match case-insensitively; the weekday must be a
//    valid name but is not checked against the date; seconds may be 60 (leap second).
//    A date needs `now_unix_seconds` (the response's Date header via parse_http_date, or the
//    system clock in runtime/live only); without it a date gives nullopt. A date at or before
//    now gives zero.
//  - `x-should-retry` is "true" or "false" (case-insensitive); anything else is nullopt.
//  - If `retry-after-ms` is present but malformed, `retry-after` is used (as the SDKs do).
//
// Example:
//   auto now = parse_http_date(headers.get("date"));   // optional<int64_t>
//   RetryHints h = retry_hints({.retry_after_ms = headers.find("retry-after-ms"),
//                               .retry_after = headers.find("retry-after"),
//                               .should_retry = headers.find("x-should-retry")}, now);
//   if (h.retry_after) error.with_retry_after(*h.retry_after);
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "keel/core/time.h"

namespace keel::policy {

// `retry-after-ms`: non-negative decimal milliseconds.
std::optional<Duration> parse_retry_after_ms(std::string_view value) noexcept;
// `retry-after`: non-negative decimal seconds, or an HTTP-date relative to `now_unix_seconds`.
std::optional<Duration> parse_retry_after(std::string_view value,
                                          std::optional<std::int64_t> now_unix_seconds) noexcept;
// An HTTP-date (any of the three forms above) as seconds since the Unix epoch (UTC).
std::optional<std::int64_t> parse_http_date(std::string_view value) noexcept;
// `x-should-retry`: true, false, or nullopt when absent/malformed.
std::optional<bool> parse_should_retry(std::string_view value) noexcept;

// Seconds since the Unix epoch of a proleptic Gregorian civil date at midnight UTC (exposed
// for tests). `month` 1..12, `day` 1..31; no validation.
constexpr std::int64_t unix_days_from_civil(std::int64_t year, unsigned month, unsigned day) noexcept {
  // Howard Hinnant's days_from_civil.
  year -= month <= 2 ? 1 : 0;
  const std::int64_t era = (year >= 0 ? year : year - 399) / 400;
  const auto yoe = static_cast<unsigned>(year - era * 400);
  const unsigned doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// What the server told us about retrying.
struct RetryHints {
  std::optional<Duration> retry_after;  // from retry-after-ms, else retry-after
  std::optional<bool> should_retry;     // from x-should-retry
};

// Header values as received (nullopt = header absent).
struct RetryHeaders {
  std::optional<std::string_view> retry_after_ms;
  std::optional<std::string_view> retry_after;
  std::optional<std::string_view> should_retry;
};

RetryHints retry_hints(const RetryHeaders& headers, std::optional<std::int64_t> now_unix_seconds) noexcept;

}  // namespace keel::policy
