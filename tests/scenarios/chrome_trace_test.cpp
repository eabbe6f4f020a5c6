// ChromeTraceWriter: the output is Chrome trace-event JSON with the spans, instants and named
// tracks keel_run --chrome-trace promises (chrome_trace.h), both for hand-fed events (exact
// timestamps) and for a small scenario run end to end (counts agree with the run's report).
#include "keel/scenarios/chrome_trace.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <numeric>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "keel/scenarios/loader.h"
#include "keel/scenarios/runner.h"

namespace keel::scenarios {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

TimePoint at(Duration d) { return TimePoint{d}; }

struct Parsed {
  json doc;
  std::map<std::pair<int, int>, std::string> thread_names;  // (pid, tid) -> name
  std::vector<json> spans, instants;

  explicit Parsed(const std::string& text) : doc(json::parse(text)) {
    for (const json& e : doc.at("traceEvents")) {
      const std::string ph = e.at("ph");
      if (ph == "M" && e.at("name") == "thread_name") {
        thread_names[{e.at("pid").get<int>(), e.at("tid").get<int>()}] = e.at("args").at("name");
      } else if (ph == "X") {
        spans.push_back(e);
      } else if (ph == "i") {
        instants.push_back(e);
      }
    }
  }
  std::string track_of(const json& e) const {
    auto it = thread_names.find({e.at("pid").get<int>(), e.at("tid").get<int>()});
    return it == thread_names.end() ? "" : it->second;
  }
  std::vector<json> spans_where(const std::string& cat) const {
    std::vector<json> out;
    for (const json& s : spans)
      if (s.at("cat") == cat) out.push_back(s);
    return out;
  }
  // Perfetto rejects overlapping X events on one thread: check none do.
  void expect_no_overlap() const {
    std::map<std::pair<int, int>, std::vector<std::pair<double, double>>> by_track;
    for (const json& s : spans) {
      const double ts = s.at("ts"), dur = s.at("dur");
      by_track[{s.at("pid").get<int>(), s.at("tid").get<int>()}].emplace_back(ts, ts + dur);
    }
    for (auto& [track, v] : by_track) {
      std::sort(v.begin(), v.end());
      for (std::size_t i = 1; i < v.size(); ++i) {
        EXPECT_GE(v[i].first, v[i - 1].second - 1e-6) << "overlap on track " << thread_names.at(track);
      }
    }
  }
};

TEST(ChromeTraceWriterTest, HandFedEventsBecomeExactSpansLanesAndInstants) {
  std::ostringstream out;
  {
    ChromeTraceWriter w{out};
    emit(&w, at(1ms), "agent.step.start", {{"step", 1}});
    emit(&w, at(1ms), "provider.request", {{"target", "gpt"}, {"index", 0u}, {"prompt_tokens", 10}, {"fault", "server_error"}});
    emit(&w, at(2ms), "provider.request", {{"target", "gpt"}, {"index", 1u}, {"prompt_tokens", 10}, {"fault", ""}});
    emit(&w, at(3ms), "provider.response",
         {{"target", "gpt"}, {"index", 0u}, {"ok", false}, {"code", ErrorCode::server_error}, {"status", 503}});
    emit(&w, at(3ms), "retry.decision",
         {{"reason", "retry"}, {"attempt", 1}, {"delay", 250ms}, {"code", ErrorCode::server_error}, {"target", "gpt"}});
    emit(&w, at(3ms), "retry.decision",
         {{"reason", "exhausted"}, {"attempt", 3}, {"delay", 0ms}, {"code", ErrorCode::server_error}, {"target", "gpt"}});
    emit(&w, at(3ms), "breaker.state", {{"target", "gpt"}, {"from", "closed"}, {"to", "open"}, {"reason", "failure_rate"}});
    emit(&w, at(3ms), "model.fallback", {{"from", "gpt"}, {"to", "claude"}, {"code", ErrorCode::server_error}});
    emit(&w, at(4ms), "provider.response", {{"target", "gpt"}, {"index", 1u}, {"ok", true}, {"status", 200}});
    emit(&w, at(5ms), "tool.start", {{"tool", "search"}, {"call_id", "c1"}, {"attempt", 1}});
    emit(&w, at(6ms), "tool.start", {{"tool", "search"}, {"call_id", "c1"}, {"attempt", 2}});
    emit(&w, at(7ms), "tool.end", {{"tool", "search"}, {"call_id", "c1"}, {"ok", true}, {"code", ""}, {"attempts", 2}});
    emit(&w, at(8ms), "agent.step.end", {{"step", 1}, {"ok", true}, {"code", "ok"}, {"duration", 7ms}});
    emit(&w, at(9ms), "provider.request", {{"target", "claude"}, {"index", 0u}, {"prompt_tokens", 10}, {"fault", "hang"}});
    w.finish(at(10ms));
    emit(&w, at(11ms), "provider.request", {{"target", "claude"}, {"index", 1u}});  // ignored after finish
  }
  const Parsed p{out.str()};
  p.expect_no_overlap();

  const std::vector<json> attempts = p.spans_where("provider");
  ASSERT_EQ(attempts.size(), 3u);
  EXPECT_EQ(attempts[0].at("name"), "server_error");
  EXPECT_DOUBLE_EQ(attempts[0].at("ts").get<double>(), 1000.0);  // microseconds
  EXPECT_DOUBLE_EQ(attempts[0].at("dur").get<double>(), 2000.0);
  EXPECT_EQ(attempts[0].at("args").at("fault"), "server_error");
  EXPECT_EQ(p.track_of(attempts[0]), "gpt");
  EXPECT_EQ(attempts[1].at("name"), "ok");  // overlapped the first: a second lane
  EXPECT_EQ(p.track_of(attempts[1]), "gpt (2)");
  EXPECT_FALSE(attempts[1].at("args").contains("fault"));
  EXPECT_EQ(attempts[2].at("name"), "attempt");  // the hang, closed by finish()
  EXPECT_EQ(attempts[2].at("args").at("unfinished"), true);
  EXPECT_DOUBLE_EQ(attempts[2].at("dur").get<double>(), 1000.0);
  EXPECT_EQ(p.track_of(attempts[2]), "claude");

  const std::vector<json> backoffs = p.spans_where("backoff");
  ASSERT_EQ(backoffs.size(), 1u);  // only reason "retry" waits
  EXPECT_DOUBLE_EQ(backoffs[0].at("ts").get<double>(), 3000.0);
  EXPECT_DOUBLE_EQ(backoffs[0].at("dur").get<double>(), 250000.0);
  EXPECT_EQ(p.track_of(backoffs[0]), "gpt backoff");

  const std::vector<json> tools = p.spans_where("tool");
  ASSERT_EQ(tools.size(), 1u);  // one call, two attempts
  EXPECT_DOUBLE_EQ(tools[0].at("ts").get<double>(), 5000.0);
  EXPECT_DOUBLE_EQ(tools[0].at("dur").get<double>(), 2000.0);
  EXPECT_EQ(tools[0].at("args").at("call_id"), "c1");
  EXPECT_EQ(tools[0].at("args").at("attempts"), 2);
  EXPECT_EQ(p.track_of(tools[0]), "search");

  const std::vector<json> steps = p.spans_where("agent");
  ASSERT_EQ(steps.size(), 1u);
  EXPECT_EQ(steps[0].at("name"), "step 1");
  EXPECT_DOUBLE_EQ(steps[0].at("ts").get<double>(), 1000.0);
  EXPECT_DOUBLE_EQ(steps[0].at("dur").get<double>(), 7000.0);
  EXPECT_EQ(p.track_of(steps[0]), "agent 1");

  ASSERT_EQ(p.instants.size(), 2u);
  EXPECT_EQ(p.instants[0].at("name"), "breaker closed -> open");
  EXPECT_EQ(p.track_of(p.instants[0]), "gpt events");
  EXPECT_EQ(p.instants[1].at("name"), "fallback -> claude");
  EXPECT_DOUBLE_EQ(p.instants[1].at("ts").get<double>(), 3000.0);
}

TEST(ChromeTraceWriterTest, AgentsGetOneTrackEachAndStepsFollowTheirAgent) {
  std::ostringstream out;
  {
    ChromeTraceWriter w{out};
    emit(&w, at(0ms), "agent.step.start", {{"step", 1}});
    emit(&w, at(0ms), "agent.step.start", {{"step", 1}});
    emit(&w, at(5ms), "agent.step.end", {{"step", 1}, {"ok", true}, {"duration", 5ms}});
    emit(&w, at(5ms), "agent.step.start", {{"step", 2}});
    emit(&w, at(9ms), "agent.step.end", {{"step", 1}, {"ok", false}, {"code", "timeout"}, {"duration", 9ms}});
    emit(&w, at(9ms), "agent.step.start", {{"step", 2}});
    emit(&w, at(12ms), "agent.step.end", {{"step", 2}, {"ok", true}, {"duration", 3ms}});
    emit(&w, at(20ms), "agent.step.end", {{"step", 2}, {"ok", true}, {"duration", 15ms}});
  }
  const Parsed p{out.str()};
  p.expect_no_overlap();
  std::map<std::string, std::vector<std::string>> by_agent;
  for (const json& s : p.spans_where("agent")) by_agent[p.track_of(s)].push_back(s.at("name"));
  ASSERT_EQ(by_agent.size(), 2u);
  EXPECT_EQ(by_agent["agent 1"], (std::vector<std::string>{"step 1", "step 2"}));
  EXPECT_EQ(by_agent["agent 2"], (std::vector<std::string>{"step 1 (timeout)", "step 2"}));
}

// A small scenario: p1 always fails (retries, breaker, fallback to p2), a tool that fails once.
constexpr const char* kScenario = R"({
  "keel_scenario": 1,
  "name": "chrome_trace_small",
  "horizon": "10m",
  "providers": [{"name": "p1", "latency": {"fixed": "200ms"}}, {"name": "p2", "latency": {"fixed": "1s"}}],
  "tools": [{"name": "search", "idempotent": true}],
  "faults": [{"target": "p1", "kind": "server_error"}, {"target": "tool:search", "kind": "error", "first_n": 1}],
  "workload": {"kind": "agents", "count": 3, "steps": 4, "start": {"every": "1s"}, "tool_calls_per_step": 1}
})";

