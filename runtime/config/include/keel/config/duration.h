// keel/config/duration.h — the duration strings of scenario and configuration files, parsed strictly.
//
// Purpose: `"250ms"`, `"1.5s"`, `"2m"`, `"1m30s"` (scenarios/FORMAT.md) to keel::Duration and
// back, with a precise reason when a string is not a duration.
//
// Contract (the rule keel picks where the format is silent):
//  - Grammar: one or more components `<number><unit>`, no sign, no spaces, nothing else.
//    <number> is digits, optionally followed by `.` and at least one digit ("1.5", "0.25";
//    not ".5", "5." or "1e3"). <unit> is `h`, `m`, `s` or `ms` (case-sensitive).
//  - Units appear at most once each, in descending order h, m, s, ms: "1h30m", "1m30s",
//    "2s500ms" are valid; "30s1m" and "1s1s" are not.
//  - The value is exact in nanoseconds; a fraction finer than 1 ns is truncated toward zero
//    ("0.0000000015s" is 1 ns). A total above Duration::max() (about 292 years) is rejected.
//  - `format_duration(d)` writes d >= 0 in the largest unit that divides it exactly ("90m",
//    "1500ms"), with a decimal millisecond part for sub-millisecond values ("0.000001ms"),
//    so that parse_duration(format_duration(d)) == d for every d >= 0.
//  - Pure; no allocation on success.
//
// Example:
//   std::string why;
//   std::optional<Duration> d = parse_duration("1m30s", &why);   // 90s
//   parse_duration("30 s", &why);   // nullopt, why = "unexpected character ' ' at 2"
//   format_duration(1500ms);        // "1500ms"
//   format_duration_human(1018271879971ns);   // "16m58.3s"
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "keel/core/time.h"

namespace keel::config {

// The duration `text` denotes, or nullopt (and, if `why` is given, the reason in it).
std::optional<Duration> parse_duration(std::string_view text, std::string* why = nullptr);

// A string parse_duration reads back as exactly `d`. Requires d >= 0 (negative: "0s").
std::string format_duration(Duration d);

// For people reading a report, not for reading back: three significant digits below a
// minute ("850ns", "12.5us", "250ms", "7.19s"), tenths of a second below an hour
// ("16m58.3s"), whole seconds above ("2h5m0s"). Negative: "0s". JSON reports keep exact
// milliseconds; this is only for text.
std::string format_duration_human(Duration d);

}  // namespace keel::config
