// The recovery measures of a run (recovery.h): one sink over the event stream.
#include "keel/scenarios/recovery.h"

#include <algorithm>
#include <variant>

#include "keel/scenarios/time_scale.h"

namespace keel::scenarios {
namespace {

bool is_primary(const std::vector<std::string>& primaries, std::string_view name) {
  return std::find(primaries.begin(), primaries.end(), name) != primaries.end();
}

}  // namespace

RecoveryMeter::RecoveryMeter(const std::vector<faults::FaultSpec>& faults, Duration horizon,
                             std::vector<std::string> primaries, double time_scale)
    : horizon_(horizon), time_scale_(time_scale) {
  for (std::size_t i = 0; i < faults.size(); ++i) {
    const faults::FaultSpec& f = faults[i];
    if (faults::is_tool_target(f.target)) continue;
    RecoveryWindow w;
    w.fault = i;
    w.target = f.target;
    w.from = f.from;
    w.until = std::min(f.until.value_or(horizon), horizon);
    w.ends_before_horizon = w.until < horizon;
    w.primary = f.target == faults::kEveryProvider ? !primaries.empty() : is_primary(primaries, f.target);
    windows_.push_back(std::move(w));
  }
  // Detection of a window is counted until the next window on the same target starts.
  for (const RecoveryWindow& w : windows_) {
    Duration limit = horizon;
    for (const RecoveryWindow& other : windows_) {
      const bool same_target = other.target == w.target;
      if (same_target && other.from > w.from) limit = std::min(limit, other.from);
    }
    detect_until_.push_back(limit);
  }
  restore_started_.assign(windows_.size(), Duration::max());
  primaries_ = std::move(primaries);
}

Duration RecoveryMeter::scenario_time(TimePoint t) const noexcept {
  const Duration d = t.time_since_epoch();
  return time_scale_ == 1.0 ? d : scaled(d, 1.0 / time_scale_);
}

void RecoveryMeter::note_detect(std::string_view target, Duration at) {
  for (std::size_t i = 0; i < windows_.size(); ++i) {
    RecoveryWindow& w = windows_[i];
    if (w.detect || at < w.from || at >= detect_until_[i]) continue;
    if (faults::target_matches(w.target, target)) w.detect = at - w.from;
  }
}

void RecoveryMeter::observe(const Event& e) {
  if (e.kind == ev::model_attempt) {
    const Duration at = scenario_time(e.time);
    for (RecoveryWindow& w : windows_) {
      if (at >= w.from && at < w.until) ++w.attempts;
    }
  } else if (e.kind == ev::model_call_end) {
    if (!e.flag(key::ok)) return;
    const std::string_view model = e.text(key::model);
    const Duration at = scenario_time(e.time);
    for (RecoveryWindow& w : windows_) {
      if (w.back_on_primary || !w.back_on_primary_applies() || at < w.until) continue;
      if (faults::target_matches(w.target, model) && is_primary(primaries_, model)) w.back_on_primary = at - w.until;
    }
  } else if (e.kind == ev::model_fallback) {
    note_detect(e.text(key::from), scenario_time(e.time));
  } else if (e.kind == ev::breaker_state) {
    if (e.text(key::to) == "open") note_detect(e.text(key::target), scenario_time(e.time));
  }
}

void RecoveryMeter::on_task(Duration started, bool finished, Duration ended, bool succeeded) noexcept {
  if (!finished || !succeeded) return;
  for (std::size_t i = 0; i < windows_.size(); ++i) {
    RecoveryWindow& w = windows_[i];
    if (started < w.from) continue;
    if (started < w.until) ++w.tasks_ok;
    // The earliest-started successful task; among equal starts the earliest end.
    const bool earlier = started < restore_started_[i] ||
                         (started == restore_started_[i] && w.restore && ended - w.from < *w.restore);
    if (earlier) {
      restore_started_[i] = started;
      w.restore = ended - w.from;
    }
  }
}

}  // namespace keel::scenarios
