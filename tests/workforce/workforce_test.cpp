// Workforce in virtual time with scripted workers: the three modes, dependencies (never run
// on missing input), each recovery strategy, attempt timeouts, the result validator,
// stop_gracefully / stop_immediately / TERMINATE (in-flight cancelled in the same instant),
// pause / resume, caller cancellation, configuration errors, and exactly one terminal event
// per task.
#include "keel/workforce/workforce.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "keel/core/event.h"
#include "keel/core/spawn.h"
#include "keel/core/timeout.h"
#include "keel/sim/simulator.h"
#include "workforce/scripted_worker.h"

namespace keel::workforce {
namespace {

using namespace std::chrono_literals;
using testing::AttemptRecord;
using testing::ScriptedWorker;
using testing::Step;

TimePoint at(Duration d) { return TimePoint{d}; }

// Every attempt succeeds after 100 ms.
Step always_ok(const WorkItem&) { return testing::ok(); }

struct Harness {
  sim::Simulator sim;
  RecordingSink events;
  std::optional<WorkforceCounts> counts;

  void start(Workforce& wf) {
    spawn(sim, wf.run(), [this](WorkforceCounts c) { counts = c; });
  }
  void run(Workforce& wf) {
    start(wf);
    sim.run_until_idle();
  }
  // "workforce.task" events that end in a terminal state, per task id and round.
  std::map<std::pair<std::string, std::int64_t>, int> terminal_events() const {
    std::map<std::pair<std::string, std::int64_t>, int> n;
    for (const RecordedEvent& e : events.events()) {
      if (e.kind != "workforce.task") continue;
      const std::string to = *e.get<std::string>("to");
      if (to == "done" || to == "failed" || to == "skipped" || to == "cancelled") ++n[{*e.get<std::string>("task"), *e.get_int("round")}];
    }
    return n;
  }
};

const TaskOutcome& outcome(const Workforce& wf, std::string_view id, int round = 0) {
  for (const TaskOutcome& t : wf.outcomes()) {
    if (t.id == id && t.round == round) return t;
  }
  throw std::out_of_range(std::string(id));
}

FailureHandlingConfig no_jitter(FailureHandlingConfig f) {
  f.retry_delay = {.base = 1s, .max = 30s, .multiplier = 2.0, .jitter = policy::Jitter::none};
  return f;
}

// ---- modes and dependencies ------------------------------------------------------------------

TEST(WorkforceTest, ParallelRunsUpToMaxConcurrency) {
  Harness h;
  ScriptedWorker w{"w", always_ok};
  Workforce wf{{&w}, {{.id = "a"}, {.id = "b"}, {.id = "c"}}, {.max_concurrency = 2}, Rng{1}, &h.events};
  h.run(wf);
  ASSERT_TRUE(h.counts);
  EXPECT_EQ(h.counts->done, 3u);
  ASSERT_EQ(w.attempts.size(), 3u);
  EXPECT_EQ(w.attempts[0].at, at(0ms));
  EXPECT_EQ(w.attempts[1].at, at(0ms));
  EXPECT_EQ(w.attempts[2].at, at(100ms));  // waited for a slot
  EXPECT_EQ(outcome(wf, "c").output, "w:c");
  EXPECT_TRUE(wf.finished());
  EXPECT_EQ(h.sim.now(), at(200ms));
}

TEST(WorkforceTest, DependentStartsAfterItsDependencyAndGetsItsOutput) {
  Harness h;
  ScriptedWorker w{"w", always_ok};
  Workforce wf{{&w}, {{.id = "b", .depends_on = {"a"}}, {.id = "a", .input = "x"}}, {}, Rng{1}, &h.events};
  h.run(wf);
  ASSERT_EQ(w.attempts.size(), 2u);
  EXPECT_EQ(w.attempts[0].task, "a");
  EXPECT_EQ(w.attempts[1].task, "b");
  EXPECT_EQ(w.attempts[1].at, at(100ms));
  ASSERT_EQ(w.attempts[1].upstream.size(), 1u);
  EXPECT_EQ(w.attempts[1].upstream[0], (std::pair<std::string, std::string>{"a", "w:a"}));
}

TEST(WorkforceTest, PipelineRunsInOrderPassingEachOutputOn) {
  Harness h;
  ScriptedWorker w{"w", always_ok};
  Workforce wf{{&w}, {{.id = "one"}, {.id = "two"}, {.id = "three"}}, {.mode = Mode::pipeline}, Rng{1}, &h.events};
  h.run(wf);
  ASSERT_EQ(w.attempts.size(), 3u);
  EXPECT_EQ(w.attempts[1].at, at(100ms));
  EXPECT_EQ(w.attempts[2].at, at(200ms));
  ASSERT_EQ(w.attempts[2].upstream.size(), 1u);
  EXPECT_EQ(w.attempts[2].upstream[0].second, "w:two");
  EXPECT_TRUE(w.attempts[0].upstream.empty());
}

TEST(WorkforceTest, PipelineFailureSkipsTheRestWithTheReason) {
  Harness h;
  ScriptedWorker w{"w", [](const WorkItem& item) { return item.task_id == "two" ? testing::fail() : testing::ok(); }};
  Workforce wf{{&w}, {{.id = "one"}, {.id = "two"}, {.id = "three"}, {.id = "four"}},
               {.mode = Mode::pipeline, .failure = {.max_retries = 0}}, Rng{1}, &h.events};
  h.run(wf);
  EXPECT_EQ(outcome(wf, "one").state, TaskState::done);
  EXPECT_EQ(outcome(wf, "two").state, TaskState::failed);
  EXPECT_EQ(outcome(wf, "three").state, TaskState::skipped);
  EXPECT_EQ(outcome(wf, "three").reason, "dependency \"two\" failed");
  EXPECT_EQ(outcome(wf, "four").state, TaskState::skipped);
  EXPECT_EQ(outcome(wf, "four").reason, "dependency \"three\" skipped");
  EXPECT_EQ(outcome(wf, "four").attempts, 0);
  EXPECT_EQ(w.attempts.size(), 2u);  // never run on missing input
}

TEST(WorkforceTest, PipelineOrdersByDependenciesWhenTheListDoesNot) {
  Harness h;
  ScriptedWorker w{"w", always_ok};
  Workforce wf{{&w}, {{.id = "late", .depends_on = {"early"}}, {.id = "early"}}, {.mode = Mode::pipeline}, Rng{1}};
  h.run(wf);
  ASSERT_EQ(w.attempts.size(), 2u);
  EXPECT_EQ(w.attempts[0].task, "early");
}

TEST(WorkforceTest, LoopRunsEveryRoundAfterThePrevious) {
  Harness h;
  ScriptedWorker w{"w", always_ok};
  Workforce wf{{&w}, {{.id = "a"}, {.id = "b"}}, {.mode = Mode::loop, .rounds = 3}, Rng{1}, &h.events};
  h.run(wf);
  ASSERT_EQ(wf.outcomes().size(), 6u);
  EXPECT_EQ(h.counts->done, 6u);
  ASSERT_EQ(w.attempts.size(), 6u);
  EXPECT_EQ(w.attempts[2].round, 1);
  EXPECT_EQ(w.attempts[2].at, at(100ms));
  EXPECT_EQ(w.attempts[4].at, at(200ms));
  ASSERT_EQ(w.attempts[4].upstream.size(), 1u);  // its own previous-round output
  EXPECT_EQ(w.attempts[4].upstream[0].second, "w:a");
  EXPECT_EQ(h.events.count("workforce.round"), 3u);
}

TEST(WorkforceTest, LoopStopsWhenThePredicateHolds) {
  Harness h;
  ScriptedWorker w{"w", always_ok};
  WorkforceConfig cfg{.mode = Mode::loop, .rounds = 5};
  cfg.loop_until = [](int round, std::span<const TaskOutcome>) { return round == 1; };
  Workforce wf{{&w}, {{.id = "a"}}, cfg, Rng{1}, &h.events};
  h.run(wf);
  EXPECT_EQ(w.attempts.size(), 2u);
  EXPECT_EQ(h.counts->done, 2u);
  EXPECT_EQ(h.counts->skipped, 3u);
  EXPECT_EQ(outcome(wf, "a", 4).reason, "loop finished after round 1");
}

// ---- recovery strategies ---------------------------------------------------------------------

TEST(WorkforceTest, RetryWaitsTheBackoffThenSucceeds) {
  Harness h;
  ScriptedWorker w{"w", [](const WorkItem& item) { return item.attempt < 3 ? testing::fail() : testing::ok(); }};
  Workforce wf{{&w}, {{.id = "a"}}, {.failure = no_jitter({.max_retries = 3})}, Rng{1}, &h.events};
  h.run(wf);
  const TaskOutcome& a = outcome(wf, "a");
  EXPECT_EQ(a.state, TaskState::done);
  EXPECT_EQ(a.attempts, 3);
  ASSERT_EQ(w.attempts.size(), 3u);
  EXPECT_EQ(w.attempts[1].at, at(1100ms));  // failed at 100 ms, then 1 s
  EXPECT_EQ(w.attempts[2].at, at(3200ms));  // failed at 1.2 s, then 2 s
  EXPECT_EQ(wf.counters().retries, 2u);
  EXPECT_EQ(h.events.count("workforce.retry"), 2u);
  EXPECT_EQ(h.events.count("workforce.recovery"), 2u);
}

TEST(WorkforceTest, RetryJitterStaysWithinHalfToFullCeiling) {
  Harness h;
  ScriptedWorker w{"w", [](const WorkItem&) { return testing::fail(0ms); }};
  Workforce wf{{&w}, {{.id = "a"}}, {.failure = {.max_retries = 4}}, Rng{9}, &h.events};
  h.run(wf);
  ASSERT_EQ(w.attempts.size(), 5u);
  for (std::size_t k = 1; k < w.attempts.size(); ++k) {
    const Duration ceiling = std::chrono::seconds{1} * (1 << (k - 1));
    const Duration gap = w.attempts[k].at - w.attempts[k - 1].at;
    EXPECT_GE(gap, ceiling / 2) << k;
    EXPECT_LE(gap, ceiling) << k;
  }
}

TEST(WorkforceTest, RetriesExhaustedFailTheTaskAndSkipItsDependents) {
  Harness h;
  ScriptedWorker w{"w", [](const WorkItem& item) { return item.task_id == "a" ? testing::fail() : testing::ok(); }};
  Workforce wf{{&w}, {{.id = "a"}, {.id = "b", .depends_on = {"a"}}, {.id = "c", .depends_on = {"b"}}, {.id = "d"}},
               {.failure = {.max_retries = 2}}, Rng{1}, &h.events};
  h.run(wf);
  EXPECT_EQ(outcome(wf, "a").state, TaskState::failed);
  EXPECT_EQ(outcome(wf, "a").attempts, 3);
  ASSERT_TRUE(outcome(wf, "a").error);
  EXPECT_EQ(outcome(wf, "a").error->code, ErrorCode::server_error);
  EXPECT_EQ(outcome(wf, "b").state, TaskState::skipped);
  EXPECT_EQ(outcome(wf, "c").state, TaskState::skipped);
  EXPECT_EQ(outcome(wf, "d").state, TaskState::done);
  for (const AttemptRecord& r : w.attempts) EXPECT_NE(r.task, "b");
}

TEST(WorkforceTest, SkipEndsTheTaskSkippedAndTheRestGoesOn) {
  Harness h;
  ScriptedWorker w{"w", [](const WorkItem& item) { return item.task_id == "a" ? testing::fail() : testing::ok(); }};
  Workforce wf{{&w}, {{.id = "a"}, {.id = "b"}}, {.failure = {.max_retries = 0, .strategy = RecoveryStrategy::skip}},
               Rng{1}, &h.events};
  h.run(wf);
  EXPECT_EQ(outcome(wf, "a").state, TaskState::skipped);
  EXPECT_EQ(outcome(wf, "a").attempts, 1);
  EXPECT_EQ(outcome(wf, "b").state, TaskState::done);
}

TEST(WorkforceTest, FallbackTriesFallbackWorkersInOrderWithoutWaiting) {
  Harness h;
  ScriptedWorker primary{"primary", [](const WorkItem&) { return testing::fail(); }};
  ScriptedWorker second{"second", [](const WorkItem&) { return testing::fail(); }};
  ScriptedWorker third{"third", always_ok};
  Workforce wf{{&primary, &third, &second},
               {{.id = "a"}},
               {.failure = {.max_retries = 5, .strategy = RecoveryStrategy::fallback, .fallback_workers = {"second", "third"}}},
               Rng{1}, &h.events};
  h.run(wf);
  const TaskOutcome& a = outcome(wf, "a");
  EXPECT_EQ(a.state, TaskState::done);
  EXPECT_EQ(a.workers, (std::vector<std::string>{"primary", "second", "third"}));
  EXPECT_EQ(third.attempts.at(0).at, at(200ms));
  EXPECT_EQ(wf.counters().fallbacks, 2u);
  EXPECT_EQ(a.output, "third:a");
}

TEST(WorkforceTest, FallbackListExhaustedFails) {
  Harness h;
  ScriptedWorker primary{"primary", [](const WorkItem&) { return testing::fail(); }};
  ScriptedWorker backup{"backup", [](const WorkItem&) { return testing::fail(); }};
  Workforce wf{{&primary, &backup},
               {{.id = "a"}},
               {.failure = {.max_retries = 5, .strategy = RecoveryStrategy::fallback, .fallback_workers = {"backup"}}},
               Rng{1}};
  h.run(wf);
  EXPECT_EQ(outcome(wf, "a").state, TaskState::failed);
  EXPECT_EQ(outcome(wf, "a").attempts, 2);
  EXPECT_NE(outcome(wf, "a").reason.find("no fallback worker left"), std::string::npos);
}

TEST(WorkforceTest, FallbackIsBoundedByMaxRetries) {
  Harness h;
  ScriptedWorker a{"a", [](const WorkItem&) { return testing::fail(); }};
  ScriptedWorker b{"b", [](const WorkItem&) { return testing::fail(); }};
  ScriptedWorker c{"c", always_ok};
  Workforce wf{{&a, &b, &c},
               {{.id = "t", .worker = "a"}},
               {.failure = {.max_retries = 1, .strategy = RecoveryStrategy::fallback, .fallback_workers = {"b", "c"}}},
               Rng{1}};
  h.run(wf);
  EXPECT_EQ(outcome(wf, "t").state, TaskState::failed);
  EXPECT_EQ(outcome(wf, "t").attempts, 2);
  EXPECT_TRUE(c.attempts.empty());
}

TEST(WorkforceTest, ReassignMovesToTheNextCapableWorker) {
  Harness h;
  ScriptedWorker a{"a", [](const WorkItem&) { return testing::fail(); }};
  ScriptedWorker b{"b", always_ok};
  ScriptedWorker c{"c", always_ok};
  FailureHandlingConfig f{.max_retries = 3, .strategy = RecoveryStrategy::reassign};
  f.capable = [](std::string_view worker, std::string_view) { return worker != "b"; };
  Workforce wf{{&a, &b, &c}, {{.id = "t", .worker = "a"}}, {.failure = f}, Rng{1}};
  h.run(wf);
  EXPECT_EQ(outcome(wf, "t").workers, (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(outcome(wf, "t").state, TaskState::done);
  EXPECT_EQ(wf.counters().reassigns, 1u);
}

TEST(WorkforceTest, TerminateCancelsInFlightTasksInTheSameInstant) {
  Harness h;
  ScriptedWorker w{"w", [](const WorkItem& item) {
                     if (item.task_id == "bad") return testing::fail(300ms);
                     if (item.task_id == "slow") return testing::hang();
                     return testing::ok(5s);
                   }};
  Workforce wf{{&w},
               {{.id = "bad"}, {.id = "slow"}, {.id = "long"}, {.id = "later", .depends_on = {"long"}}, {.id = "queued"}},
               {.max_concurrency = 3, .failure = {.max_retries = 0, .strategy = RecoveryStrategy::terminate}},
               Rng{1}, &h.events};
  h.run(wf);
  EXPECT_TRUE(wf.terminated());
  EXPECT_EQ(outcome(wf, "bad").state, TaskState::failed);
  for (const char* id : {"slow", "long", "later", "queued"}) {
    SCOPED_TRACE(id);
    EXPECT_EQ(outcome(wf, id).state, TaskState::cancelled);
    EXPECT_EQ(outcome(wf, id).ended, at(300ms));
    EXPECT_NE(outcome(wf, id).reason.find("terminated: task \"bad\" failed"), std::string::npos);
  }
  EXPECT_EQ(w.attempts.size(), 3u);      // queued never started
  EXPECT_EQ(h.sim.now(), at(300ms));     // nothing waited for the hung or long attempts
  EXPECT_EQ(h.counts->cancelled, 4u);
}

TEST(WorkforceTest, TerminateRetriesFirst) {
  Harness h;
  ScriptedWorker w{"w", [](const WorkItem& item) { return item.attempt == 1 ? testing::fail() : testing::ok(); }};
  Workforce wf{{&w}, {{.id = "a"}}, {.failure = {.max_retries = 1, .strategy = RecoveryStrategy::terminate}}, Rng{1}};
  h.run(wf);
  EXPECT_FALSE(wf.terminated());
  EXPECT_EQ(outcome(wf, "a").state, TaskState::done);
}

TEST(WorkforceTest, OnFailureSeesEveryFailedAttemptAndItsDecision) {
  Harness h;
  ScriptedWorker w{"w", [](const WorkItem&) { return testing::fail(100ms, ErrorCode::rate_limited); }};
  std::vector<std::pair<int, RecoveryAction>> seen;
  FailureHandlingConfig f{.max_retries = 2};
  f.on_failure = [&](const FailureInfo& info) {
    EXPECT_EQ(info.error.code, ErrorCode::rate_limited);
    seen.emplace_back(info.attempt, info.action);
  };
  Workforce wf{{&w}, {{.id = "a"}}, {.failure = f}, Rng{1}};
  h.run(wf);
  EXPECT_EQ(seen, (std::vector<std::pair<int, RecoveryAction>>{
                      {1, RecoveryAction::retry}, {2, RecoveryAction::retry}, {3, RecoveryAction::fail}}));
}

// ---- timeouts and validation -----------------------------------------------------------------

TEST(WorkforceTest, TaskTimeoutReleasesAHungAttempt) {
  Harness h;
  ScriptedWorker w{"w", [](const WorkItem& item) { return item.attempt == 1 ? testing::hang() : testing::ok(); }};
  Workforce wf{{&w}, {{.id = "a"}}, {.failure = no_jitter({.max_retries = 1, .task_timeout = 5s})}, Rng{1}, &h.events};
  h.run(wf);
  EXPECT_EQ(outcome(wf, "a").state, TaskState::done);
  EXPECT_EQ(wf.counters().timeouts, 1u);
  EXPECT_EQ(w.attempts.at(1).at, at(6s));  // timed out at 5 s, retried 1 s later
}

TEST(WorkforceTest, EmptyResultIsAFailureByDefault) {
  Harness h;
  ScriptedWorker w{"w", [](const WorkItem&) { return testing::empty(); }};
  Workforce wf{{&w}, {{.id = "a"}}, {.failure = {.max_retries = 0}}, Rng{1}};
  h.run(wf);
  EXPECT_EQ(outcome(wf, "a").state, TaskState::failed);
  EXPECT_EQ(outcome(wf, "a").error->code, ErrorCode::malformed_response);
  EXPECT_EQ(wf.counters().rejected, 1u);
}

TEST(WorkforceTest, CustomValidatorAndNoValidator) {
  Harness h;
  ScriptedWorker w{"w", [](const WorkItem&) { return testing::empty(); }};
  FailureHandlingConfig accept_all{.max_retries = 0};
  accept_all.validator = nullptr;
  Workforce wf{{&w}, {{.id = "a"}}, {.failure = accept_all}, Rng{1}};
  FailureHandlingConfig picky{.max_retries = 0};
  picky.validator = [](const WorkItem&, std::string_view out) -> Status {
    if (out.find("w:") == 0) return Error(ErrorCode::invalid_request, "no prefixes");
    return {};
  };
  ScriptedWorker v{"w", always_ok};
  Workforce wf2{{&v}, {{.id = "b"}}, {.failure = picky}, Rng{1}};
  spawn(h.sim, wf2.run());
  h.run(wf);
  EXPECT_EQ(outcome(wf, "a").state, TaskState::done);
  EXPECT_EQ(outcome(wf2, "b").state, TaskState::failed);
  EXPECT_EQ(outcome(wf2, "b").error->message, "no prefixes");
}

// ---- stop, pause, cancellation ---------------------------------------------------------------

TEST(WorkforceTest, StopGracefullyFinishesInFlightAndStartsNothing) {
  Harness h;
  ScriptedWorker w{"w", [](const WorkItem&) { return testing::ok(1s); }};
  Workforce wf{{&w}, {{.id = "a"}, {.id = "b"}, {.id = "c", .depends_on = {"a"}}}, {.max_concurrency = 1}, Rng{1}, &h.events};
  h.start(wf);
  h.sim.run_until(at(500ms));
  wf.stop_gracefully();
  h.sim.run_until_idle();
  EXPECT_EQ(outcome(wf, "a").state, TaskState::done);
  EXPECT_EQ(outcome(wf, "a").ended, at(1s));
  EXPECT_EQ(outcome(wf, "b").state, TaskState::cancelled);
  EXPECT_EQ(outcome(wf, "c").state, TaskState::cancelled);
  EXPECT_EQ(w.attempts.size(), 1u);
  ASSERT_TRUE(h.counts);
}

TEST(WorkforceTest, StopGracefullyDoesNotRetry) {
  Harness h;
  ScriptedWorker w{"w", [](const WorkItem&) { return testing::fail(1s); }};
  Workforce wf{{&w}, {{.id = "a"}}, {.failure = {.max_retries = 3}}, Rng{1}};
  h.start(wf);
  h.sim.run_until(at(500ms));
  wf.stop_gracefully();
  h.sim.run_until_idle();
  EXPECT_EQ(outcome(wf, "a").state, TaskState::failed);
  EXPECT_EQ(outcome(wf, "a").attempts, 1);
}

TEST(WorkforceTest, StopGracefullyFromOnFailureStartsNoRetry) {
  Harness h;
  ScriptedWorker w{"w", [](const WorkItem&) { return testing::fail(); }};
  Workforce* self = nullptr;
  FailureHandlingConfig f{.max_retries = 3};
  f.on_failure = [&](const FailureInfo&) { self->stop_gracefully(); };
  Workforce wf{{&w}, {{.id = "a"}, {.id = "b", .depends_on = {"a"}}}, {.failure = f}, Rng{1}};
  self = &wf;
  h.run(wf);
  EXPECT_EQ(outcome(wf, "a").state, TaskState::failed);
  EXPECT_EQ(outcome(wf, "a").attempts, 1);
  EXPECT_EQ(outcome(wf, "b").state, TaskState::cancelled);
  EXPECT_EQ(h.sim.now(), at(100ms));
}

TEST(WorkforceTest, StopImmediatelyCancelsInFlightNow) {
  Harness h;
  ScriptedWorker w{"w", [](const WorkItem&) { return testing::ok(10s); }};
  Workforce wf{{&w}, {{.id = "a"}, {.id = "b"}}, {}, Rng{1}, &h.events};
  h.start(wf);
  h.sim.run_until(at(2s));
  wf.stop_immediately();
  h.sim.run_until_idle();
  EXPECT_EQ(outcome(wf, "a").state, TaskState::cancelled);
  EXPECT_EQ(outcome(wf, "b").ended, at(2s));
  EXPECT_EQ(h.sim.now(), at(2s));
  ASSERT_TRUE(h.counts);
  EXPECT_EQ(h.counts->cancelled, 2u);
}

TEST(WorkforceTest, StopWhileWaitingForARetryCancelsTheWait) {
  Harness h;
  ScriptedWorker w{"w", [](const WorkItem&) { return testing::fail(); }};
  Workforce wf{{&w}, {{.id = "a"}}, {.failure = no_jitter({.max_retries = 3})}, Rng{1}};
  h.start(wf);
  h.sim.run_until(at(500ms));  // failed at 100 ms, retry due at 1.1 s
  wf.stop_gracefully();
  h.sim.run_until_idle();
  EXPECT_EQ(outcome(wf, "a").state, TaskState::cancelled);
  EXPECT_EQ(outcome(wf, "a").reason, "stopped gracefully before a retry");
  EXPECT_EQ(h.sim.now(), at(500ms));
}

TEST(WorkforceTest, PauseHoldsNewAttemptsUntilResume) {
  Harness h;
  ScriptedWorker w{"w", [](const WorkItem& item) { return item.attempt == 1 && item.task_id == "a" ? testing::fail() : testing::ok(); }};
  Workforce wf{{&w}, {{.id = "a"}, {.id = "b", .depends_on = {"c"}}, {.id = "c"}}, {.failure = no_jitter({.max_retries = 1})},
               Rng{1}, &h.events};
  h.start(wf);
  h.sim.run_until(at(50ms));
  wf.pause();
  h.sim.run_until(at(10s));
  EXPECT_EQ(w.attempts.size(), 2u);  // a (fails) and c: b and a's retry wait
  EXPECT_EQ(outcome(wf, "c").state, TaskState::done);
  EXPECT_EQ(outcome(wf, "a").state, TaskState::waiting_retry);
  EXPECT_EQ(outcome(wf, "b").state, TaskState::ready);
  wf.resume();
  h.sim.run_until_idle();
  ASSERT_EQ(w.attempts.size(), 4u);
  EXPECT_EQ(w.attempts[2].at, at(10s));
  EXPECT_EQ(w.attempts[3].at, at(10s));
  EXPECT_EQ(h.counts->done, 3u);
}

Task<Result<WorkforceCounts>> run_within(Workforce& wf, Duration limit) {
  Result<WorkforceCounts> r = co_await with_timeout(wf.run(), limit);
  co_return r;
}

TEST(WorkforceTest, CancellingTheCallerStopsImmediately) {
  Harness h;
  ScriptedWorker w{"w", [](const WorkItem&) { return testing::hang(); }};
  Workforce wf{{&w}, {{.id = "a"}, {.id = "b", .depends_on = {"a"}}}, {}, Rng{1}};
  std::optional<Result<WorkforceCounts>> got;
  spawn(h.sim, run_within(wf, 3s), [&](Result<WorkforceCounts> r) { got = std::move(r); });
  h.sim.run_until_idle();
  ASSERT_TRUE(got);
  EXPECT_FALSE(got->ok());
  EXPECT_EQ(outcome(wf, "a").state, TaskState::cancelled);
  EXPECT_EQ(outcome(wf, "b").state, TaskState::cancelled);
  EXPECT_EQ(h.sim.now(), at(3s));
}

TEST(WorkforceTest, StopBeforeRunEndsEverythingCancelled) {
  Harness h;
  ScriptedWorker w{"w", always_ok};
  Workforce wf{{&w}, {{.id = "a"}}, {}, Rng{1}};
  wf.stop_immediately();
  h.run(wf);
  EXPECT_EQ(outcome(wf, "a").state, TaskState::cancelled);
  EXPECT_TRUE(w.attempts.empty());
}

// ---- configuration ---------------------------------------------------------------------------

std::string construction_error(std::vector<Worker*> workers, std::vector<TaskSpec> tasks, WorkforceConfig cfg = {}) {
  try {
    Workforce wf{std::move(workers), std::move(tasks), std::move(cfg), Rng{1}};
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

TEST(WorkforceTest, RejectsBadConfigurationsWithAClearMessage) {
  ScriptedWorker w{"w", always_ok};
  ScriptedWorker w2{"w", always_ok};
  EXPECT_EQ(construction_error({&w}, {{.id = "a", .depends_on = {"b"}}, {.id = "b", .depends_on = {"c"}}, {.id = "c", .depends_on = {"a"}}}),
            "dependency cycle: \"a\" -> \"b\" -> \"c\" -> \"a\" (each arrow: depends on)");
  EXPECT_EQ(construction_error({}, {{.id = "a"}}), "a workforce needs at least one worker");
  EXPECT_EQ(construction_error({&w, &w2}, {{.id = "a"}}), "duplicate worker name \"w\"");
  EXPECT_EQ(construction_error({&w}, {{.id = "a", .worker = "x"}}), "task \"a\" names unknown worker \"x\"");
  EXPECT_EQ(construction_error({&w}, {{.id = "a"}}, {.failure = {.fallback_workers = {"x"}}}), "unknown fallback worker \"x\"");
  EXPECT_EQ(construction_error({&w}, {{.id = "a"}, {.id = "a"}}), "duplicate task id \"a\"");
  EXPECT_EQ(construction_error({&w}, {{.id = "a"}}, {.max_concurrency = 0}), "max_concurrency must be >= 1");
  EXPECT_EQ(construction_error({&w}, {{.id = "a"}}, {.failure = {.max_retries = -1}}), "failure.max_retries must be >= 0");
  EXPECT_EQ(construction_error({&w}, {}), "a workforce needs at least one task");
}

TEST(WorkforceTest, UnassignedTasksGoRoundRobinOverNonFallbackWorkers) {
  Harness h;
  ScriptedWorker a{"a", always_ok}, b{"b", always_ok}, spare{"spare", always_ok};
  Workforce wf{{&a, &spare, &b}, {{.id = "t0"}, {.id = "t1"}, {.id = "t2"}, {.id = "t3", .worker = "spare"}},
               {.failure = {.fallback_workers = {"spare"}}}, Rng{1}};
  h.run(wf);
  EXPECT_EQ(outcome(wf, "t0").workers, std::vector<std::string>{"a"});
  EXPECT_EQ(outcome(wf, "t1").workers, std::vector<std::string>{"b"});
  EXPECT_EQ(outcome(wf, "t2").workers, std::vector<std::string>{"a"});
  EXPECT_EQ(outcome(wf, "t3").workers, std::vector<std::string>{"spare"});
}

// ---- exactly one terminal state --------------------------------------------------------------

TEST(WorkforceTest, EveryTaskHasExactlyOneTerminalEvent) {
  Harness h;
  ScriptedWorker w{"w", [](const WorkItem& item) { return item.task_id == "b" ? testing::fail() : testing::ok(); }};
  Workforce wf{{&w}, {{.id = "a"}, {.id = "b"}, {.id = "c", .depends_on = {"b"}}, {.id = "d", .depends_on = {"c", "a"}}},
               {.mode = Mode::loop, .rounds = 2, .failure = {.max_retries = 1}}, Rng{1}, &h.events};
  h.run(wf);
  const auto terminal = h.terminal_events();
  EXPECT_EQ(terminal.size(), 8u);
  for (const auto& [key, n] : terminal) EXPECT_EQ(n, 1) << key.first << " round " << key.second;
  for (const TaskOutcome& t : wf.outcomes()) {
    EXPECT_TRUE(is_terminal(t.state));
    EXPECT_FALSE(t.reason.empty());
    EXPECT_EQ(static_cast<std::size_t>(t.attempts), t.workers.size());
  }
  EXPECT_EQ(h.events.count("workforce.end"), 1u);
}

}  // namespace
}  // namespace keel::workforce
