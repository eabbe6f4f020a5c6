// Properties of Workforce in virtual time, over random task DAGs (random list order, random
// worker assignment), modes (parallel with or without max_concurrency, pipeline, loop with
// 1..3 rounds), recovery strategies (all five), max_retries, fallback lists, per-attempt
// timeouts, seeded fault plans (per worker, task, round and attempt: success, failure, empty
// output, hang; random latency), random stop/pause/resume calls and seeded tie permutation:
//  - every task instance reaches exactly one terminal state (one terminal event, run() ends);
//  - no attempt starts before the task's dependencies are DONE (and, in LOOP mode, before the
//    previous round has ended);
//  - attempts per task <= 1 + max_retries; attempts in flight <= max_concurrency;
//  - FALLBACK tries the fallback workers in order (skipping the task's own worker);
//  - after TERMINATE no attempt starts and every task still open ends cancelled in that same
//    virtual instant, and nothing is left running after it;
//  - the same inputs and seed give the same event trace.
#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "keel/core/event.h"
#include "keel/core/rng.h"
#include "keel/core/sleep.h"
#include "keel/core/spawn.h"
#include "keel/sim/simulator.h"
#include "keel/workforce/workforce.h"

namespace keel::workforce {
namespace {

using namespace std::chrono_literals;

// A worker whose every attempt is decided by a seeded hash of (seed, worker, task, round,
// attempt): the fault plan is data, identical on every replay.
class PlannedWorker final : public Worker {
 public:
  PlannedWorker(std::string name, std::uint64_t seed, int fail_percent, bool hangs)
      : name_(std::move(name)), seed_(seed), fail_percent_(fail_percent), hangs_(hangs) {}
  std::string_view name() const noexcept override { return name_; }
  Task<Result<std::string>> run(WorkItem item) override {
    std::string key = name_;
    key += '/';
    key += item.task_id;
    Rng rng{seed_ ^ mix64(fnv1a64(key) + static_cast<std::uint64_t>(item.round) * 1000 +
                         static_cast<std::uint64_t>(item.attempt))};
    const Duration latency = std::chrono::milliseconds{100 * rng.uniform_int(0, 20)};
    const std::int64_t roll = rng.uniform_int(0, 99);
    if (hangs_ && roll < 5) {
      Status s = co_await until_cancelled();
      co_return s.error();
    }
    if (Status s = co_await sleep_for(latency); !s) co_return s.error();
    if (roll < fail_percent_) co_return Error(ErrorCode::server_error, "planned failure");
    if (roll < fail_percent_ + 5) co_return std::string{};  // empty: the validator rejects it
    std::string out = name_;
    out += ':';
    out += item.task_id;
    co_return out;
  }

