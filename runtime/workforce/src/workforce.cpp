#include "keel/workforce/workforce.h"

#include "quoted.h"

#include <algorithm>
#include <array>
#include <map>
#include <stdexcept>

#include "keel/core/sleep.h"
#include "keel/core/spawn.h"
#include "keel/core/timeout.h"
#include "keel/workforce/task_graph.h"

namespace keel::workforce {

std::string_view to_string(Mode m) noexcept { return enum_name(kModeNames, m); }

std::string_view to_string(TaskState s) noexcept { return enum_name(kTaskStateNames, s); }

// One task instance (a task of the list, in one round).
struct Workforce::Run {
  std::size_t spec = 0;
  int round = 0;
  std::vector<std::size_t> deps;        // instance indices: the spec's, then the implicit one
  std::vector<std::size_t> dependents;  // instance indices, ascending
  std::size_t unmet = 0;                // deps not DONE yet
  std::optional<std::size_t> predecessor;    // PIPELINE: the instance before; LOOP: previous round
  std::size_t worker = 0;               // runs the next attempt
  std::vector<std::size_t> tried;       // workers that ran an attempt, in order
  policy::Backoff backoff;
  bool holds_slot = false;
  bool root_alive = false;
  TimePoint attempt_started{};
  std::unique_ptr<CancelSource> cancel;  // the current root's token
};

struct Workforce::Launch {
  Worker* worker;
  WorkItem item;
  Deadline deadline;
};

// Resumes run() once every task is terminal and every attempt coroutine has returned.
class Workforce::Completion {
 public:
  explicit Completion(Workforce& wf) : wf_(wf) {}
  Completion(const Completion&) = delete;
  Completion& operator=(const Completion&) = delete;
  ~Completion() {
    if (suspended_) wf_.waiter_ = {};  // run()'s frame torn down while waiting
  }
  bool await_ready() const noexcept { return wf_.complete(); }
  void await_suspend(std::coroutine_handle<> h) noexcept {
    suspended_ = true;
    wf_.waiter_ = h;
  }
  void await_resume() noexcept { suspended_ = false; }

 private:
  Workforce& wf_;
  bool suspended_ = false;
};

namespace {

std::string q(std::string_view s) { return detail::quoted(s); }

}  // namespace

Workforce::Workforce(std::vector<Worker*> workers, std::vector<TaskSpec> tasks, WorkforceConfig config, Rng rng,
                     EventSink* events)
    : workers_(std::move(workers)), specs_(std::move(tasks)), config_(std::move(config)), rng_(rng), events_(events) {
  if (workers_.empty()) throw std::invalid_argument("a workforce needs at least one worker");
  std::map<std::string_view, std::size_t> by_name;
  for (std::size_t w = 0; w < workers_.size(); ++w) {
    if (!workers_[w]) throw std::invalid_argument("worker " + std::to_string(w) + " is null");
    if (!by_name.emplace(workers_[w]->name(), w).second)
      throw std::invalid_argument("duplicate worker name " + q(workers_[w]->name()));
  }
  if (specs_.empty()) throw std::invalid_argument("a workforce needs at least one task");
  if (config_.failure.max_retries < 0) throw std::invalid_argument("failure.max_retries must be >= 0");
  if (config_.rounds < 1) throw std::invalid_argument("rounds must be >= 1");
  if (config_.max_concurrency && *config_.max_concurrency == 0) throw std::invalid_argument("max_concurrency must be >= 1");
  if (config_.mode != Mode::loop) config_.rounds = 1;
  Result<TaskGraph> graph = build_task_graph(specs_);
  if (!graph) throw std::invalid_argument(graph.error().message);

  for (const std::string& name : config_.failure.fallback_workers) {
    auto it = by_name.find(name);
    if (it == by_name.end()) throw std::invalid_argument("unknown fallback worker " + q(name));
    fallback_.push_back(it->second);
  }
  std::vector<std::size_t> primary;
  for (std::size_t w = 0; w < workers_.size(); ++w) {
    if (std::find(fallback_.begin(), fallback_.end(), w) == fallback_.end()) primary.push_back(w);
  }
  if (primary.empty()) {
    for (std::size_t w = 0; w < workers_.size(); ++w) primary.push_back(w);
  }
  const std::size_t n = specs_.size();
  std::vector<std::size_t> spec_worker(n);
  std::size_t next_auto = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (specs_[i].worker) {
      auto it = by_name.find(*specs_[i].worker);
      if (it == by_name.end())
        throw std::invalid_argument("task " + q(specs_[i].id) + " names unknown worker " + q(*specs_[i].worker));
      spec_worker[i] = it->second;
    } else {
      spec_worker[i] = primary[next_auto++ % primary.size()];
    }
  }

