// Durations of scenario and configuration files: the strict grammar (duration.h) and the
// exact format/parse round trip.
#include "keel/config/duration.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "keel/core/rng.h"

namespace keel::config {
namespace {

using namespace std::chrono_literals;

TEST(DurationTest, ParsesEveryUnitAndCombination) {
  EXPECT_EQ(parse_duration("250ms"), 250ms);
  EXPECT_EQ(parse_duration("0s"), 0s);
  EXPECT_EQ(parse_duration("1.5s"), 1500ms);
  EXPECT_EQ(parse_duration("2m"), 2min);
  EXPECT_EQ(parse_duration("1h"), 1h);
  EXPECT_EQ(parse_duration("1m30s"), 90s);
  EXPECT_EQ(parse_duration("1h2m3s4ms"), 1h + 2min + 3s + 4ms);
  EXPECT_EQ(parse_duration("1h30s"), 1h + 30s);
  EXPECT_EQ(parse_duration("2s500ms"), 2500ms);
  EXPECT_EQ(parse_duration("0.25ms"), 250us);
  EXPECT_EQ(parse_duration("0.000001ms"), 1ns);
  EXPECT_EQ(parse_duration("1.5h"), 90min);
  EXPECT_EQ(parse_duration("0.1s"), 100ms);
  EXPECT_EQ(parse_duration("007s"), 7s);
  EXPECT_EQ(parse_duration("1.5m30s"), 120s);
}

TEST(DurationTest, TruncatesBelowOneNanosecond) {
  EXPECT_EQ(parse_duration("0.0000000015s"), 1ns);
  EXPECT_EQ(parse_duration("0.0000001ms"), 0ns);
  EXPECT_EQ(parse_duration("0.000000000001h"), 3ns);  // 3.6 ns
  EXPECT_EQ(parse_duration("0.333333333333333333333333333s"), 333333333ns);
}

TEST(DurationTest, RejectsMalformedStringsWithAReason) {
  struct Case {
    const char* text;
    const char* why_contains;
  };
  const Case cases[] = {
      {"", "empty"},
      {"5", "missing unit"},
      {"1.5", "missing unit"},
      {"-5s", "sign"},
      {"+5s", "sign"},
      {"5 s", "unexpected character"},
      {" 5s", "expected a digit"},
      {"5s ", "expected a digit"},
      {"5sec", "unknown unit"},
      {"5us", "unknown unit"},
      {"5ns", "unknown unit"},
      {"5S", "unexpected character"},
      {"5d", "unknown unit"},
      {".5s", "expected a digit"},
      {"5.s", "after '.'"},
      {"1e3ms", "unknown unit"},
      {"1s1s", "repeated"},
      {"30s1m", "descend"},
      {"1ms1s", "descend"},
      {"1m1h", "descend"},
      {"s", "expected a digit"},
      {"1s2", "missing unit"},
      {"1,5s", "unexpected character"},
      {"1..5s", "after '.'"},
      {"99999999999999999999s", "too large"},
      {"3000000h", "too large"},
      {"2562047h47m16s855ms", "too large"},  // just above Duration::max()
  };
  for (const Case& c : cases) {
    std::string why;
    EXPECT_FALSE(parse_duration(c.text, &why)) << '"' << c.text << '"';
    EXPECT_NE(why.find(c.why_contains), std::string::npos) << '"' << c.text << "\": " << why;
  }
}

TEST(DurationTest, AcceptsUpToTheMaximum) {
  // Duration::max() = 9223372036854775807 ns = 2562047h 47m 16s 854ms 775807ns.
  EXPECT_EQ(parse_duration("2562047h47m16s854.775807ms"), Duration::max());
  EXPECT_FALSE(parse_duration("2562047h47m16s854.775808ms"));
}

TEST(DurationTest, FormatsInTheLargestExactUnit) {
  EXPECT_EQ(format_duration(0s), "0s");
  EXPECT_EQ(format_duration(2h), "2h");
  EXPECT_EQ(format_duration(90min), "90m");
  EXPECT_EQ(format_duration(90s), "90s");
  EXPECT_EQ(format_duration(1500ms), "1500ms");
  EXPECT_EQ(format_duration(1ns), "0.000001ms");
  EXPECT_EQ(format_duration(250us), "0.25ms");
  EXPECT_EQ(format_duration(1001500us), "1001.5ms");
  EXPECT_EQ(format_duration(-5s), "0s");
}

TEST(DurationTest, FormatThenParseIsTheIdentity) {
  Rng rng{2024};
  for (int i = 0; i < 20000; ++i) {
    // Mix magnitudes: from nanoseconds up to the maximum.
    const int bits = static_cast<int>(rng.uniform_u64(64));
    const auto ns = static_cast<std::int64_t>(rng.next_u64() >> (bits % 63 + 1));
    const Duration d{ns};
    const std::string s = format_duration(d);
    EXPECT_EQ(parse_duration(s), d) << s;
  }
  EXPECT_EQ(parse_duration(format_duration(Duration::max())), Duration::max());
}

TEST(DurationTest, HumanFormatHasThreeDigitsThenMinutesThenHours) {
  EXPECT_EQ(format_duration_human(Duration{1'018'271'879'971}), "16m58.3s");  // the 1018271.879971ms
  EXPECT_EQ(format_duration_human(7'190ms), "7.19s");
  EXPECT_EQ(format_duration_human(7'194'999us), "7.19s");
  EXPECT_EQ(format_duration_human(250ms), "250ms");
  EXPECT_EQ(format_duration_human(12'500us), "12.5ms");
  EXPECT_EQ(format_duration_human(Duration{850}), "850ns");
  EXPECT_EQ(format_duration_human(Duration{12'345}), "12.3us");
  EXPECT_EQ(format_duration_human(999'999us), "1s");       // rounds up into the next unit
  EXPECT_EQ(format_duration_human(59'960ms), "1m0s");       // 59.96 s rounds to a minute
  EXPECT_EQ(format_duration_human(30s), "30s");
  EXPECT_EQ(format_duration_human(90s), "1m30s");
  EXPECT_EQ(format_duration_human(7'500s), "2h5m0s");
  EXPECT_EQ(format_duration_human(Duration::zero()), "0s");
  EXPECT_EQ(format_duration_human(-3s), "0s");
}

}  // namespace
}  // namespace keel::config