TEST(ChromeTraceWriterTest, ScenarioRunProducesTheSpansItsReportCounts) {
  const LoadResult loaded = load_scenario(kScenario, "chrome_trace_small");
  ASSERT_TRUE(loaded.ok()) << loaded.describe();
  std::ostringstream out;
  ChromeTraceWriter chrome{out};
  Result<RunReport> r = run_scenario(loaded.value(), {.seed = 3, .extra_sink = &chrome});
  ASSERT_TRUE(r.ok()) << r.error().describe();
  chrome.finish(TimePoint{r->virtual_end});
  const Parsed p{out.str()};
  p.expect_no_overlap();

  // Every request that reached a provider is one attempt span, on that provider's track.
  const std::int64_t calls = std::accumulate(r->calls.begin(), r->calls.end(), std::int64_t{0},
                                             [](std::int64_t n, const auto& kv) { return n + kv.second; });
  ASSERT_GT(calls, 0);
  const std::vector<json> attempts = p.spans_where("provider");
  EXPECT_EQ(static_cast<std::int64_t>(attempts.size()), calls);
  std::int64_t on_p1 = 0;
  for (const json& a : attempts) {
    const std::string track = p.track_of(a);
    EXPECT_TRUE(track.starts_with("p1") || track.starts_with("p2")) << track;
    if (track.starts_with("p1")) {
      ++on_p1;
      EXPECT_EQ(a.at("name"), "server_error");
      EXPECT_DOUBLE_EQ(a.at("dur").get<double>(), 200000.0);  // 200ms in microseconds
    }
  }
  EXPECT_EQ(on_p1, r->calls.at(0).second);

  // Every retry waits out a backoff span; every fallback and breaker opening is an instant.
  std::int64_t provider_backoffs = 0, tool_backoffs = 0;
  for (const json& b : p.spans_where("backoff")) {
    const std::string track = p.track_of(b);
    if (track.starts_with("search backoff")) ++tool_backoffs;
    else if (track.starts_with("p1 backoff") || track.starts_with("p2 backoff")) ++provider_backoffs;
    else ADD_FAILURE() << "backoff on track " << track;
  }
  EXPECT_GT(r->retries, 0);
  EXPECT_EQ(provider_backoffs, r->retries);
  EXPECT_EQ(tool_backoffs, 1);  // the tool's one failure, retried (idempotent)
  std::int64_t fallbacks = 0, opens = 0;
  for (const json& i : p.instants) {
    const std::string name = i.at("name");
    fallbacks += name.starts_with("fallback -> ");
    opens += name.ends_with("-> open");
  }
  EXPECT_GT(r->fallbacks, 0);
  EXPECT_EQ(fallbacks, r->fallbacks);
  EXPECT_EQ(opens, r->breaker_opens.at(0).second);

  // One track per agent with its steps; one span per tool call.
  std::set<std::string> agent_tracks;
  for (const json& s : p.spans_where("agent")) agent_tracks.insert(p.track_of(s));
  EXPECT_EQ(agent_tracks, (std::set<std::string>{"agent 1", "agent 2", "agent 3"}));
  ASSERT_EQ(r->tasks.succeeded, r->tasks.total);
  EXPECT_EQ(static_cast<std::int64_t>(p.spans_where("agent").size()), r->tasks.total);
  EXPECT_EQ(static_cast<std::int64_t>(p.spans_where("tool").size()), r->tasks.total);  // 1 call per step

  // Deterministic: the same run writes the same bytes.
  std::ostringstream again;
  {
    ChromeTraceWriter chrome2{again};
    ASSERT_TRUE(run_scenario(loaded.value(), {.seed = 3, .extra_sink = &chrome2}).ok());
    chrome2.finish(TimePoint{r->virtual_end});
  }
  EXPECT_EQ(out.str(), again.str());
}

