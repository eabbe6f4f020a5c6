// Tests for keel/core/trace_writer.h: canonical JSON lines and the trace hash.
#include "keel/core/trace_writer.h"

#include <gtest/gtest.h>

#include <limits>
#include <sstream>



using namespace std::chrono_literals;

namespace keel {
namespace {

std::string line_of(TimePoint t, std::string_view kind, std::initializer_list<Attr> attrs) {
  std::ostringstream os;
  TraceWriter w{&os};
  emit(&w, t, kind, attrs);
  return os.str();
}

TEST(TraceWriterTest, ExactLine) {
  EXPECT_EQ(line_of(time_point_at(1500ms), "retry.scheduled",
                    {{"attempt", 2},
                     {"delay", 250ms},
                     {"ratio", 0.1},
                     {"big", std::numeric_limits<std::uint64_t>::max()},
                     {"neg", std::numeric_limits<std::int64_t>::min()},
                     {"ok", true},
                     {"hedge", false},
                     {"code", ErrorCode::rate_limited},
                     {"provider", "a"}}),
            "{\"t\":1500000000,\"kind\":\"retry.scheduled\",\"attempt\":2,\"delay\":250000000,\"ratio\":0.1,"
            "\"big\":18446744073709551615,\"neg\":-9223372036854775808,\"ok\":true,\"hedge\":false,"
            "\"code\":\"rate_limited\",\"provider\":\"a\"}\n");
  EXPECT_EQ(line_of(TimePoint{}, "x", {}), "{\"t\":0,\"kind\":\"x\"}\n");
}

// An event's ids are written and hashed as the attributes they show (event.h): the same line
// and hash as the event with those attributes spelled out.
TEST(TraceWriterTest, TraceIdsAreAttributesAfterTheOwnOnes) {
  const TraceIds ids{.agent = 1, .step = 2, .call = 0, .attempt = 4};
  std::ostringstream os;
  TraceWriter with_ids{&os}, spelled_out;
  emit(&with_ids, TimePoint{}, "model.attempt", {{"model", "gpt"}, {"step", 9}}, &ids);
  emit(&spelled_out, TimePoint{}, "model.attempt", {{"model", "gpt"}, {"step", 9}, {"agent", 1}, {"attempt", 4}});
  EXPECT_EQ(os.str(), "{\"t\":0,\"kind\":\"model.attempt\",\"model\":\"gpt\",\"step\":9,\"agent\":1,\"attempt\":4}\n");
  EXPECT_EQ(with_ids.hash(), spelled_out.hash());
}

TEST(TraceWriterTest, Doubles) {
  const auto d = [](double v) { return line_of(TimePoint{}, "k", {{"v", v}}); };
  const auto expect = [](std::string_view v) { return "{\"t\":0,\"kind\":\"k\",\"v\":" + std::string(v) + "}\n"; };
  EXPECT_EQ(d(1.5), expect("1.5"));
  EXPECT_EQ(d(100.0), expect("100"));
  EXPECT_EQ(d(1e20), expect("1e+20"));
  EXPECT_EQ(d(1e-7), expect("1e-07"));
  EXPECT_EQ(d(-0.0), expect("-0"));
  EXPECT_EQ(d(1.0 / 3.0), expect("0.3333333333333333"));
  EXPECT_EQ(d(std::numeric_limits<double>::infinity()), expect("null"));
  EXPECT_EQ(d(-std::numeric_limits<double>::infinity()), expect("null"));
  EXPECT_EQ(d(std::numeric_limits<double>::quiet_NaN()), expect("null"));
}

// Strings are written by the JSON escaper (json_escape_test.cpp has its rules); keys and kinds
// too. An invalid byte becomes U+FFFD in the line, and the hash, defined over the line's
// values, is that of the repaired string.
TEST(TraceWriterTest, StringsGoThroughTheEscaper) {
  EXPECT_EQ(line_of(TimePoint{}, "k\"", {{"a\nb", "v\t"}}), "{\"t\":0,\"kind\":\"k\\\"\",\"a\\nb\":\"v\\t\"}\n");
  EXPECT_EQ(line_of(TimePoint{}, "k", {{"s", "a\xff"}}), "{\"t\":0,\"kind\":\"k\",\"s\":\"a\xEF\xBF\xBD\"}\n");
  TraceWriter invalid, repaired;
  emit(&invalid, TimePoint{}, "k\x80", {{"s\xc0", "a\xff"}});
  emit(&repaired, TimePoint{}, "k\xEF\xBF\xBD", {{"s\xEF\xBF\xBD", "a\xEF\xBF\xBD"}});
  EXPECT_EQ(invalid.hash(), repaired.hash());
}

TEST(TraceHashTest, SpecVectors) {
  // Computed by an independent (Python) implementation of the definition in trace_writer.h.
  EXPECT_EQ(TraceWriter{}.hash(), 0xe19d25811272e7d0ULL);
  {
    TraceWriter w;
    emit(&w, TimePoint{}, "x");
    EXPECT_EQ(w.hash(), 0x61cde1ef9e2926f6ULL);
  }
  {
    TraceWriter w;
    emit(&w, time_point_at(1500ms), "retry.scheduled",
         {{"attempt", 2}, {"delay", 250ms}, {"ratio", 0.1}, {"big", std::numeric_limits<std::uint64_t>::max()},
          {"neg", std::numeric_limits<std::int64_t>::min()}, {"ok", true}, {"hedge", false},
          {"code", ErrorCode::rate_limited}, {"provider", "a"}});
    EXPECT_EQ(w.hash(), 0x12a658eb26858887ULL);
  }
  {
    // 100.0 hashes as the integer token "100"; NaN as null; invalid UTF-8 as U+FFFD.
    TraceWriter w;
    emit(&w, TimePoint{}, "k", {{"v", 100.0}});
    emit(&w, TimePoint{Duration{-5}}, "caf\xc3\xa9", {{"n", std::numeric_limits<double>::quiet_NaN()}, {"s", "a\xff" "b"}});
    EXPECT_EQ(w.hash(), 0xb7d422111ee8559bULL);
  }
  EXPECT_EQ(to_hex16(0x0040fd82fbdd00a3ULL), "0040fd82fbdd00a3");
}

TEST(TraceHashTest, EveryFieldCounts) {
  const auto one = [](TimePoint t, std::string_view kind, std::initializer_list<Attr> attrs) {
    TraceWriter w;
    emit(&w, t, kind, attrs);
    return w.hash();
  };
  const std::uint64_t base = one(TimePoint{}, "k", {{"a", 1}, {"b", "x"}});
  EXPECT_NE(one(TimePoint{Duration{1}}, "k", {{"a", 1}, {"b", "x"}}), base);
  EXPECT_NE(one(TimePoint{}, "K", {{"a", 1}, {"b", "x"}}), base);
  EXPECT_NE(one(TimePoint{}, "k", {{"A", 1}, {"b", "x"}}), base);
  EXPECT_NE(one(TimePoint{}, "k", {{"a", 2}, {"b", "x"}}), base);
  EXPECT_NE(one(TimePoint{}, "k", {{"a", -1}, {"b", "x"}}), base);
  EXPECT_NE(one(TimePoint{}, "k", {{"a", 1.5}, {"b", "x"}}), base);
  EXPECT_NE(one(TimePoint{}, "k", {{"a", "1"}, {"b", "x"}}), base);
  EXPECT_NE(one(TimePoint{}, "k", {{"a", true}, {"b", "x"}}), base);
  EXPECT_NE(one(TimePoint{}, "k", {{"b", "x"}, {"a", 1}}), base);
  EXPECT_NE(one(TimePoint{}, "k", {{"a", 1}, {"b", std::string_view("x\0", 2)}}), base);  // length matters
  EXPECT_NE(one(TimePoint{}, "k", {{"a", 1}}), base);
  // What reads back the same hashes the same: 1.0 is written "1", a uint64 1 is written "1".
  EXPECT_EQ(one(TimePoint{}, "k", {{"a", 1.0}, {"b", "x"}}), base);
  EXPECT_EQ(one(TimePoint{}, "k", {{"a", std::uint64_t{1}}, {"b", "x"}}), base);
  // Splitting one event in two, or joining two, changes the hash.
  TraceWriter two;
  emit(&two, TimePoint{}, "k", {{"a", 1}});
  emit(&two, TimePoint{}, "k", {{"b", "x"}});
  EXPECT_NE(two.hash(), base);
}

void run_sample(TraceWriter& w, std::int64_t attempt) {
  for (int i = 0; i < 100; ++i) {
    emit(&w, time_point_at(Duration{i * 1000}), "attempt.started", {{"provider", "a"}, {"n", i}});
    emit(&w, time_point_at(Duration{i * 1000 + 7}), "retry.scheduled",
         {{"attempt", i == 50 ? attempt : 1}, {"delay", 250ms}, {"code", ErrorCode::timeout}});
  }
}

TEST(TraceWriterTest, HashIsDeterministicAndSensitive) {
  std::ostringstream os1;
  TraceWriter a{&os1}, b, c;
  run_sample(a, 1);
  run_sample(b, 1);
  run_sample(c, 2);  // one attribute of one event differs
  EXPECT_EQ(a.lines(), 200u);
  EXPECT_EQ(a.hash(), b.hash());
  EXPECT_EQ(a.hash_hex(), b.hash_hex());
  EXPECT_NE(a.hash(), c.hash());

  const std::string text = os1.str();
  EXPECT_EQ(a.bytes(), text.size());
  EXPECT_EQ(b.bytes(), 0u) << "hash only: nothing written";
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 200);

  const std::string hex = a.hash_hex();
  ASSERT_EQ(hex.size(), 16u);
  EXPECT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(TraceWriterTest, EmptyTraceHash) {
  TraceWriter w;
  EXPECT_EQ(w.lines(), 0u);
  EXPECT_EQ(w.hash(), TraceWriter{}.hash());
  EXPECT_EQ(w.bytes(), 0u);
}

}  // namespace
}  // namespace keel