  // Instances: round-major; PIPELINE in topological order with each depending on the one before.
  std::vector<std::size_t> position(n);  // spec -> index within a round
  std::vector<std::size_t> order(n);
  for (std::size_t k = 0; k < n; ++k) order[k] = config_.mode == Mode::pipeline ? graph->order[k] : k;
  for (std::size_t k = 0; k < n; ++k) position[order[k]] = k;
  const std::size_t rounds = static_cast<std::size_t>(config_.rounds);
  runs_.resize(n * rounds);
  outcomes_.resize(n * rounds);
  round_left_.assign(rounds, n);
  for (std::size_t r = 0; r < rounds; ++r) {
    for (std::size_t k = 0; k < n; ++k) {
      const std::size_t i = r * n + k;
      const std::size_t s = order[k];
      Run& run = runs_[i];
      run.spec = s;
      run.round = static_cast<int>(r);
      run.worker = spec_worker[s];
      run.backoff = policy::Backoff{config_.failure.retry_delay};
      for (std::size_t d : graph->deps[s]) run.deps.push_back(r * n + position[d]);
      if (config_.mode == Mode::pipeline && k > 0) {
        run.predecessor = i - 1;
        if (std::find(run.deps.begin(), run.deps.end(), i - 1) == run.deps.end()) run.deps.push_back(i - 1);
      }
      if (config_.mode == Mode::loop && r > 0) run.predecessor = i - n;  // its previous round (not a dependency)
      run.unmet = run.deps.size();
      for (std::size_t d : run.deps) runs_[d].dependents.push_back(i);
      TaskOutcome& out = outcomes_[i];
      out.id = specs_[s].id;
      out.round = static_cast<int>(r);
    }
  }
  for (Run& run : runs_) std::sort(run.dependents.begin(), run.dependents.end());
  counts_.total = runs_.size();
}

Workforce::~Workforce() = default;

Task<WorkforceCounts> Workforce::run() {
  if (started_) throw std::logic_error("Workforce::run() may be called once");
  started_ = true;
  sched_ = &co_await this_task::scheduler();
  const CancelToken caller = co_await this_task::cancel_token();
  emit(events_, sched_->now(), ev::workforce_start,
       {{key::mode, to_string(config_.mode)}, {key::tasks, runs_.size()}, {key::workers, workers_.size()}});
  release_round(0);
  if (stop_ != StopKind::none) {  // stopped before run(): end everything now
    const StopKind how = std::exchange(stop_, StopKind::none);
    stop(how, "stopped before run()");
  }
  pump();
  {
    CancelCallback on_caller_cancel{caller, [this] { stop(StopKind::immediate, "the caller cancelled the workforce"); }};
    co_await Completion{*this};
  }
  emit(events_, sched_->now(), ev::workforce_end,
       {{key::done, counts_.done}, {key::failed, counts_.failed}, {key::skipped, counts_.skipped}, {key::cancelled, counts_.cancelled}});
  co_return counts_;
}

// ---- starting work ---------------------------------------------------------------------------

void Workforce::release_round(int round) {
  released_round_ = round;
  if (config_.mode == Mode::loop) emit(events_, sched_->now(), ev::workforce_round, {{key::round, round}});
  const std::size_t n = specs_.size();
  for (std::size_t i = static_cast<std::size_t>(round) * n; i < static_cast<std::size_t>(round + 1) * n; ++i) {
    if (!is_terminal(outcomes_[i].state) && runs_[i].unmet == 0) {
      set_state(i, TaskState::ready);
      ready_.insert(i);
    }
  }
}