// Events that name their agent and step: each step goes on its agent's track, and a flow arrow
// (s on the step's track -> f on the attempt's lane, same id, at the request's time) links the
// step to each provider request it made.
TEST(ChromeTraceWriterTest, StepsLinkToTheirProviderRequests) {
  std::ostringstream out;
  {
    ChromeTraceWriter w{out};
    emit(&w, at(0ms), "agent.step.start", {{"step", 1}, {"agent", 2}});
    emit(&w, at(0ms), "agent.step.start", {{"step", 1}, {"agent", 1}});
    emit(&w, at(1ms), "provider.request", {{"target", "gpt"}, {"index", 0u}, {"agent", 1}, {"step", 1}});
    emit(&w, at(2ms), "provider.request", {{"target", "gpt"}, {"index", 1u}, {"agent", 2}, {"step", 1}});
    emit(&w, at(3ms), "provider.request", {{"target", "gpt"}, {"index", 2u}});  // no ids: no arrow
    emit(&w, at(4ms), "provider.response", {{"target", "gpt"}, {"index", 0u}, {"ok", true}});
    emit(&w, at(4ms), "provider.response", {{"target", "gpt"}, {"index", 1u}, {"ok", true}});
    emit(&w, at(4ms), "provider.response", {{"target", "gpt"}, {"index", 2u}, {"ok", true}});
    emit(&w, at(5ms), "agent.step.end", {{"step", 1}, {"agent", 1}, {"ok", true}, {"duration", 5ms}});
    emit(&w, at(6ms), "agent.step.end", {{"step", 1}, {"agent", 2}, {"ok", true}, {"duration", 6ms}});
  }
  const Parsed p{out.str()};
  p.expect_no_overlap();
  std::vector<json> starts, ends;
  for (const json& e : p.doc.at("traceEvents")) {
    if (e.at("ph") == "s") starts.push_back(e);
    if (e.at("ph") == "f") ends.push_back(e);
  }
  ASSERT_EQ(starts.size(), 2u);
  ASSERT_EQ(ends.size(), 2u);
  std::map<double, std::string> step_track_at;  // a step span's start -> its track
  for (const json& s : p.spans_where("agent")) step_track_at[s.at("dur").get<double>()] = p.track_of(s);
  // agent 2 started first, so it got the first track ("agent 1"); its step lasted 6 ms.
  EXPECT_EQ(step_track_at[6000.0], "agent 1");
  EXPECT_EQ(step_track_at[5000.0], "agent 2");
  EXPECT_EQ(starts[0].at("ts"), 1000.0);
  EXPECT_EQ(p.track_of(starts[0]), "agent 2");  // agent id 1's track
  EXPECT_EQ(p.track_of(starts[1]), "agent 1");
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(starts[i].at("id"), ends[i].at("id"));
    EXPECT_EQ(ends[i].at("bp"), "e");
    EXPECT_EQ(ends[i].at("ts"), starts[i].at("ts"));
    EXPECT_TRUE(p.track_of(ends[i]).starts_with("gpt")) << p.track_of(ends[i]);
  }
  EXPECT_NE(starts[0].at("id"), starts[1].at("id"));
}

