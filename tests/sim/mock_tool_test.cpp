// MockTool: exact latency, deterministic results, executions per requested call, faults.
#include "keel/sim/mock_tool.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "keel/core/timeout.h"
#include "sim/mock_test_support.h"

namespace keel::sim {
namespace {

using namespace std::chrono_literals;
using testing::at;
using testing::Calls;
using testing::FaultScript;
using testing::Outcome;

using Out = Result<std::string>;

class MockToolTest : public ::testing::Test {
 protected:
  MockTool make(MockToolConfig c) { return MockTool{sim, std::move(c), Rng{5}.substream("tool"), &faults, &events}; }
  Outcome<Out>& invoke(MockTool& t, TimePoint when, std::string args) {
    return calls.at(when, [&t, args = std::move(args)] { return t.invoke(args); });
  }

  Simulator sim;
  FaultScript faults;
  RecordingSink events;
  Calls<Out> calls{sim};
};

TEST_F(MockToolTest, AnswersAfterExactlyItsLatencyWithADeterministicResult) {
  MockTool t = make({.name = "search", .latency = LatencyModel::fixed(100ms), .idempotent = true});
  auto& a = invoke(t, at(0s), "{}");
  auto& b = invoke(t, at(1s), R"({"call_id":"call_gpt_0_0"})");
  sim.run_until_idle();
  ASSERT_TRUE(*a.result && *b.result);
  EXPECT_EQ(a.at, at(100ms));
  EXPECT_EQ(**a.result, R"({"tool":"search","call":0})");
  EXPECT_EQ(b.at, at(1100ms));
  EXPECT_EQ(**b.result, R"({"tool":"search","call":1,"call_id":"call_gpt_0_0"})");
  EXPECT_EQ(t.spec().name, "search");
  EXPECT_TRUE(t.options().idempotent);
  EXPECT_EQ(t.stats().executions, 2u);
  EXPECT_EQ(t.stats().successes, 2u);
}

TEST_F(MockToolTest, CountsExecutionsPerRequestedCall) {
  MockTool t = make({.name = "write"});
  invoke(t, at(0s), R"({"call_id":"c1"})");
  invoke(t, at(1s), R"({ "call_id" : "c1", "x": 1 })");
  invoke(t, at(2s), R"({"path":"/tmp","call_id":"c2"})");
  invoke(t, at(3s), R"({"path":"call_id"})");
  sim.run_until_idle();
  EXPECT_EQ(t.stats().executions, 4u);
  EXPECT_EQ(t.stats().executions_of("c1"), 2u);
  EXPECT_EQ(t.stats().executions_of("c2"), 1u);
  EXPECT_EQ(t.stats().untracked, 1u);
  EXPECT_EQ(t.stats().max_per_call(), 2u);
  EXPECT_FALSE(t.options().idempotent);
}

TEST_F(MockToolTest, AnErrorFaultFailsTheToolAfterItsLatency) {
  faults.by_index[1] = InjectedFault{FaultKind::tool_error};
  faults.by_index[2] = InjectedFault{.kind = FaultKind::server_error, .status = 500};  // any other kind fails it too
  MockTool t = make({.name = "search"});
  auto& ok = invoke(t, at(0s), "{}");
  auto& failed = invoke(t, at(1s), R"({"call_id":"c"})");
  auto& failed2 = invoke(t, at(2s), "{}");
  sim.run_until_idle();
  EXPECT_TRUE(*ok.result);
  ASSERT_FALSE(*failed.result);
  EXPECT_EQ(failed.result->error().code, ErrorCode::tool_error);
  EXPECT_EQ(failed.at, at(1100ms));
  EXPECT_EQ(failed2.result->error().code, ErrorCode::tool_error);
  EXPECT_EQ(t.stats().executions_of("c"), 1u);  // a failed execution still executed
  EXPECT_EQ(t.stats().failures_of(ErrorCode::tool_error), 2u);
  ASSERT_EQ(faults.calls.size(), 3u);
  EXPECT_EQ(faults.calls[1].target, "tool:search");
  EXPECT_EQ(faults.calls[1].index, 1u);
  EXPECT_EQ(faults.calls[1].now, at(1s));
}

TEST_F(MockToolTest, AHangEndsOnlyByTheCallersTimeout) {
  faults.always = InjectedFault{FaultKind::hang};
  MockTool t = make({.name = "search"});
  auto& r = calls.at(at(0s), [&t] { return [](MockTool& tool) -> Task<Out> {
    co_return co_await with_timeout(tool.invoke(R"({"call_id":"c"})"), 180s);
  }(t); });
  sim.run_until_idle();
  ASSERT_FALSE(*r.result);
  EXPECT_EQ(r.result->error().code, ErrorCode::timeout);
  EXPECT_EQ(r.at, at(180s));
  EXPECT_EQ(t.stats().failures_of(ErrorCode::cancelled), 1u);
  EXPECT_EQ(t.stats().executions_of("c"), 1u);
  EXPECT_EQ(sim.pending(), 0u);
}

TEST_F(MockToolTest, SlowAddsTheExtraLatency) {
  faults.by_index[0] = InjectedFault{.kind = FaultKind::slow, .extra_latency = LatencyModel::fixed(1s)};
  MockTool t = make({.name = "search", .latency = LatencyModel::fixed(100ms)});
  auto& slow = invoke(t, at(0s), "{}");
  auto& normal = invoke(t, at(5s), "{}");
  sim.run_until_idle();
  ASSERT_TRUE(*slow.result && *normal.result);
  EXPECT_EQ(slow.at, at(1100ms));
  EXPECT_EQ(normal.at, at(5100ms));
}

TEST_F(MockToolTest, EventsRecordEachExecution) {
  faults.by_index[1] = InjectedFault{FaultKind::tool_error};
  MockTool t = make({.name = "search"});
  invoke(t, at(0s), R"({"call_id":"c7"})");
  invoke(t, at(1s), "{}");
  sim.run_until_idle();
  const auto reqs = events.find_all("tool.request");
  const auto resps = events.find_all("tool.response");
  ASSERT_EQ(reqs.size(), 2u);
  ASSERT_EQ(resps.size(), 2u);
  EXPECT_EQ(*reqs[0]->get<std::string>("tool"), "search");
  EXPECT_EQ(*reqs[0]->get<std::string>("call_id"), "c7");
  EXPECT_EQ(*reqs[1]->get<std::string>("fault"), "error");
  EXPECT_EQ(*resps[0]->get<bool>("ok"), true);
  EXPECT_EQ(*resps[1]->get<std::string>("code"), "tool_error");
}

std::vector<TimePoint> finish_times(std::uint64_t seed) {
  Simulator sim;
  MockTool t{sim, {.name = "t", .latency = LatencyModel::exponential(200ms)}, Rng{seed}};
  Calls<Out> calls{sim};
  std::vector<Outcome<Out>*> outs;
  for (int i = 0; i < 30; ++i) outs.push_back(&calls.at(at(i * 1s), [&t] { return t.invoke("{}"); }));
  sim.run_until_idle();
  std::vector<TimePoint> times;
  for (auto* o : outs) times.push_back(o->at);
  return times;
}

TEST(MockToolDeterminism, SameSeedSameLatencies) {
  EXPECT_EQ(finish_times(11), finish_times(11));
  EXPECT_NE(finish_times(11), finish_times(12));
}

TEST(MockToolConfigCheck, RejectsAnEmptyName) {
  Simulator sim;
  EXPECT_THROW(MockTool(sim, {.name = ""}, Rng{1}), std::invalid_argument);
}

}  // namespace
}  // namespace keel::sim
