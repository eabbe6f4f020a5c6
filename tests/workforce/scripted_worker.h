// A Worker whose every attempt follows a script: latency, then success / failure / empty
// output, or a hang that only cancellation ends. Records each attempt (task, attempt, time).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "keel/core/scheduler.h"
#include "keel/core/sleep.h"
#include "keel/workforce/worker.h"

namespace keel::workforce::testing {

struct Step {
  enum class Kind { ok, fail, hang, empty };
  Kind kind = Kind::ok;
  Duration latency = std::chrono::milliseconds{100};
  ErrorCode code = ErrorCode::server_error;
};

inline Step ok(Duration latency = std::chrono::milliseconds{100}) { return {Step::Kind::ok, latency}; }
inline Step fail(Duration latency = std::chrono::milliseconds{100}, ErrorCode code = ErrorCode::server_error) {
  return {Step::Kind::fail, latency, code};
}
inline Step hang() { return {Step::Kind::hang, {}}; }
inline Step empty(Duration latency = std::chrono::milliseconds{100}) { return {Step::Kind::empty, latency}; }

struct AttemptRecord {
  std::string task;
  int round = 0;
  int attempt = 0;
  TimePoint at{};
  std::vector<std::pair<std::string, std::string>> upstream;
};

class ScriptedWorker final : public Worker {
 public:
  using Script = std::function<Step(const WorkItem&)>;
  ScriptedWorker(std::string name, Script script) : name_(std::move(name)), script_(std::move(script)) {}

  std::string_view name() const noexcept override { return name_; }
  Task<Result<std::string>> run(WorkItem item) override {
    Scheduler& sched = co_await this_task::scheduler();
    attempts.push_back({item.task_id, item.round, item.attempt, sched.now(), item.upstream});
    const Step step = script_(item);
    if (step.kind == Step::Kind::hang) {
      Status s = co_await until_cancelled();
      co_return s.error();
    }
    if (Status s = co_await sleep_for(step.latency); !s) co_return s.error();
    if (step.kind == Step::Kind::fail) co_return Error(step.code, name_ + " failed");
    if (step.kind == Step::Kind::empty) co_return std::string{};
    std::string out = name_;
    out += ":";
    out += item.task_id;
    co_return out;
  }

  std::vector<AttemptRecord> attempts;

 private:
  std::string name_;
  Script script_;
};

}  // namespace keel::workforce::testing
