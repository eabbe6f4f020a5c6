// Strict duration strings (duration.h).
#include "keel/config/duration.h"

#include <array>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <utility>

namespace keel::config {

namespace {

constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();

struct Unit {
  std::string_view name;
  std::int64_t ns;
};
// Descending: a component's unit must come strictly after the previous component's.
constexpr Unit kUnits[] = {{"h", 3'600'000'000'000}, {"m", 60'000'000'000}, {"s", 1'000'000'000}, {"ms", 1'000'000}};

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

bool fail(std::string* why, std::string msg) {
  if (why) *why = std::move(msg);
  return false;
}

std::string show_char(char c) {
  if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
    static constexpr char hex[] = "0123456789abcdef";
    const auto u = static_cast<unsigned char>(c);
    return std::string("byte 0x") + hex[u >> 4] + hex[u & 15];
  }
  return std::string("'") + c + "'";
}

// value = int_part * unit + frac * unit (truncated), overflow-checked. Returns false on overflow.
bool component_ns(std::string_view int_digits, std::string_view frac_digits, std::int64_t unit, std::int64_t& out) {
  std::int64_t whole = 0;
  for (char c : int_digits) {
    const std::int64_t d = c - '0';
    if (whole > (kMax - d) / 10) return false;
    whole = whole * 10 + d;
  }
  if (whole > kMax / unit) return false;
  std::int64_t total = whole * unit;
  // Fraction: floor(F * unit / 10^k) for the first 20 digits F (later digits cannot move
  // the result by a nanosecond except at exact boundaries; they are truncated).
  if (!frac_digits.empty()) {
    __extension__ typedef __int128 i128;
    i128 f = 0, scale = 1;
    for (std::size_t k = 0; k < frac_digits.size() && k < 20; ++k) {
      f = f * 10 + (frac_digits[k] - '0');
      scale *= 10;
    }
    const auto add = static_cast<std::int64_t>(f * unit / scale);  // < unit: fits
    if (total > kMax - add) return false;
    total += add;
  }
  out = total;
  return true;
}

}  // namespace

std::optional<Duration> parse_duration(std::string_view text, std::string* why) {
  if (text.empty()) {
    fail(why, "empty duration");
    return std::nullopt;
  }
  std::size_t i = 0;
  int last_unit = -1;  // index into kUnits of the previous component's unit
  std::int64_t total = 0;
  while (i < text.size()) {
    const std::size_t start = i;
    while (i < text.size() && is_digit(text[i])) ++i;
    if (i == start) {
      if (text[i] == '-' || text[i] == '+') {
        fail(why, "a duration has no sign");
      } else {
        fail(why, "expected a digit at " + std::to_string(i) + ", found " + show_char(text[i]));
      }
      return std::nullopt;
    }
    const std::string_view int_digits = text.substr(start, i - start);
    std::string_view frac_digits;
    if (i < text.size() && text[i] == '.') {
      ++i;
      const std::size_t fstart = i;
      while (i < text.size() && is_digit(text[i])) ++i;
      if (i == fstart) {
        fail(why, "expected a digit after '.' at " + std::to_string(i));
        return std::nullopt;
      }
      frac_digits = text.substr(fstart, i - fstart);
    }
    if (i == text.size()) {
      fail(why, "missing unit after \"" + std::string(text.substr(start)) + "\" (use ms, s, m or h)");
      return std::nullopt;
    }
    const std::size_t ustart = i;
    while (i < text.size() && text[i] >= 'a' && text[i] <= 'z') ++i;
    const std::string_view unit = text.substr(ustart, i - ustart);
    if (unit.empty()) {
      fail(why, "unexpected character " + show_char(text[i]) + " at " + std::to_string(i));
      return std::nullopt;
    }
    int u = -1;
    for (int k = 0; k < 4; ++k) {
      if (kUnits[k].name == unit) u = k;
    }
    if (u < 0) {
      fail(why, "unknown unit \"" + std::string(unit) + "\" (use ms, s, m or h)");
      return std::nullopt;
    }
    if (u <= last_unit) {
      fail(why, u == last_unit ? "unit \"" + std::string(unit) + "\" repeated"
                               : "units must descend h, m, s, ms; \"" + std::string(unit) + "\" comes too late");
      return std::nullopt;
    }
    last_unit = u;
    std::int64_t ns = 0;
    if (!component_ns(int_digits, frac_digits, kUnits[u].ns, ns) || total > kMax - ns) {
      fail(why, "duration too large (the maximum is about 292 years)");
      return std::nullopt;
    }
    total += ns;
  }
  return Duration{total};
}

std::string format_duration(Duration d) {
  const std::int64_t ns = d.count();
  if (ns <= 0) return "0s";
  for (const Unit& u : kUnits) {
    if (ns % u.ns == 0) return std::to_string(ns / u.ns) + std::string(u.name);
  }
  // Sub-millisecond precision: "<ms>.<6 digits, trailing zeros dropped>ms".
  std::string frac = std::to_string(ns % 1'000'000);
  frac.insert(0, 6 - frac.size(), '0');
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  return std::to_string(ns / 1'000'000) + "." + frac + "ms";
}

namespace {

// `v` (in [1, 1000)) with three significant digits, trailing zeros dropped: "7.19", "58", "250".
std::string three_digits(double v) {
  const int decimals = v < 10 ? 2 : v < 100 ? 1 : 0;
  std::array<char, 32> buf{};
  std::snprintf(buf.data(), buf.size(), "%.*f", decimals, v);
  std::string out = buf.data();
  if (out.find('.') != std::string::npos) {
    while (out.back() == '0') out.pop_back();
    if (out.back() == '.') out.pop_back();
  }
  return out;
}

}  // namespace

std::string format_duration_human(Duration d) {
  const std::int64_t ns = d.count();
  if (ns <= 0) return "0s";
  if (ns < 1000) return std::to_string(ns) + "ns";
  // Below a minute: the unit in which the value is in [1, 1000) after rounding to 3 digits.
  constexpr std::array<std::pair<double, const char*>, 3> kSmall = {{{1e3, "us"}, {1e6, "ms"}, {1e9, "s"}}};
  for (std::size_t i = 0; i < kSmall.size(); ++i) {
    const double v = static_cast<double>(ns) / kSmall[i].first;
    std::string text = three_digits(v);
    if (text != "1000" && (v < 1000 || i + 1 == kSmall.size())) {
      if (i + 1 < kSmall.size() || v < 59.95) return text + kSmall[i].second;
      break;
    }
  }
  if (ns < 3'600'000'000'000 - 50'000'000) {  // below an hour once rounded to tenths
    const std::int64_t tenths = (ns + 50'000'000) / 100'000'000;
    std::string out = std::to_string(tenths / 600) + "m" + std::to_string(tenths % 600 / 10);
    if (tenths % 10) out += "." + std::to_string(tenths % 10);
    return out + "s";
  }
  const std::int64_t s = (ns + 500'000'000) / 1'000'000'000;
  return std::to_string(s / 3600) + "h" + std::to_string(s % 3600 / 60) + "m" + std::to_string(s % 60) + "s";
}

}  // namespace keel::config
