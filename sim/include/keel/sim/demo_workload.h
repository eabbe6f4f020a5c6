// keel/sim/demo_workload.h — a small simulated workload that exercises the core end to end.
//
// Purpose: the foundation's main job (`keel demo`) and a determinism smoke test: `agents`
// concurrent clients each make `calls` requests to two simulated replicas; every request races
// the replicas (when_any), under a per-request timeout (with_timeout), with seeded latencies
// that sometimes hang. Every decision is an event; the trace hash identifies the run.
//
// Contract: same options => same trace bytes and hash, on any machine running the same build.
//
// Example:
//   auto r = keel::sim::run_demo_workload({.seed = 7});
//   std::cout << r.trace_hash_hex << "\n";
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "keel/core/time.h"

namespace keel::sim {

struct DemoOptions {
  std::uint64_t seed = 1;
  int agents = 8;
  int calls = 25;
  std::ostream* trace = nullptr;  // JSON lines, if wanted
};

struct DemoResult {
  std::uint64_t trace_hash = 0;
  std::string trace_hash_hex;
  std::uint64_t events = 0;
  int succeeded = 0;
  int timed_out = 0;
  TimePoint virtual_end;
};

DemoResult run_demo_workload(const DemoOptions& options);

}  // namespace keel::sim
