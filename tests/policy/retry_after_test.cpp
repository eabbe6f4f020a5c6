// Retry hints: retry-after-ms, retry-after (seconds and HTTP dates), x-should-retry.
#include <cstdint>
#include <string>

#include <gtest/gtest.h>

#include "keel/core/rng.h"
#include "keel/policy/retry_after.h"

namespace keel::policy {
namespace {

using namespace std::chrono_literals;

constexpr std::int64_t kBttf = 1445412480;  // Wed, 21 Oct 2015 07:28:00 GMT
constexpr std::int64_t kRfc = 784111777;    // Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110 example)

static_assert(unix_days_from_civil(1970, 1, 1) == 0);
static_assert(unix_days_from_civil(2000, 3, 1) == 11017);
static_assert(unix_days_from_civil(1969, 12, 31) == -1);
static_assert(unix_days_from_civil(2015, 10, 21) * 86400 + 7 * 3600 + 28 * 60 == kBttf);

TEST(RetryAfter, MillisecondsAreDecimalAndExact) {
  EXPECT_EQ(parse_retry_after_ms("1500"), 1500ms);
  EXPECT_EQ(parse_retry_after_ms("0"), 0ms);
  EXPECT_EQ(parse_retry_after_ms("1.5"), 1500us);
  EXPECT_EQ(parse_retry_after_ms(".5"), 500us);
  EXPECT_EQ(parse_retry_after_ms("2."), 2ms);
  EXPECT_EQ(parse_retry_after_ms(" \t250 "), 250ms);
  EXPECT_EQ(parse_retry_after_ms("0.0000019"), 1ns);  // below a nanosecond: truncated
  EXPECT_EQ(parse_retry_after_ms("007"), 7ms);
  EXPECT_EQ(parse_retry_after_ms("99999999999999999999999"), Duration::max());
  EXPECT_EQ(parse_retry_after_ms("9223372036854.775807"), Duration::max());
  EXPECT_EQ(parse_retry_after_ms("9223372036854.775806"), Duration{9223372036854775806});
}

TEST(RetryAfter, MalformedNumbersAreNullopt) {
  for (const char* bad : {"", " ", ".", "-1", "+1", "1e3", "abc", "1.2.3", "nan", "inf", "1 2", "12ms",
                          "0x10", "1,5", "\x80", "1\n"})
    EXPECT_EQ(parse_retry_after_ms(bad), std::nullopt) << "'" << bad << "'";
}

TEST(RetryAfter, SecondsAreIntegerOrDecimal) {
  EXPECT_EQ(parse_retry_after("120", std::nullopt), 120s);
  EXPECT_EQ(parse_retry_after("1.5", std::nullopt), 1500ms);
  EXPECT_EQ(parse_retry_after("0.000000001", std::nullopt), 1ns);
  EXPECT_EQ(parse_retry_after("0.0000000019", std::nullopt), 1ns);
  EXPECT_EQ(parse_retry_after(" 3 ", 0), 3s);
  EXPECT_EQ(parse_retry_after("9223372037", std::nullopt), Duration::max());
  EXPECT_EQ(parse_retry_after("-3", 0), std::nullopt);
  EXPECT_EQ(parse_retry_after("3s", 0), std::nullopt);
  EXPECT_EQ(parse_retry_after("", 0), std::nullopt);
}

TEST(RetryAfter, ImfFixdateAndTheObsoleteFormsParse) {
  EXPECT_EQ(parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT"), kBttf);
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), kRfc);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), kRfc);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), kRfc);
  EXPECT_EQ(parse_http_date("Sun Nov 16 08:49:37 1994"), kRfc + 10 * 86400);
  EXPECT_EQ(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
  EXPECT_EQ(parse_http_date("Wed, 31 Dec 1969 23:59:59 GMT"), -1);
  EXPECT_EQ(parse_http_date("Tue, 29 Feb 2000 12:00:00 GMT"),
            unix_days_from_civil(2000, 2, 29) * 86400 + 43200);
  EXPECT_EQ(parse_http_date("Sat, 31 Dec 2016 23:59:60 GMT"), unix_days_from_civil(2017, 1, 1) * 86400);
  EXPECT_EQ(parse_http_date("  wed, 21 OCT 2015 07:28:00 gmt "), kBttf);   // names: any case
  EXPECT_EQ(parse_http_date("Thursday, 01-Jan-70 00:00:00 GMT"), 0);       // 70..99 -> 19xx
  EXPECT_EQ(parse_http_date("Wednesday, 21-Oct-15 07:28:00 GMT"), kBttf);  // 00..69 -> 20xx
  EXPECT_EQ(parse_http_date("Fri, 31 Dec 9999 23:59:59 GMT"), unix_days_from_civil(10000, 1, 1) * 86400 - 1);
}