// Every provider request of every suite run is sent by an agent step, and the trace draws one
// arrow from the step to it (the ids on provider.request: docs/events.md).
TEST(ChromeTraceWriterTest, EverySuiteRequestHasOneFlowFromItsStep) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator{std::string{KEEL_SOURCE_DIR} + "/scenarios/suite"})
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  std::sort(files.begin(), files.end());
  ASSERT_GT(files.size(), 10u);
  std::uint64_t requests = 0;
  for (const auto& file : files) {
    const LoadResult loaded = load_scenario_file(file);
    ASSERT_TRUE(loaded.ok()) << loaded.describe();
    std::ostringstream out;
    ChromeTraceWriter chrome{out};
    CountingSink counted;
    FanoutSink both{&chrome, &counted};
    Result<RunReport> r = run_scenario(loaded.value(), {.extra_sink = &both});
    ASSERT_TRUE(r.ok()) << file << ": " << r.error().describe();
    chrome.finish(TimePoint{r->virtual_end});
    std::uint64_t starts = 0, ends = 0;
    const json doc = json::parse(out.str());
    for (const json& e : doc.at("traceEvents")) {
      starts += e.at("ph") == "s";
      ends += e.at("ph") == "f";
    }
    requests += counted.count(ev::provider_request);  // (tool-only workforces send none)
    EXPECT_EQ(starts, counted.count(ev::provider_request)) << file.filename();
    EXPECT_EQ(ends, starts) << file.filename();
  }
  EXPECT_GT(requests, 1000u);
}

