// keel/policy/retry_after.cpp — hand-written, locale-free parsers for retry hints.
#include "keel/policy/retry_after.h"

#include <array>
#include <limits>

namespace keel::policy {
namespace {

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kNsPerMs = 1'000'000;
constexpr std::int64_t kNsPerSecond = 1'000'000'000;

constexpr bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }
constexpr char lower(char c) noexcept { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

// A plain non-negative decimal number times `unit_ns`, in nanoseconds (saturating, truncated).
std::optional<Duration> parse_decimal(std::string_view s, std::int64_t unit_ns) noexcept {
  s = trim(s);
  std::size_t i = 0;
  std::int64_t whole = 0;
  bool saturated = false, any_digit = false;
  for (; i < s.size() && is_digit(s[i]); ++i) {
    any_digit = true;
    const int d = s[i] - '0';
    if (whole > (kInt64Max - d) / 10)
      saturated = true;
    else
      whole = whole * 10 + d;
  }
  // Fraction: at most 9 digits matter (unit_ns <= 1e9, so later digits are below 1 ns).
  std::int64_t frac = 0, scale = 1;
  if (i < s.size() && s[i] == '.') {
    for (++i; i < s.size() && is_digit(s[i]); ++i) {
      any_digit = true;
      if (scale < kNsPerSecond) {
        frac = frac * 10 + (s[i] - '0');
        scale *= 10;
      }
    }
  }
  if (!any_digit || i != s.size()) return std::nullopt;
  if (saturated || whole > kInt64Max / unit_ns) return Duration::max();
  const std::int64_t ns = whole * unit_ns;
  const std::int64_t frac_ns = frac * unit_ns / scale;  // frac < 1e9, unit_ns <= 1e9: no overflow
  return ns > kInt64Max - frac_ns ? Duration::max() : Duration{ns + frac_ns};
}

constexpr std::array<std::string_view, 7> kShortDays = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
constexpr std::array<std::string_view, 7> kLongDays = {"monday", "tuesday",  "wednesday", "thursday",
                                                       "friday", "saturday", "sunday"};
constexpr std::array<std::string_view, 12> kMonths = {"jan", "feb", "mar", "apr", "may", "jun",
                                                      "jul", "aug", "sep", "oct", "nov", "dec"};

bool is_leap(std::int64_t y) noexcept { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(std::int64_t y, unsigned m) noexcept {
  constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : kDays[m - 1];
}

// A left-to-right reader over a date string; every step fails softly.
class Cursor {
 public:
  explicit Cursor(std::string_view s) noexcept : s_(s) {}
  bool at_end() const noexcept { return i_ == s_.size(); }
  bool peek(char c) const noexcept { return i_ < s_.size() && s_[i_] == c; }
  bool lit(std::string_view l) noexcept {
    if (!iequals(s_.substr(i_, l.size()), l)) return false;
    i_ += l.size();
    return true;
  }
  // Exactly `n` digits.
  bool digits(int n, int& out) noexcept {
    if (s_.size() - i_ < static_cast<std::size_t>(n)) return false;
    int v = 0;
    for (int k = 0; k < n; ++k, ++i_) {
      if (!is_digit(s_[i_])) return false;
      v = v * 10 + (s_[i_] - '0');
    }
    out = v;
    return true;
  }
  std::string_view word() noexcept {
    const std::size_t start = i_;
    while (i_ < s_.size() && lower(s_[i_]) >= 'a' && lower(s_[i_]) <= 'z') ++i_;
    return s_.substr(start, i_ - start);
  }
  template <std::size_t N>
  bool name(const std::array<std::string_view, N>& names, int& index) noexcept {
    const std::string_view w = word();
    for (std::size_t k = 0; k < N; ++k) {
      if (iequals(w, names[k])) {
        index = static_cast<int>(k);
        return true;
      }
    }
    return false;
  }
  bool month(int& m) noexcept {
    if (!name(kMonths, m)) return false;
    ++m;
    return true;
  }
  // HH:MM:SS
  bool time(int& h, int& mi, int& sec) noexcept {
    return digits(2, h) && lit(":") && digits(2, mi) && lit(":") && digits(2, sec);
  }

 private:
  std::string_view s_;
  std::size_t i_ = 0;
};

std::optional<std::int64_t> to_unix(std::int64_t y, int mon, int day, int h, int mi, int sec) noexcept {
  if (mon < 1 || mon > 12 || day < 1 ||
      static_cast<unsigned>(day) > days_in_month(y, static_cast<unsigned>(mon)) || h > 23 || mi > 59 ||
      sec > 60)
    return std::nullopt;
  return unix_days_from_civil(y, static_cast<unsigned>(mon), static_cast<unsigned>(day)) * 86400 + h * 3600 +
         mi * 60 + sec;
}

}  // namespace

std::optional<Duration> parse_retry_after_ms(std::string_view value) noexcept {
  return parse_decimal(value, kNsPerMs);
}

std::optional<std::int64_t> parse_http_date(std::string_view value) noexcept {
  Cursor c{trim(value)};
  // name() reads a whole word, so "Sun" never matches a long name nor "Sunday" a short one.
  int wd = 0, day = 0, mon = 0, year = 0, h = 0, mi = 0, sec = 0;
  if (c.name(kShortDays, wd) && c.lit(", ")) {  // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
    if (c.digits(2, day) && c.lit(" ") && c.month(mon) && c.lit(" ") && c.digits(4, year) && c.lit(" ") &&
        c.time(h, mi, sec) && c.lit(" GMT") && c.at_end())
      return to_unix(year, mon, day, h, mi, sec);
    return std::nullopt;
  }
  c = Cursor{trim(value)};
  if (c.name(kLongDays, wd) && c.lit(", ")) {  // RFC 850: Sunday, 06-Nov-94 ...
    if (c.digits(2, day) && c.lit("-") && c.month(mon) && c.lit("-") && c.digits(2, year) && c.lit(" ") &&
        c.time(h, mi, sec) && c.lit(" GMT") && c.at_end())
      return to_unix(year >= 70 ? 1900 + year : 2000 + year, mon, day, h, mi, sec);
    return std::nullopt;
  }
  c = Cursor{trim(value)};
  if (c.name(kShortDays, wd) && c.lit(" ")) {  // asctime: Sun Nov  6 08:49:37 1994
    if (!c.month(mon) || !c.lit(" ")) return std::nullopt;
    if (c.peek(' ')) {
      if (!c.lit(" ") || !c.digits(1, day)) return std::nullopt;
    } else if (!c.digits(2, day)) {
      return std::nullopt;
    }
    if (c.lit(" ") && c.time(h, mi, sec) && c.lit(" ") && c.digits(4, year) && c.at_end())
      return to_unix(year, mon, day, h, mi, sec);
  }
  return std::nullopt;
}

std::optional<Duration> parse_retry_after(std::string_view value,
                                          std::optional<std::int64_t> now_unix_seconds) noexcept {
  const std::string_view v = trim(value);
  if (!v.empty() && (is_digit(v.front()) || v.front() == '.')) return parse_decimal(v, kNsPerSecond);
  const std::optional<std::int64_t> date = parse_http_date(v);
  if (!date || !now_unix_seconds) return std::nullopt;
  if (*date <= *now_unix_seconds) return Duration::zero();
  // Both are bounded (years 0..9999 and any int64 now), but the difference may not be.
  const std::int64_t now = *now_unix_seconds;
  if (now < 0 && *date > kInt64Max + now) return Duration::max();
  const std::int64_t secs = *date - now;
  return secs > kInt64Max / kNsPerSecond ? Duration::max() : Duration{secs * kNsPerSecond};
}

std::optional<bool> parse_should_retry(std::string_view value) noexcept {
  const std::string_view v = trim(value);
  if (iequals(v, "true")) return true;
  if (iequals(v, "false")) return false;
  return std::nullopt;
}

RetryHints retry_hints(const RetryHeaders& headers, std::optional<std::int64_t> now_unix_seconds) noexcept {
  RetryHints h;
  if (headers.retry_after_ms) h.retry_after = parse_retry_after_ms(*headers.retry_after_ms);
  if (!h.retry_after && headers.retry_after)
    h.retry_after = parse_retry_after(*headers.retry_after, now_unix_seconds);
  if (headers.should_retry) h.should_retry = parse_should_retry(*headers.should_retry);
  return h;
}

}  // namespace keel::policy
