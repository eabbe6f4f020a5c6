// keel/scenarios/chrome_trace.h — a run's event stream as a Chrome trace (opens in Perfetto).
//
// Purpose: `keel run --chrome-trace F`. Turns the runtime's events (keel/core/event.h) into the
// Chrome trace-event JSON format ({"traceEvents": [...]}) so that a run can be looked at on a
// timeline in https://ui.perfetto.dev or chrome://tracing: what each provider was doing, which
// step each agent was in, where the backoffs were, when breakers opened and calls fell back.
//
// Layout (pid = a group of tracks, tid = one track; names via "M" metadata events):
//  - pid 1 "providers": per provider P, a track "P" with one "X" span per attempt
//    (provider.request -> provider.response of the same target and index; named "ok" or by the
//    error code, args: index, prompt_tokens, fault, status); a track "P backoff" with one span
//    per retry backoff (retry.decision with reason "retry": `delay` long from the decision);
//    a track "P events" with "i" instants for breaker transitions ("breaker closed -> open"),
//    fallbacks away from P ("fallback -> Q") and context-window skips.
//  - pid 2 "agents": one track per agent, "agent 1", "agent 2", ... with one span per step
//    (agent.step.start -> agent.step.end); context summarize/truncate and hedge events are
//    process-wide instants there.
//  - pid 3 "tools": per tool T, a track "T" with one span per tool call (the first tool.start
//    of a call_id -> its tool.end; args: call_id, attempts, ok, code) and "T backoff" tracks.
//  - Fault windows (add_faults): per provider P a track "P faults" with one span per scenario
//    fault aimed at P (or at "*"), named "fault: <kind>", [from, until) cut at the end time;
//    tool faults on a "T faults" track. Overlapping windows spill onto lanes like other spans.
//  - Counter tracks (pid 1): "P requests" {sent (so far), in_flight} at every provider.request
//    and provider.response of P; "P failures" {failed (so far)} at every failed response.
//
// Contract:
//  - Timestamps ("ts", "dur") are virtual time in microseconds, exact to the nanosecond (three
//    decimals). Output is deterministic: the same event stream gives the same bytes.
//  - Spans on one track never overlap (Perfetto rejects overlapping "X" events on a thread):
//    when spans of one kind overlap in time — concurrent requests to one provider, concurrent
//    calls of one tool — they spill onto extra lanes "P (2)", "P (3)", ..., each its own tid,
//    sorted next to the first. A lane is reused as soon as it is free.
//  - Steps go on the track of their `agent` id (docs/events.md) while that track is free; an
//    event without one (or whose agent's track is busy: a workforce numbers agents per worker)
//    is attributed by the agent's step sequence: a step k starts on an idle agent that finished
//    step k-1 (preferring one that finished it at that instant); a new agent track is opened
//    for step 1. The spans themselves are exact.
//  - Flow arrows (ph "s" -> "f", cat "call"): each provider.request that names its agent and
//    step links that step's span to the attempt's span, so a step leads to its provider calls.
//  - Spans still open at finish() (hung requests, unfinished steps) are closed at the end time
//    passed to finish() (default: the last event's time) with arg "unfinished": true.
//  - The document is complete only after finish() (the destructor calls it). Events after
//    finish() are ignored. Not thread-safe: one writer per run, like every sink.
//
// Example:
//   std::ofstream out{"run.trace.json"};
//   ChromeTraceWriter chrome{out};
//   Result<RunReport> r = run_scenario(scenario, {.seed = 7, .extra_sink = &chrome});
//   chrome.finish(TimePoint{r->virtual_end});   // then open run.trace.json in ui.perfetto.dev
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "keel/core/event.h"
#include "keel/core/time.h"
#include "keel/scenarios/scenario.h"

namespace keel::scenarios {

class ChromeTraceWriter final : public EventSink {
 public:
  explicit ChromeTraceWriter(std::ostream& out);
  ~ChromeTraceWriter() override;
  ChromeTraceWriter(const ChromeTraceWriter&) = delete;
  ChromeTraceWriter& operator=(const ChromeTraceWriter&) = delete;

  void on_event(const Event& e) override;

