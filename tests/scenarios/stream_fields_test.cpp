// Format v1.1 stream fields: each loads with its meaning, defaults hold for v1 files, and the
// writer round-trips them (the broken ones are in tests/scenarios/bad/stream_*.json).
#include <gtest/gtest.h>

#include <filesystem>

#include "keel/scenarios/loader.h"
#include "keel/scenarios/to_json.h"

namespace keel::scenarios {
namespace {

using namespace std::chrono_literals;
using sim::FaultKind;

const std::filesystem::path kGood = std::filesystem::path(KEEL_SOURCE_DIR) / "tests" / "scenarios" / "good";

TEST(StreamFieldsTest, EveryV11FieldLoadsWithItsMeaning) {
  LoadResult r = load_scenario_file(kGood / "streams.json");
  ASSERT_TRUE(r.ok());
  const Scenario& s = r.value();
  EXPECT_EQ(s.providers[0].token_interval, 20ms);
  EXPECT_TRUE(s.providers[0].supports_prefill);
  EXPECT_EQ(s.providers[1].token_interval, 0ms);
  EXPECT_FALSE(s.providers[1].supports_prefill);

  ASSERT_EQ(s.faults.size(), 8u);
  EXPECT_EQ(s.faults[0].kind, FaultKind::slow_first_token);
  ASSERT_TRUE(s.faults[0].extra_latency);
  EXPECT_EQ(s.faults[1].kind, FaultKind::stream_cut);
  EXPECT_EQ(s.faults[1].after_tokens, 10);
  EXPECT_EQ(s.faults[2].kind, FaultKind::stream_stall);
  EXPECT_EQ(s.faults[2].after_tokens, 0);
  EXPECT_EQ(s.faults[2].stall, 45s);
  EXPECT_FALSE(s.faults[3].after_tokens);  // default: half the answer, decided by the provider
  EXPECT_FALSE(s.faults[3].stall);         // default: until the horizon
  EXPECT_EQ(s.faults[4].kind, FaultKind::malformed_chunk);
  EXPECT_EQ(s.faults[4].at_token, 4);
  EXPECT_EQ(s.faults[5].kind, FaultKind::missing_done);
  EXPECT_EQ(s.faults[6].kind, FaultKind::content_filter);
  EXPECT_EQ(s.faults[7].at_token, 1);

  EXPECT_EQ(s.runtime.timeouts.first_token, Override<Duration>::of(10s));
  EXPECT_TRUE(s.runtime.timeouts.idle.is_disabled());
  EXPECT_EQ(s.runtime.on_timeout, OnTimeout::next_model);
  EXPECT_EQ(s.runtime.stream_recovery, StreamRecovery::continue_);

  const auto& wf = std::get<WorkforceWorkload>(s.workload);
  EXPECT_TRUE(wf.stream);
  EXPECT_FALSE(wf.workers[0].stream.has_value());
  EXPECT_EQ(wf.workers[1].stream, false);
  EXPECT_EQ(s.expect.truncated_answers_max, 0);
}

TEST(StreamFieldsTest, AV1FileKeepsTheV1Defaults) {
  LoadResult r = load_scenario_file(kGood / "minimal.json");
  ASSERT_TRUE(r.ok());
  const Scenario& s = r.value();
  EXPECT_EQ(s.providers[0].token_interval, 0ms);
  EXPECT_TRUE(s.providers[0].supports_prefill);
  EXPECT_TRUE(s.runtime.timeouts.first_token.inherits());
  EXPECT_TRUE(s.runtime.timeouts.idle.inherits());
  EXPECT_FALSE(s.runtime.on_timeout);
  EXPECT_FALSE(s.runtime.stream_recovery);
  EXPECT_FALSE(s.expect.truncated_answers_max);
  // And the writer adds none of the v1.1 fields to it.
  const std::string text = to_json_text(s);
  for (const char* field : {"token_interval", "supports_prefill", "first_token", "on_timeout", "stream_recovery", "stream",
                            "truncated_answers_max"}) {
    EXPECT_EQ(text.find(std::string("\"") + field + "\""), std::string::npos) << field;
  }
}

TEST(StreamFieldsTest, TheWriterRoundTripsEveryV11Field) {
  LoadResult r = load_scenario_file(kGood / "streams.json");
  ASSERT_TRUE(r.ok());
  const std::string text = to_json_text(r.value());
  LoadResult again = load_scenario(text, "written");
  ASSERT_TRUE(again.ok()) << text;
  EXPECT_EQ(again.value(), r.value()) << text;
  EXPECT_EQ(to_json_text(again.value()), text);
}

TEST(StreamFieldsTest, AgentsTakeStreamToo) {
  LoadResult r = load_scenario(R"({"keel_scenario": 1, "name": "a", "providers": [{"name": "p"}],
                                   "workload": {"kind": "agents", "stream": true}})",
                               "inline");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(std::get<AgentsWorkload>(r.value().workload).stream);
}

}  // namespace
}  // namespace keel::scenarios