void Workforce::pump() {
  if (!started_ || paused_ || stop_ != StopKind::none) return;
  while (!ready_.empty() && (!config_.max_concurrency || slots_ < *config_.max_concurrency)) {
    const std::size_t i = *ready_.begin();
    ready_.erase(ready_.begin());
    runs_[i].holds_slot = true;
    ++slots_;
    start_root(i, Duration::zero());
  }
}

void Workforce::start_root(std::size_t i, Duration delay) {
  Run& run = runs_[i];
  run.cancel = std::make_unique<CancelSource>();
  run.root_alive = true;
  ++roots_;
  spawn(
      *sched_, drive(i, delay), [this, i] { root_done(i); },
      [this, i](std::exception_ptr e) { root_threw(i, std::move(e)); }, run.cancel->token());
}

// A worker, validator or callback threw: the task fails (internal), the rest goes on.
void Workforce::root_threw(std::size_t i, std::exception_ptr e) {
  std::string what = "unknown exception";
  try {
    std::rethrow_exception(std::move(e));
  } catch (const std::exception& x) {
    what = x.what();
  } catch (...) {
  }
  const std::string why = "an exception escaped the attempt: " + what;
  finish(i, TaskState::failed, why, Error(ErrorCode::internal, why));
  root_done(i);
  pump();
}

void Workforce::root_done(std::size_t i) {
  runs_[i].root_alive = false;
  --roots_;
  maybe_wake();
}

Task<void> Workforce::drive(std::size_t i, Duration delay) {
  for (;;) {
    if (delay > Duration::zero()) {
      Status slept = co_await sleep_for(delay);
      if (!slept) co_return;  // cancelled: whoever cancelled has ended the task
    }
    std::optional<Launch> launch = begin_attempt(i);
    if (!launch) co_return;
    Result<std::string> result = co_await with_timeout(launch->worker->run(std::move(launch->item)), launch->deadline);
    std::optional<Duration> again = end_attempt(i, std::move(result));
    if (!again) co_return;
    delay = *again;
  }
}

std::optional<Workforce::Launch> Workforce::begin_attempt(std::size_t i) {
  Run& run = runs_[i];
  TaskOutcome& out = outcomes_[i];
  if (is_terminal(out.state)) return std::nullopt;
  if (paused_) {
    deferred_.insert(i);
    return std::nullopt;
  }
  const TimePoint now = sched_->now();
  Worker& worker = *workers_[run.worker];
  ++out.attempts;
  ++counters_.attempts;
  out.workers.emplace_back(worker.name());
  run.tried.push_back(run.worker);
  if (!out.started) out.started = now;
  run.attempt_started = now;
  set_state(i, TaskState::running);
  emit(events_, now, ev::workforce_attempt_start,
       {{key::task, out.id}, {key::round, out.round}, {key::attempt, out.attempts}, {key::worker, worker.name()}});

  WorkItem item{.task_id = out.id, .round = out.round, .attempt = out.attempts, .input = specs_[run.spec].input};
  for (std::size_t d : run.deps) {
    if (d != run.predecessor) item.upstream.emplace_back(outcomes_[d].id, outcomes_[d].output);
  }
  if (run.predecessor && outcomes_[*run.predecessor].state == TaskState::done) {
    const TaskOutcome& p = outcomes_[*run.predecessor];
    item.upstream.emplace_back(config_.mode == Mode::loop ? p.id + " (round " + std::to_string(p.round) + ")" : p.id,
                               p.output);
  }
  const Deadline deadline =
      config_.failure.task_timeout ? Deadline::after(now, *config_.failure.task_timeout) : Deadline::never();
  return Launch{&worker, std::move(item), deadline};
}

// ---- ending attempts -------------------------------------------------------------------------

std::optional<Duration> Workforce::end_attempt(std::size_t i, Result<std::string> result) {
  Run& run = runs_[i];
  TaskOutcome& out = outcomes_[i];
  if (is_terminal(out.state)) return std::nullopt;  // a stop ended it while the attempt returned
  const TimePoint now = sched_->now();
  const Status verdict = judge_attempt(i, result);
  const std::string_view code = verdict ? std::string_view{"ok"} : to_string(verdict.error().code);
  emit(events_, now, ev::workforce_attempt_end,
       {{key::task, out.id}, {key::round, out.round}, {key::attempt, out.attempts}, {key::worker, workers_[run.worker]->name()},
        {key::ok, verdict.ok()}, {key::code, code}, {key::duration, now - run.attempt_started}});
  if (!verdict) return recover(i, verdict.error(), now);
  out.output = std::move(result).value();
  finish(i, TaskState::done, "ok", std::nullopt);
  pump();
  maybe_wake();
  return std::nullopt;
}