  // Closes the spans still open at `end` (default: the last event's time), then writes the end
  // of the document. Idempotent.
  void finish(std::optional<TimePoint> end = std::nullopt);

  // The scenario's fault windows, drawn at finish() (until defaults to the horizon). Also fixes
  // the order of the provider and tool tracks to the scenario's. Call before the run.
  void add_faults(const Scenario& scenario);

  // Trace events written so far (metadata included).
  std::uint64_t events_written() const noexcept { return written_; }

 private:
  enum class Pid : int { providers = 1, agents = 2, tools = 3 };

  struct Lane {
    int tid = 0;
    bool open = false;     // an open span occupies it
    TimePoint free_at{};   // the end of its last span
  };
  // A named set of lanes: one track, spilling onto more when its spans overlap.
  struct Track {
    std::string key;
    Pid pid = Pid::providers;
    std::string name;
    int sort_base = 0;
    std::vector<Lane> lanes;
  };
  struct OpenSpan {
    std::uint64_t order = 0;  // creation order, for finish()
    std::string track;        // key into tracks_
    std::size_t lane = 0;
    TimePoint start{};
    std::string name;
    std::string cat;
    nlohmann::json args;
  };
  struct Agent {
    int tid = 0;
    std::int64_t id = 0;         // the events' `agent` id (0: none seen)
    std::int64_t completed = 0;  // last step index ended
    bool open = false;
    std::int64_t open_step = 0;
    TimePoint open_start{};
    TimePoint last_end{};
  };

  // Track registry: `key` names the track, e.g. "provider:gpt", "backoff:gpt", "tool:search".
  Track& track(const std::string& key, Pid pid, const std::string& name, int sort_base);
  int provider_rank(const std::string& provider);
  int tool_rank(const std::string& tool);
  Track& provider_track(const std::string& provider);
  Track& provider_backoff_track(const std::string& provider);
  Track& provider_events_track(const std::string& provider);
  Track& tool_track(const std::string& tool);
  Track& tool_backoff_track(const std::string& tool);
  // The first lane free at `at` (a new one if none), marked open or busy until `busy_until`.
  std::size_t acquire_lane(Track& t, TimePoint at, std::optional<TimePoint> busy_until);

  void open_span(const std::string& key, Track& t, TimePoint at, std::string name, std::string cat, nlohmann::json args);
  void close_span(const std::string& key, TimePoint at, std::optional<std::string> name, const nlohmann::json& more_args);
  void emit_span(Pid pid, int tid, TimePoint start, TimePoint end, const std::string& name, const std::string& cat,
                 const nlohmann::json& args);
  void emit_instant(Pid pid, std::optional<int> tid, TimePoint at, const std::string& name, const std::string& cat,
                    const nlohmann::json& args);
  void ensure_process(Pid pid);
  void name_thread(Pid pid, int tid, const std::string& name, int sort_index);
  void write(const nlohmann::json& event);

  Track& faults_track(const std::string& target);
  void emit_fault_windows(TimePoint end);
  void count_request(const std::string& provider, bool response, bool failed, TimePoint at);

  void link_to_step(const Event& e, const std::string& span_key);

  void on_agent_step_start(const Event& e);
  void on_agent_step_end(const Event& e);

  std::ostream& out_;
  bool finished_ = false;
  std::uint64_t written_ = 0;
  std::uint64_t span_order_ = 0;
  int next_tid_ = 1;
  TimePoint last_seen_{};
  std::vector<bool> process_named_ = std::vector<bool>(4, false);
  std::map<std::string, Track, std::less<>> tracks_;
  std::map<std::string, int, std::less<>> provider_ranks_, tool_ranks_;
  std::map<std::string, OpenSpan, std::less<>> open_;
  std::vector<Agent> agents_;
  struct FaultWindow {
    std::string target;  // a provider or "tool:<name>", never "*" (expanded)
    std::size_t index = 0;
    std::string kind;
    TimePoint from{}, until{};
  };
  std::vector<FaultWindow> faults_;
  struct ProviderCounts {
    std::int64_t sent = 0, in_flight = 0, failed = 0;
  };
  std::map<std::string, ProviderCounts, std::less<>> counts_;
  std::uint64_t next_flow_ = 1;
};

}  // namespace keel::scenarios
