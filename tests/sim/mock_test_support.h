// Test support for the sim mocks: a scripted FaultHook and "call at time t" drivers.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "keel/core/sleep.h"
#include "keel/core/spawn.h"
#include "keel/core/task.h"
#include "keel/sim/fault_hook.h"
#include "keel/sim/simulator.h"

namespace keel::sim::testing {

// Answers from a per-index script (else `always`) and records every question.
struct FaultScript final : FaultHook {
  struct Call {
    std::string target;
    TimePoint now;
    std::uint64_t index;
  };
  std::map<std::uint64_t, InjectedFault> by_index;
  std::optional<InjectedFault> always;
  std::vector<Call> calls;

  std::optional<InjectedFault> decide(std::string_view target, TimePoint now, std::uint64_t index) override {
    calls.push_back({std::string{target}, now, index});
    if (auto it = by_index.find(index); it != by_index.end()) return it->second;
    return always;
  }
};

// One call's result and the virtual time it arrived.
template <class T>
struct Outcome {
  std::optional<T> result;
  TimePoint at;
  bool done() const { return result.has_value(); }
};

// Starts `make()` (a Task<T>) at virtual time `when`; fills `out` when it ends.
template <class Make, class T>
Task<void> run_at(Simulator& sim, TimePoint when, Make make, Outcome<T>* out) {
  co_await sleep_until(when);
  T r = co_await make();
  out->result.emplace(std::move(r));
  out->at = sim.now();
}

// Stable storage for outcomes of calls scheduled at given times.
template <class T>
class Calls {
 public:
  explicit Calls(Simulator& sim) : sim_(sim) {}
  template <class Make>
  Outcome<T>& at(TimePoint when, Make make) {
    Outcome<T>& out = outcomes_.emplace_back();
    spawn(sim_, run_at<Make, T>(sim_, when, std::move(make), &out));
    return out;
  }

 private:
  Simulator& sim_;
  std::deque<Outcome<T>> outcomes_;
};

inline TimePoint at(Duration d) { return TimePoint{d}; }

}  // namespace keel::sim::testing