// An attempt's verdict: its error, else the validator's (counted as timeouts and rejections).
Status Workforce::judge_attempt(std::size_t i, const Result<std::string>& result) {
  if (!result) {
    if (result.error().code == ErrorCode::timeout) ++counters_.timeouts;
    return result.error();
  }
  if (!config_.failure.validator) return {};
  const TaskOutcome& out = outcomes_[i];
  const WorkItem seen{.task_id = out.id, .round = out.round, .attempt = out.attempts, .input = specs_[runs_[i].spec].input};
  Status verdict = config_.failure.validator(seen, *result);
  if (!verdict) ++counters_.rejected;
  return verdict;
}

// A failed attempt: the strategy's decision (emitted, handed to on_failure), decided again when
// a graceful stop came meanwhile, then applied.
std::optional<Duration> Workforce::recover(std::size_t i, const Error& error, TimePoint now) {
  Run& run = runs_[i];
  TaskOutcome& out = outcomes_[i];
  const std::string_view worker_name = workers_[run.worker]->name();
  const RecoveryStrategy strategy = config_.failure.strategy;
  std::optional<std::size_t> other;
  if (strategy == RecoveryStrategy::fallback) other = next_fallback(run);
  if (strategy == RecoveryStrategy::reassign) other = next_capable(run);
  RecoveryDecision d = decide_recovery(strategy, config_.failure.max_retries, out.attempts, error.code,
                                       stop_ == StopKind::graceful, other);
  Duration delay{};
  if (d.action == RecoveryAction::retry) delay = run.backoff.next(rng_);
  const std::string_view next_name =
      d.next_worker ? workers_[*d.next_worker]->name()
                    : (d.action == RecoveryAction::retry ? worker_name : std::string_view{});
  emit(events_, now, ev::workforce_recovery,
       {{key::task, out.id}, {key::round, out.round}, {key::attempt, out.attempts}, {key::worker, worker_name},
        {key::code, error.code}, {key::strategy, to_string(strategy)}, {key::action, to_string(d.action)},
        {key::next_worker, next_name}, {key::delay, delay}, {key::why, d.why}});
  if (config_.failure.on_failure) {
    config_.failure.on_failure(FailureInfo{.task_id = out.id, .round = out.round, .attempt = out.attempts,
                                           .worker = worker_name, .error = error, .action = d.action,
                                           .next_worker = next_name, .delay = delay});
    if (is_terminal(out.state)) return std::nullopt;  // the callback stopped the workforce
  }
  if (stop_ == StopKind::graceful &&
      (d.action == RecoveryAction::retry || d.action == RecoveryAction::fallback || d.action == RecoveryAction::reassign)) {
    d = decide_recovery(strategy, config_.failure.max_retries, out.attempts, error.code, true, other);  // stopped meanwhile
    emit(events_, now, ev::workforce_recovery,
         {{key::task, out.id}, {key::round, out.round}, {key::attempt, out.attempts}, {key::worker, worker_name},
          {key::code, error.code}, {key::strategy, to_string(strategy)}, {key::action, to_string(d.action)},
          {key::next_worker, std::string_view{}}, {key::delay, Duration::zero()}, {key::why, d.why}});
  }
  return apply_recovery(i, d, error, delay, worker_name, now);
}

