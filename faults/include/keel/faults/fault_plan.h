// keel/faults/fault_plan.h — a scenario's faults as a deterministic, seeded FaultHook.
//
// Purpose: for each request (target, virtual time) decide which fault, if any, applies. Used by
// the sim mocks (through sim::FaultHook) and, later, by the live fault server (through
// `next`). It is data (the specs) + per-(fault, target) counters + seeded random streams; no
// clock, no globals.
//
// Contract:
//  - Every call to `next` / `decide` is one request and advances the state exactly once.
//  - For each fault i in file order whose target matches (`targets`, "*" = every provider,
//    never a tool) and whose window [from, until) contains `now` (until defaults to the
//    horizon): its counter for that target goes up by one (c = 1 for the first in-window
//    request); the count filters apply (first_n: c <= n; every_nth: c % n == 0; both if both
//    are set); a request passing them draws exactly once from fault i's stream for that target
//    (Rng{seed}.substream("faults").substream(i).substream(target)) and is hit with
//    `probability`. The request gets the *first* fault (lowest i) that hit; later faults still
//    count and draw, so each fault's hits depend only on (seed, i, its spec, target, the
//    times of requests to that target) — never on the other faults' specs, other targets'
//    traffic or the order in which targets first appear. A hit is `draw < probability`, so
//    lowering a fault's probability keeps a subset of its hits (useful when shrinking).
//  - `request_index` (the mock's per-target index) is not used: counters count in-window
//    requests only.
//  - Throws std::invalid_argument from the constructor for specs the loader would reject
//    (probability outside [0, 1], every_nth/first_n of 0, status outside 500..599 on
//    server_error, slow or slow_first_token without extra_latency, a stream token position out
//    of bounds, until <= from, a kind that does not fit its
//    target). Single-threaded: one plan per scheduler.
//
// Example:
//   FaultPlan plan{{{.target = "gpt", .kind = sim::FaultKind::rate_limit, .every_nth = 3}},
//                  /*seed=*/7, /*horizon=*/1h};
//   plan.decide("gpt", t0, 0);  // nullopt
//   plan.decide("gpt", t0, 1);  // nullopt
//   plan.decide("gpt", t0, 2);  // InjectedFault{rate_limit}
//   std::optional<FaultDecision> d = plan.next("gpt", t0);  // same, with the fault's index
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keel/core/rng.h"
#include "keel/core/time.h"
#include "keel/faults/fault_spec.h"
#include "keel/sim/fault_hook.h"

namespace keel::faults {

// What `next` decided: the fault that hit (its index in the plan) and what to inject.
struct FaultDecision {
  std::size_t fault_index = 0;
  sim::InjectedFault fault;
};

// The InjectedFault a spec produces when it hits (kind and the fields that kind uses).
sim::InjectedFault to_injected(const FaultSpec& spec);

class FaultPlan final : public sim::FaultHook {
 public:
  FaultPlan(std::vector<FaultSpec> faults, std::uint64_t seed, Duration horizon);

  // One request to `target` at `now`: the first fault that hits, or nullopt (see contract).
  std::optional<FaultDecision> next(std::string_view target, TimePoint now);

  // sim::FaultHook: `next` without the index.
  std::optional<sim::InjectedFault> decide(std::string_view target, TimePoint now,
                                           std::uint64_t request_index) override;

  const std::vector<FaultSpec>& faults() const noexcept { return faults_; }
  Duration horizon() const noexcept { return horizon_; }
  std::uint64_t seed() const noexcept { return seed_; }
  // Requests that fault i hit and that it was the one applied to (shadowed hits excluded).
  std::uint64_t applied(std::size_t fault_index) const noexcept;
  // Requests fault i hit (count filters and probability passed), applied or shadowed.
  std::uint64_t hits(std::size_t fault_index) const noexcept;
  // Back to the state right after construction.
  void reset();

 private:
  struct Stream {  // one (fault, target) pair
    std::size_t fault_index;
    std::uint64_t in_window = 0;
    Rng rng;
  };
  struct TargetState {
    std::vector<Stream> streams;  // the faults matching this target, in file order
  };

  TargetState& state_for(std::string_view target);

  std::vector<FaultSpec> faults_;
  std::uint64_t seed_;
  Duration horizon_;
  Rng root_;
  std::map<std::string, TargetState, std::less<>> targets_;
  std::vector<std::uint64_t> applied_;
  std::vector<std::uint64_t> hits_;
};

}  // namespace keel::faults
