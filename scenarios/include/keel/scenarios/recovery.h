// keel/scenarios/recovery.h — how fast a run recovered from each provider fault.
//
// Purpose: the recovery measures of a run (FORMAT.md, "Recovery"), computed by one sink over
// the run's event stream plus the tasks' start/end times: for every provider fault window
// [from, until),
//   detect          from `from` to the first moment the runtime stops leaning on the target:
//                   its breaker opens ("breaker.state" to open) or a call falls back away from
//                   it ("model.fallback" from it), whichever comes first;
//   restore         from `from` to the end of the first task that started at or after `from`
//                   and succeeded (the earliest-started one; ties: the earliest end);
//   back_on_primary from `until` to the first successful answer by the target
//                   ("model.call.end" ok with model = target), only for a target first in a
//                   model chain and a window ending before the horizon.
// Each is nullopt where it did not happen (or, for back_on_primary, does not apply).
//
// Contract:
//  - Windows are the scenario's provider faults in file order (tool faults have none); a fault
//    without `until` ends at the horizon. Target "*" matches every provider (detect: any;
//    back_on_primary: any chain's first provider).
//  - detect counts events at or after `from` and before the next window on the same target
//    starts (or the horizon): a silent fault is often detected after it ended (the attempt
//    timeout outlives the window), and that still is its detection.
//  - Also counted per window: model attempts that started in [from, until) (`attempts`) and
//    the tasks that started in it and succeeded (`tasks_ok`): calls spent per recovered task.
//  - Event times are run time; `time_scale` (live runs) converts them to scenario time, in
//    which every reported figure is. Tasks are given in scenario time.
//  - Cost: one kind comparison per event when the scenario has no provider fault; never
//    allocates after construction.
//
// Example:
//   RecoveryMeter meter{scenario.faults, scenario.horizon, {"openai"}};
//   FanoutSink sinks{&trace, &meter};                // run the scenario into `sinks`
//   meter.on_task(started, ended, /*succeeded=*/true);  // every task, after the run
//   for (const RecoveryWindow& w : meter.windows()) print(w.fault, w.detect, w.restore);
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "keel/core/event.h"
#include "keel/core/time.h"
#include "keel/faults/fault_spec.h"

namespace keel::scenarios {

struct RecoveryWindow {
  std::size_t fault = 0;  // index in the scenario's `faults`
  std::string target;     // a provider name or "*"
  Duration from{}, until{};
  bool primary = false;   // the target is first in a model chain (or "*")
  bool ends_before_horizon = false;
  std::optional<Duration> detect, restore, back_on_primary;
  std::int64_t attempts = 0;  // model attempts (any provider) started in [from, until)
  std::int64_t tasks_ok = 0;  // tasks started in [from, until) that succeeded
  // back_on_primary is defined for this window (primary target, ends before the horizon).
  bool back_on_primary_applies() const noexcept { return primary && ends_before_horizon; }
  friend bool operator==(const RecoveryWindow&, const RecoveryWindow&) = default;
};

class RecoveryMeter final : public EventSink {
 public:
  // `primaries`: the first provider of every model chain of the run.
  RecoveryMeter(const std::vector<faults::FaultSpec>& faults, Duration horizon, std::vector<std::string> primaries,
                double time_scale = 1.0);

  void on_event(const Event& e) override {
    if (windows_.empty()) return;
    observe(e);
  }
  // One task of the run, in scenario time (`ended` ignored when !finished).
  void on_task(Duration started, bool finished, Duration ended, bool succeeded) noexcept;

  const std::vector<RecoveryWindow>& windows() const noexcept { return windows_; }

 private:
  void observe(const Event& e);
  void note_detect(std::string_view target, Duration at);
  Duration scenario_time(TimePoint t) const noexcept;

  std::vector<RecoveryWindow> windows_;
  std::vector<std::string> primaries_;
  std::vector<Duration> detect_until_;      // per window: detection is counted before this
  std::vector<Duration> restore_started_;   // per window: start of the task giving `restore`
  Duration horizon_;
  double time_scale_;
};

}  // namespace keel::scenarios
