// The `workload.stop` extension (scenarios/FORMAT.md, Extensions): the loader reads and
// validates `"stop": {"at": d}` on an agents workload, to_json writes it back, and the runner
// stops every agent at that virtual time (running steps end cancelled, later ones fail fast).
#include <gtest/gtest.h>

#include <string>

#include "keel/scenarios/loader.h"
#include "keel/scenarios/runner.h"
#include "keel/scenarios/to_json.h"

namespace keel::scenarios {
namespace {

using namespace std::chrono_literals;

std::string with_workload(const std::string& workload) {
  return R"({"keel_scenario": 1, "name": "s", "providers": [{"name": "p", "latency": {"fixed": "10s"}}],
             "workload": )" +
         workload + "}";
}

TEST(StopExtensionTest, AbsentByDefault) {
  const LoadResult r = load_scenario(with_workload(R"({"kind": "agents"})"));
  ASSERT_TRUE(r.ok()) << r.describe();
  EXPECT_FALSE(std::get<AgentsWorkload>(r.value().workload).stop);
}

TEST(StopExtensionTest, ReadsTheStopTime) {
  const LoadResult r = load_scenario(with_workload(R"({"kind": "agents", "stop": {"at": "1m30s"}})"));
  ASSERT_TRUE(r.ok()) << r.describe();
  const auto& a = std::get<AgentsWorkload>(r.value().workload);
  ASSERT_TRUE(a.stop);
  EXPECT_EQ(a.stop->at, 90s);
}

TEST(StopExtensionTest, RejectsMalformedStopsAtTheirPointers) {
  const struct {
    const char* workload;
    const char* pointer;
  } cases[] = {
      {R"({"kind": "agents", "stop": {}})", "/workload/stop/at"},
      {R"({"kind": "agents", "stop": {"at": "soon"}})", "/workload/stop/at"},
      {R"({"kind": "agents", "stop": {"at": "-1s"}})", "/workload/stop/at"},
      {R"({"kind": "agents", "stop": {"at": "1s", "after": "2s"}})", "/workload/stop/after"},
      {R"({"kind": "agents", "stop": "1s"})", "/workload/stop"},
      {R"({"kind": "workforce", "workers": [{"name": "w", "models": ["p"]}], "tasks": 1, "stop": {"at": "1s"}})",
       "/workload/stop"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.workload);
    const LoadResult r = load_scenario(with_workload(c.workload));
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(r.has_error_at(c.pointer)) << r.describe();
    EXPECT_EQ(r.errors.size(), 1u) << r.describe();
  }
}

TEST(StopExtensionTest, ToJsonRoundTripsTheStop) {
  const LoadResult r = load_scenario(with_workload(R"({"kind": "agents", "count": 2, "stop": {"at": "2500ms"}})"));
  ASSERT_TRUE(r.ok()) << r.describe();
  const std::string text = to_json_text(r.value());
  EXPECT_NE(text.find("\"stop\""), std::string::npos) << text;
  const LoadResult again = load_scenario(text, "written");
  ASSERT_TRUE(again.ok()) << again.describe() << text;
  EXPECT_EQ(again.value(), r.value());

  const LoadResult none = load_scenario(with_workload(R"({"kind": "agents"})"));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(to_json_text(none.value()).find("\"stop\""), std::string::npos);
}

TEST(StopExtensionTest, TheRunnerStopsEveryAgentAtThatTime) {
  // Each step takes 10 s; stopped at 15 s: step 1 succeeded, step 2 was running (cancelled at
  // 15 s exactly), step 3 fails fast as cancelled; no request after the stop.
  const LoadResult r = load_scenario(with_workload(R"({"kind": "agents", "count": 2, "steps": 3, "stop": {"at": "15s"}})"));
  ASSERT_TRUE(r.ok()) << r.describe();
  const Result<RunReport> rep = run_scenario(r.value(), RunOptions{});
  ASSERT_TRUE(rep.ok()) << rep.error().describe();
  EXPECT_EQ(rep->tasks.total, 6);
  EXPECT_EQ(rep->tasks.succeeded, 2);
  EXPECT_EQ(rep->tasks.cancelled, 4);
  EXPECT_EQ(rep->unfinished, 0);
  EXPECT_EQ(rep->virtual_end, 15s);
  EXPECT_EQ(rep->latency_max, 10s);  // step 1: 10 s; step 2: 5 s; step 3: 0 s
  ASSERT_EQ(rep->calls.size(), 1u);
  EXPECT_EQ(rep->calls[0].second, 4);  // steps 1 and 2 of each agent, nothing after
}

}  // namespace
}  // namespace keel::scenarios