 private:
  std::string name_;
  std::uint64_t seed_;
  int fail_percent_;
  bool hangs_;
};

enum class Control { none, stop_gracefully, stop_immediately, pause_resume };

struct Case {
  std::uint64_t seed = 1;
  std::vector<TaskSpec> tasks;
  std::size_t workers = 1;
  std::vector<int> fail_percent;
  bool hangs = false;
  WorkforceConfig config;
  Control control = Control::none;
  Duration control_at{};
  Duration resume_after{};
};

std::ostream& operator<<(std::ostream& os, const Case& c) {
  os << "seed " << c.seed << ", " << c.workers << " workers, mode " << to_string(c.config.mode) << ", rounds "
     << c.config.rounds << ", max_concurrency " << (c.config.max_concurrency ? std::to_string(*c.config.max_concurrency) : "-")
     << ", strategy " << to_string(c.config.failure.strategy) << ", max_retries " << c.config.failure.max_retries
     << ", control " << static_cast<int>(c.control) << " at " << c.control_at.count() << "ns\n";
  for (const TaskSpec& t : c.tasks) {
    os << "  " << t.id << (t.worker ? " @" + *t.worker : "") << " <-";
    for (const auto& d : t.depends_on) os << " " << d;
    os << "\n";
  }
  return os;
}

std::string worker_name(std::size_t w) { return "w" + std::to_string(w); }

Case gen_case() {
  Case c;
  c.seed = *rc::gen::arbitrary<std::uint64_t>();
  c.workers = *rc::gen::inRange<std::size_t>(1, 5);
  for (std::size_t w = 0; w < c.workers; ++w) c.fail_percent.push_back(*rc::gen::element(0, 20, 50, 90));
  c.hangs = *rc::gen::arbitrary<bool>();
  // A DAG over 1..10 tasks (dependencies on lower numbers), listed in a random order.
  const std::size_t n = *rc::gen::inRange<std::size_t>(1, 11);
  std::vector<TaskSpec> tasks(n);
  for (std::size_t i = 0; i < n; ++i) {
    tasks[i].id = "t" + std::to_string(i);
    tasks[i].input = "do " + tasks[i].id;
    for (std::size_t j = 0; j < i; ++j) {
      if (*rc::gen::inRange(0, 100) < 25) tasks[i].depends_on.push_back("t" + std::to_string(j));
    }
    if (*rc::gen::arbitrary<bool>()) tasks[i].worker = worker_name(*rc::gen::inRange<std::size_t>(0, c.workers));
  }
  const auto order = *rc::gen::unique<std::vector<std::size_t>>(n, rc::gen::inRange<std::size_t>(0, n));
  for (std::size_t k : order) c.tasks.push_back(tasks[k]);

  c.config.mode = *rc::gen::element(Mode::parallel, Mode::pipeline, Mode::loop);
  if (c.config.mode == Mode::loop) c.config.rounds = *rc::gen::inRange(1, 4);
  if (*rc::gen::arbitrary<bool>()) c.config.max_concurrency = *rc::gen::inRange<std::size_t>(1, 5);
  FailureHandlingConfig& f = c.config.failure;
  f.max_retries = *rc::gen::inRange(0, 4);
  f.strategy = *rc::gen::element(RecoveryStrategy::retry, RecoveryStrategy::skip, RecoveryStrategy::fallback,
                                 RecoveryStrategy::terminate, RecoveryStrategy::reassign);
  f.retry_delay = {.base = 500ms, .max = 4s, .multiplier = 2.0, .jitter = *rc::gen::element(policy::Jitter::equal, policy::Jitter::full)};
  for (std::size_t w = 0; w < c.workers; ++w) {
    if (*rc::gen::arbitrary<bool>()) f.fallback_workers.push_back(worker_name(w));
  }
  if (*rc::gen::arbitrary<bool>()) f.task_timeout = std::chrono::milliseconds{500 * *rc::gen::inRange(1, 6)};
  if (!f.task_timeout) c.hangs = false;  // a hang without a timeout never ends, by design
  c.control = *rc::gen::element(Control::none, Control::none, Control::stop_gracefully, Control::stop_immediately,
                                Control::pause_resume);
  c.control_at = std::chrono::milliseconds{100 * *rc::gen::inRange(0, 60)};
  c.resume_after = std::chrono::milliseconds{100 * *rc::gen::inRange(0, 60)};
  return c;
}

struct Outcome {
  std::vector<RecordedEvent> events;
  std::vector<TaskOutcome> tasks;
  bool finished = false;
  bool terminated = false;
  TimePoint end{};
};

Outcome run_case(const Case& c) {
  Outcome out;
  RecordingSink events;
  std::vector<std::unique_ptr<PlannedWorker>> owned;
  std::vector<Worker*> workers;
  for (std::size_t w = 0; w < c.workers; ++w) {
    owned.push_back(std::make_unique<PlannedWorker>(worker_name(w), c.seed, c.fail_percent[w], c.hangs));
    workers.push_back(owned.back().get());
  }
  {
    sim::Simulator sim{{.seed = c.seed, .permute_ties = true}};
    Workforce wf{workers, c.tasks, c.config, Rng{c.seed}.substream("workforce"), &events};
    bool returned = false;
    spawn(sim, wf.run(), [&](WorkforceCounts) { returned = true; });
    if (c.control != Control::none) {
      sim.run_until(TimePoint{c.control_at});
      switch (c.control) {
        case Control::stop_gracefully: wf.stop_gracefully(); break;
        case Control::stop_immediately: wf.stop_immediately(); break;
        case Control::pause_resume:
          wf.pause();
          sim.run_until(TimePoint{c.control_at + c.resume_after});
          wf.resume();
          break;
        case Control::none: break;
      }
    }
    sim.run_until_idle();
    out.finished = returned && wf.finished();
    out.terminated = wf.terminated();
    out.end = sim.now();
    out.tasks.assign(wf.outcomes().begin(), wf.outcomes().end());
  }
  out.events = events.events();
  return out;
}

std::string text(const RecordedEvent& e) {
  std::ostringstream os;
  os << e.time.time_since_epoch().count() << " " << e.kind;
  for (const RecordedAttr& a : e.attrs) {
    os << " " << a.key << "=";
    std::visit([&](const auto& v) { os << v; }, a.value);
  }
  return os.str();
}

bool terminal_name(const std::string& s) { return s == "done" || s == "failed" || s == "skipped" || s == "cancelled"; }

using Key = std::pair<std::string, std::int64_t>;  // task id, round

Key key_of(const RecordedEvent& e) { return {*e.get<std::string>("task"), *e.get_int("round")}; }

RC_GTEST_PROP(WorkforceProperties, EveryTaskEndsOnceAndDependenciesComeFirst, ()) {
  const Case c = gen_case();
  RC_LOG() << c;
  RC_TAG(to_string(c.config.mode));
  const Outcome o = run_case(c);
  RC_ASSERT(o.finished);
  const std::size_t rounds = static_cast<std::size_t>(c.config.mode == Mode::loop ? c.config.rounds : 1);
  RC_ASSERT(o.tasks.size() == c.tasks.size() * rounds);

  // Terminal events: exactly one per instance, matching its outcome; event index of each.
  std::map<Key, std::size_t> ended_at;
  std::map<Key, std::string> ended_as;
  std::map<Key, int> attempts;
  std::map<Key, std::size_t> first_attempt;
  for (std::size_t k = 0; k < o.events.size(); ++k) {
    const RecordedEvent& e = o.events[k];
    if (e.kind == "workforce.task" && terminal_name(*e.get<std::string>("to"))) {
      RC_ASSERT(ended_at.emplace(key_of(e), k).second);
      ended_as[key_of(e)] = *e.get<std::string>("to");
    }
    if (e.kind == "workforce.attempt.start") {
      RC_ASSERT(!ended_at.count(key_of(e)));  // never after its end
      ++attempts[key_of(e)];
      first_attempt.try_emplace(key_of(e), k);
    }
  }
  // Attempts in flight never exceed max_concurrency (PIPELINE: one).
  std::optional<std::size_t> limit = c.config.max_concurrency;
  if (c.config.mode == Mode::pipeline) limit = 1;
  std::set<Key> open;  // attempt started, neither its end nor its task's end seen yet
  for (const RecordedEvent& e : o.events) {
    if (e.kind == "workforce.attempt.start") open.insert(key_of(e));
    if (e.kind == "workforce.attempt.end") open.erase(key_of(e));
    if (e.kind == "workforce.task" && terminal_name(*e.get<std::string>("to"))) open.erase(key_of(e));  // cancelled in flight
    if (limit) RC_ASSERT(open.size() <= *limit);
  }
  for (const TaskOutcome& t : o.tasks) {
    const Key key{t.id, t.round};
    RC_ASSERT(is_terminal(t.state));
    RC_ASSERT(ended_at.count(key) == 1u);
    RC_ASSERT(ended_as[key] == std::string(to_string(t.state)));
    RC_ASSERT(t.attempts == attempts[key]);
    RC_ASSERT(t.attempts <= 1 + c.config.failure.max_retries);
    RC_ASSERT(static_cast<std::size_t>(t.attempts) == t.workers.size());
    if (t.state == TaskState::done) RC_ASSERT(t.attempts >= 1);
  }

  // Dependencies (and the pipeline predecessor, and the previous round) end DONE before any attempt.
  std::map<std::string, const TaskSpec*> spec;
  for (const TaskSpec& t : c.tasks) spec[t.id] = &t;
  std::vector<std::string> pipeline_order;  // by first attempt or end, for the predecessor check
  for (const auto& [key, k] : first_attempt) {
    for (const std::string& d : spec[key.first]->depends_on) {
      const Key dep{d, key.second};
      RC_ASSERT(ended_at.count(dep) == 1u);
      RC_ASSERT(ended_at[dep] < k);
      RC_ASSERT(ended_as[dep] == "done");
    }
    if (c.config.mode == Mode::loop && key.second > 0) {
      for (const TaskSpec& t : c.tasks) RC_ASSERT(ended_at[Key(t.id, key.second - 1)] < k);
    }
    if (c.config.mode == Mode::pipeline) {
      // Every other task that started did so strictly before this one ended or after it ended.
      for (const auto& [other, j] : first_attempt) {
        if (other == key || j < k) continue;
        RC_ASSERT(ended_at[key] < j);  // one at a time
      }
    }
  }
  // A task ended other than DONE: its dependents never ran.
  for (const TaskSpec& t : c.tasks) {
    for (std::size_t r = 0; r < rounds; ++r) {
      const Key key(t.id, static_cast<std::int64_t>(r));
      bool deps_done = true;
      for (const std::string& d : t.depends_on) deps_done = deps_done && ended_as[Key(d, key.second)] == "done";
      if (!deps_done) RC_ASSERT(attempts[key] == 0);
    }
  }
}

RC_GTEST_PROP(WorkforceProperties, FallbackWorkersAreTriedInOrder, ()) {
  Case c = gen_case();
  RC_LOG() << c;
  c.config.failure.strategy = RecoveryStrategy::fallback;
  const Outcome o = run_case(c);
  RC_ASSERT(o.finished);
  for (const TaskOutcome& t : o.tasks) {
    if (t.workers.empty()) continue;
    std::vector<std::string> expected;
    for (const std::string& w : c.config.failure.fallback_workers) {
      if (w != t.workers.front()) expected.push_back(w);
    }
    for (std::size_t k = 1; k < t.workers.size(); ++k) {
      RC_ASSERT(k - 1 < expected.size());
      RC_ASSERT(t.workers[k] == expected[k - 1]);
    }
  }
}

RC_GTEST_PROP(WorkforceProperties, TerminateStopsEverythingInTheSameInstant, ()) {
  Case c = gen_case();
  RC_LOG() << c;
  c.config.failure.strategy = RecoveryStrategy::terminate;
  c.control = Control::none;
  const Outcome o = run_case(c);
  RC_ASSERT(o.finished);
  std::optional<std::size_t> stop;
  for (std::size_t k = 0; k < o.events.size(); ++k) {
    if (o.events[k].kind == "workforce.stop") {
      RC_ASSERT(!stop);
      stop = k;
      RC_ASSERT(*o.events[k].get<std::string>("how") == "terminate");
    }
  }
  RC_ASSERT(stop.has_value() == o.terminated);
  if (!stop) return;
  RC_TAG("terminated");
  const TimePoint t = o.events[*stop].time;
  for (std::size_t k = *stop + 1; k < o.events.size(); ++k) {
    const RecordedEvent& e = o.events[k];
    RC_ASSERT(e.kind != "workforce.attempt.start");
    RC_ASSERT(e.time == t);  // every open task ended, every attempt returned, in this instant
    if (e.kind == "workforce.task") RC_ASSERT(*e.get<std::string>("to") == "cancelled");
  }
  RC_ASSERT(o.end == t);
}

RC_GTEST_PROP(WorkforceProperties, SameSeedSameTrace, ()) {
  const Case c = gen_case();
  RC_LOG() << c;
  const Outcome a = run_case(c);
  const Outcome b = run_case(c);
  RC_ASSERT(a.events.size() == b.events.size());
  for (std::size_t k = 0; k < a.events.size(); ++k) RC_ASSERT(text(a.events[k]) == text(b.events[k]));
}

}  // namespace
}  // namespace keel::workforce