// Fault windows are spans on "<target> faults" tracks (cut at the end), and the counter tracks
// end at the report's figures: requests sent and failed responses per provider.
TEST(ChromeTraceWriterTest, FaultWindowsAndCounterTracks) {
  const LoadResult loaded = load_scenario(kScenario, "chrome_trace_small");
  ASSERT_TRUE(loaded.ok()) << loaded.describe();
  std::ostringstream out;
  ChromeTraceWriter chrome{out};
  chrome.add_faults(loaded.value());
  Result<RunReport> r = run_scenario(loaded.value(), {.seed = 3, .extra_sink = &chrome});
  ASSERT_TRUE(r.ok()) << r.error().describe();
  chrome.finish(TimePoint{r->virtual_end});
  const Parsed p{out.str()};
  p.expect_no_overlap();

  const std::vector<json> windows = p.spans_where("fault");
  ASSERT_EQ(windows.size(), 2u);
  std::map<std::string, json> by_track;
  for (const json& w : windows) by_track[p.track_of(w)] = w;
  ASSERT_TRUE(by_track.contains("p1 faults"));
  ASSERT_TRUE(by_track.contains("search faults"));
  EXPECT_EQ(by_track["p1 faults"].at("name"), "fault: server_error");
  EXPECT_EQ(by_track["p1 faults"].at("ts"), 0.0);
  // until = the horizon (10 min), cut at the run's end
  EXPECT_DOUBLE_EQ(by_track["p1 faults"].at("dur").get<double>(), static_cast<double>(r->virtual_end.count()) / 1000.0);
  EXPECT_EQ(by_track["p1 faults"].at("args").at("cut_at_end"), true);
  EXPECT_EQ(by_track["search faults"].at("name"), "fault: error");

  std::map<std::string, json> last;  // counter name -> its last args
  for (const json& e : p.doc.at("traceEvents"))
    if (e.at("ph") == "C") last[e.at("name")] = e.at("args");
  for (const auto& [provider, calls] : r->calls) {
    EXPECT_EQ(last[provider + " requests"].at("sent"), calls) << provider;
    EXPECT_EQ(last[provider + " requests"].at("in_flight"), 0) << provider;
  }
  ASSERT_TRUE(last.contains("p1 failures"));
  EXPECT_EQ(last["p1 failures"].at("failed"), r->calls.at(0).second);  // p1 always fails
  EXPECT_FALSE(last.contains("p2 failures"));
}

}  // namespace
}  // namespace keel::scenarios
