// keel/scenarios/trace_file.h: a trace written by the runner hashes back to the hash the run
// printed, for bundled scenarios of every kind; malformed lines are refused with their number.
#include "keel/scenarios/trace_file.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "keel/core/trace_writer.h"
#include "keel/scenarios/loader.h"
#include "keel/scenarios/runner.h"

namespace keel::scenarios {
namespace {

TEST(TraceFile, AWrittenTraceHashesBackToTheRunsHash) {
  // Agents with faults and fallbacks, a breaker, a workforce, overflow handling, a stop.
  for (const char* name : {"server_error_storm_breaker", "workforce_fallback_provider", "overflow_summarize",
                           "stop_cancels_steps", "hedging_slow_tail"}) {
    const LoadResult loaded =
        load_scenario_file(std::string(KEEL_SOURCE_DIR) + "/scenarios/suite/" + name + ".json");
    ASSERT_TRUE(loaded.ok()) << loaded.describe();
    std::ostringstream trace;
    Result<RunReport> report = run_scenario(*loaded.scenario, RunOptions{.seed = 7, .trace = &trace});
    ASSERT_TRUE(report) << report.error();
    std::istringstream in{trace.str()};
    const Result<TraceFileHash> h = hash_trace_file(in);
    ASSERT_TRUE(h) << h.error();
    EXPECT_EQ(to_hex16(h->hash), report->trace_hash) << name;
    EXPECT_EQ(h->events, report->trace_events) << name;
  }
}

TEST(TraceFile, ValuesHashAsTheyReadBack) {
  std::ostringstream file;
  TraceWriter writer{&file};
  emit(&writer, TimePoint{Duration{5}}, "k",
       {{"i", -3}, {"u", std::uint64_t{18446744073709551615ULL}}, {"d", 0.25}, {"whole", 100.0}, {"big", 1e300},
        {"nan", std::numeric_limits<double>::quiet_NaN()}, {"yes", true}, {"s", "a\xff\n"}});
  std::istringstream in{file.str()};
  const Result<TraceFileHash> h = hash_trace_file(in);
  ASSERT_TRUE(h) << h.error();
  EXPECT_EQ(h->hash, writer.hash());
  EXPECT_EQ(h->events, 1u);
}

std::string problem(const std::string& text) {
  std::istringstream in{text};
  const Result<TraceFileHash> h = hash_trace_file(in);
  return h ? std::string("accepted") : h.error().message;
}

TEST(TraceFile, MalformedLinesAreRefusedWithTheirNumber) {
  const std::string ok = "{\"t\":0,\"kind\":\"a\"}\n";
  EXPECT_EQ(problem(ok + ok), "accepted");
  EXPECT_EQ(problem(""), "accepted");  // no events: the empty trace's hash
  EXPECT_EQ(problem(ok + "{\"t\":0,\"kind\":\"a\"\n"), "trace line 2: not valid JSON");
  EXPECT_EQ(problem("[1,2]\n"), "trace line 1: not an object with \"t\" and \"kind\"");
  EXPECT_EQ(problem("{\"kind\":\"a\",\"t\":0}\n"), "trace line 1: the first member must be \"t\", an integer");
  EXPECT_EQ(problem("{\"t\":0.5,\"kind\":\"a\"}\n"), "trace line 1: the first member must be \"t\", an integer");
  EXPECT_EQ(problem("{\"t\":18446744073709551615,\"kind\":\"a\"}\n"), "trace line 1: \"t\" is out of range");
  EXPECT_EQ(problem("{\"t\":0,\"kind\":7}\n"), "trace line 1: the second member must be \"kind\", a string");
  EXPECT_EQ(problem(ok + "\n" + "{\"t\":0,\"kind\":\"a\",\"x\":{}}\n"), "trace line 3: attribute \"x\" is an object or array");
}

}  // namespace
}  // namespace keel::scenarios