// Carries out a recovery decision: the delay before the next attempt, or nullopt when the task
// ended (or waits for resume()).
std::optional<Duration> Workforce::apply_recovery(std::size_t i, const RecoveryDecision& d, const Error& error,
                                                  Duration delay, std::string_view worker_name, TimePoint now) {
  Run& run = runs_[i];
  TaskOutcome& out = outcomes_[i];
  const std::string because = std::string(d.why) + " (" + error.describe() + ")";
  switch (d.action) {
    case RecoveryAction::retry:
      ++counters_.retries;
      emit(events_, now, ev::workforce_retry,
           {{key::task, out.id}, {key::round, out.round}, {key::attempt, out.attempts + 1}, {key::worker, worker_name},
            {key::delay, delay}});
      set_state(i, TaskState::waiting_retry);
      if (paused_ && delay == Duration::zero()) {
        deferred_.insert(i);
        return std::nullopt;
      }
      return delay;
    case RecoveryAction::fallback:
    case RecoveryAction::reassign:
      if (d.action == RecoveryAction::fallback) ++counters_.fallbacks;
      else ++counters_.reassigns;
      run.worker = *d.next_worker;
      set_state(i, TaskState::waiting_retry);
      if (paused_) {
        deferred_.insert(i);
        return std::nullopt;
      }
      return Duration::zero();
    case RecoveryAction::skip:
      finish(i, TaskState::skipped, because, error);
      break;
    case RecoveryAction::fail:
      finish(i, TaskState::failed, because, error);
      break;
    case RecoveryAction::cancel:
      finish(i, TaskState::cancelled, because, error);
      break;
    case RecoveryAction::terminate:
      finish(i, TaskState::failed, because, error);
      stop(StopKind::terminate, "terminated: task " + q(out.id) + " failed (" + error.describe() + ")");
      break;
  }
  pump();
  maybe_wake();
  return std::nullopt;
}

std::optional<std::size_t> Workforce::next_fallback(const Run& r) const {
  for (std::size_t w : fallback_) {
    if (std::find(r.tried.begin(), r.tried.end(), w) == r.tried.end()) return w;
  }
  return std::nullopt;
}

std::optional<std::size_t> Workforce::next_capable(const Run& r) const {
  const std::size_t n = workers_.size();
  for (std::size_t k = 1; k <= n; ++k) {
    const std::size_t w = (r.worker + k) % n;
    if (std::find(r.tried.begin(), r.tried.end(), w) != r.tried.end()) continue;
    if (config_.failure.capable && !config_.failure.capable(workers_[w]->name(), specs_[r.spec].id)) continue;
    return w;
  }
  return std::nullopt;
}

// ---- state changes ---------------------------------------------------------------------------

void Workforce::set_state(std::size_t i, TaskState to) {
  TaskOutcome& out = outcomes_[i];
  if (out.state == to) return;
  const TaskState from = out.state;
  out.state = to;
  emit(events_, sched_->now(), ev::workforce_task,
       {{key::task, out.id}, {key::round, out.round}, {key::from, to_string(from)}, {key::to, to_string(to)},
        {key::attempts, out.attempts}, {key::reason, std::string_view{}}});
}

void Workforce::finish(std::size_t first, TaskState to, std::string reason, std::optional<Error> error, bool cascade) {
  std::vector<int> rounds_done;
  // (instance, state, reason, error): the task itself, then dependents skipped in its wake.
  struct Ending {
    std::size_t i;
    TaskState to;
    std::string reason;
    std::optional<Error> error;
  };
  std::vector<Ending> work;
  work.push_back({first, to, std::move(reason), std::move(error)});
  while (!work.empty()) {
    Ending e = std::move(work.back());
    work.pop_back();
    Run& run = runs_[e.i];
    TaskOutcome& out = outcomes_[e.i];
    if (is_terminal(out.state)) continue;
    const TaskState from = out.state;
    out.state = e.to;
    out.reason = std::move(e.reason);
    out.error = std::move(e.error);
    out.ended = sched_->now();
    ready_.erase(e.i);
    deferred_.erase(e.i);
    if (run.holds_slot) {
      run.holds_slot = false;
      --slots_;
    }
    ++terminal_;
    switch (e.to) {
      case TaskState::done: ++counts_.done; break;
      case TaskState::failed: ++counts_.failed; break;
      case TaskState::skipped: ++counts_.skipped; break;
      default: ++counts_.cancelled; break;
    }
    emit(events_, *out.ended, ev::workforce_task,
         {{key::task, out.id}, {key::round, out.round}, {key::from, to_string(from)}, {key::to, to_string(e.to)},
          {key::attempts, out.attempts}, {key::reason, out.reason}});
    if (--round_left_[static_cast<std::size_t>(run.round)] == 0) rounds_done.push_back(run.round);
    if (e.to == TaskState::done) {
      for (std::size_t d : run.dependents) {
        if (--runs_[d].unmet == 0 && !is_terminal(outcomes_[d].state) && runs_[d].round <= released_round_ &&
            stop_ == StopKind::none) {
          set_state(d, TaskState::ready);
          ready_.insert(d);
        }
      }
    } else if (cascade) {
      const std::string why = "dependency " + q(out.id) + " " + std::string(to_string(e.to));
      for (auto it = run.dependents.rbegin(); it != run.dependents.rend(); ++it) {
        if (!is_terminal(outcomes_[*it].state)) work.push_back({*it, TaskState::skipped, why, out.error});
      }
    }
  }
  for (int r : rounds_done) round_complete(r);
}