TEST(RetryAfter, MalformedDatesAreNullopt) {
  for (const char* bad : {
           "",
           "Xyz, 21 Oct 2015 07:28:00 GMT",  // weekday
           "Wed, 32 Oct 2015 07:28:00 GMT",  // day
           "Wed, 00 Oct 2015 07:28:00 GMT",
           "Sun, 29 Feb 2015 07:28:00 GMT",  // not a leap year
           "Mon, 29 Feb 1900 07:28:00 GMT",  // century, not a leap year
           "Wed, 31 Apr 2015 07:28:00 GMT",
           "Wed, 21 Oct 2015 24:00:00 GMT",    // hour
           "Wed, 21 Oct 2015 07:60:00 GMT",    // minute
           "Wed, 21 Oct 2015 07:28:61 GMT",    // second
           "Wed, 21 Oct 2015 07:28:00",        // zone missing
           "Wed, 21 Oct 2015 07:28:00 UTC",    // wrong zone
           "Wed, 21 Oct 2015 07:28:00 GMT x",  // trailing garbage
           "Wed,21 Oct 2015 07:28:00 GMT",     // missing space
           "Wed, 1 Oct 2015 07:28:00 GMT",     // one-digit day in IMF-fixdate
           "Wed, 21 Okt 2015 07:28:00 GMT",    // month
           "Wed, 21 Oct 15 07:28:00 GMT",      // two-digit year in IMF-fixdate
           "Wed, 21 Oct 2015 7:28:00 GMT",
           "Wed, 21 Oct 2015 07:28 GMT",
           "Wednesday, 21 Oct 2015 07:28:00 GMT",  // long name with IMF layout
           "Wed, 21-Oct-15 07:28:00 GMT",          // short name with RFC 850 layout
           "Wed Oct 21 07:28:00 15",               // asctime with a short year
           "Wed Oct 21 07:28:00 2015 GMT",
           "Wed Oct  021 07:28:00 2015",
           "Wed Oct 2 07:28:00 2015",
       })
    EXPECT_EQ(parse_http_date(bad), std::nullopt) << "'" << bad << "'";
  EXPECT_EQ(parse_http_date(std::string_view{"Wed, 21 Oct 2015 07:28:00 GMT\0", 30}), std::nullopt);
}

TEST(RetryAfter, DatesAreRelativeToTheGivenNow) {
  const char* date = "Wed, 21 Oct 2015 07:28:00 GMT";
  EXPECT_EQ(parse_retry_after(date, kBttf - 30), 30s);
  EXPECT_EQ(parse_retry_after(date, kBttf), 0s);                   // now: zero
  EXPECT_EQ(parse_retry_after(date, kBttf + 3600), 0s);            // past: zero
  EXPECT_EQ(parse_retry_after(date, std::nullopt), std::nullopt);  // no clock: cannot tell
  EXPECT_EQ(parse_retry_after(date, INT64_MIN), Duration::max());  // no overflow
  EXPECT_EQ(parse_retry_after(date, INT64_MAX), 0s);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMX", 0), std::nullopt);
}

TEST(RetryAfter, ShouldRetryIsTrueOrFalse) {
  EXPECT_EQ(parse_should_retry("true"), true);
  EXPECT_EQ(parse_should_retry("false"), false);
  EXPECT_EQ(parse_should_retry(" TRUE "), true);
  EXPECT_EQ(parse_should_retry("False"), false);
  for (const char* bad : {"", "1", "0", "yes", "no", "truee", "t"})
    EXPECT_EQ(parse_should_retry(bad), std::nullopt) << bad;
}

TEST(RetryAfter, HintsPreferMillisecondsAndFallBackWhenMalformed) {
  EXPECT_EQ(retry_hints({.retry_after_ms = "250", .retry_after = "7"}, std::nullopt).retry_after, 250ms);
  EXPECT_EQ(retry_hints({.retry_after_ms = "soon", .retry_after = "7"}, std::nullopt).retry_after, 7s);
  EXPECT_EQ(retry_hints({.retry_after = "Wed, 21 Oct 2015 07:28:00 GMT"}, kBttf - 2).retry_after, 2s);
  const RetryHints none = retry_hints({}, kBttf);
  EXPECT_EQ(none.retry_after, std::nullopt);
  EXPECT_EQ(none.should_retry, std::nullopt);
  const RetryHints h = retry_hints({.should_retry = "false"}, std::nullopt);
  EXPECT_EQ(h.retry_after, std::nullopt);
  EXPECT_EQ(h.should_retry, false);
  EXPECT_EQ(retry_hints({.should_retry = "maybe"}, std::nullopt).should_retry, std::nullopt);
}

// Random strings over the characters the formats use, and one-character mutations of a valid
// date: parsing never crashes, and some mutations stay valid.
TEST(RetryAfter, RandomInputNeverCrashes) {
  static constexpr std::string_view kAlphabet = "0123456789 ,:-.WedOctSunNovGMTgmt\tx";
  Rng rng{2024};
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string s;
    const auto n = rng.uniform_u64(40);
    for (std::uint64_t k = 0; k < n; ++k) s += kAlphabet[rng.uniform_u64(kAlphabet.size())];
    if (i % 3 == 0) {
      s = "Wed, 21 Oct 2015 07:28:00 GMT";
      s[rng.uniform_u64(s.size())] = kAlphabet[rng.uniform_u64(kAlphabet.size())];
    }
    (void)parse_retry_after_ms(s);
    (void)parse_should_retry(s);
    (void)parse_retry_after(s, kBttf);
    if (parse_http_date(s)) ++accepted;
  }
  EXPECT_GT(accepted, 0);  // the mutated dates sometimes stay valid
}

}  // namespace
}  // namespace keel::policy