void Workforce::round_complete(int round) {
  if (loop_over_ || stop_ != StopKind::none || round + 1 >= config_.rounds) return;
  const std::size_t n = specs_.size();
  const std::span<const TaskOutcome> these(outcomes_.data() + static_cast<std::size_t>(round) * n, n);
  if (config_.loop_until && config_.loop_until(round, these)) {
    loop_over_ = true;
    const std::string why = "loop finished after round " + std::to_string(round);
    for (std::size_t i = static_cast<std::size_t>(round + 1) * n; i < runs_.size(); ++i) {
      finish(i, TaskState::skipped, why, std::nullopt, false);
    }
    return;
  }
  release_round(round + 1);
}

// ---- control ---------------------------------------------------------------------------------

void Workforce::stop(StopKind how, std::string reason) {
  if (stop_ != StopKind::none && !(how != StopKind::graceful && stop_ == StopKind::graceful)) return;
  stop_ = how;
  static constexpr std::array<std::string_view, 4> kHow = {"none", "graceful", "immediate", "terminate"};
  static_assert(kHow.size() == static_cast<std::size_t>(StopKind::terminate) + 1, "a name for every StopKind");
  if (!sched_) return;  // run() not started: it will find the stop and end everything at once
  emit(events_, sched_->now(), ev::workforce_stop, {{key::how, kHow[static_cast<std::size_t>(how)]}, {key::reason, reason}});
  std::vector<std::size_t> to_cancel;
  for (std::size_t i = 0; i < runs_.size(); ++i) {
    const TaskState s = outcomes_[i].state;
    if (is_terminal(s) || (how == StopKind::graceful && s == TaskState::running)) continue;
    const bool between = s == TaskState::waiting_retry;
    const std::string why = how == StopKind::graceful
                                ? (between ? "stopped gracefully before a retry" : "stopped gracefully before start")
                                : reason;
    finish(i, TaskState::cancelled, why, Error(ErrorCode::cancelled, why), false);
    if (runs_[i].root_alive) to_cancel.push_back(i);
  }
  // After every state is final: cancelling resumes nothing inline, the roots return this instant.
  for (std::size_t i : to_cancel) runs_[i].cancel->cancel();
  maybe_wake();
}

void Workforce::stop_gracefully() { stop(StopKind::graceful, "stop_gracefully"); }
void Workforce::stop_immediately() { stop(StopKind::immediate, "stopped immediately"); }

void Workforce::pause() {
  if (paused_) return;
  paused_ = true;
  if (sched_) emit(events_, sched_->now(), ev::workforce_pause);
}

void Workforce::resume() {
  if (!paused_) return;
  paused_ = false;
  if (!sched_) return;
  emit(events_, sched_->now(), ev::workforce_resume);
  const std::set<std::size_t> waiting = std::exchange(deferred_, {});
  for (std::size_t i : waiting) {
    if (!is_terminal(outcomes_[i].state) && !runs_[i].root_alive) start_root(i, Duration::zero());
  }
  pump();
}

void Workforce::maybe_wake() {
  if (!waiter_ || wake_posted_ || !complete()) return;
  wake_posted_ = true;
  sched_->post([this] {
    wake_posted_ = false;
    if (auto h = std::exchange(waiter_, {}); h) h.resume();
  });
}

}  // namespace keel::workforce
