#include "keel/sim/demo_workload.h"

#include <vector>

#include "keel/core/rng.h"
#include "keel/core/sleep.h"
#include "keel/core/spawn.h"
#include "keel/core/timeout.h"
#include "keel/core/trace_writer.h"
#include "keel/core/when.h"
#include "keel/sim/simulator.h"

namespace keel::sim {
namespace {

using namespace std::chrono_literals;

struct Demo {
  Simulator& sim;
  TraceWriter& trace;
  Rng latency_rng;
  DemoResult result;

  // One replica answering after a seeded latency; 5% of requests hang until cancelled.
  Task<Result<int>> replica(int agent, int call, int replica_index) {
    const bool hangs = latency_rng.bernoulli(0.05);
    const Duration latency = latency_rng.lognormal_from_median_p99(40ms, 400ms);
    emit(&trace, sim.now(), ev::replica_start,
         {{key::agent, agent}, {key::call, call}, {key::replica, replica_index}, {key::hangs, hangs}});
    // A hang is a wait with no deadline: it ends only by cancellation.
    const Deadline answer_at = hangs ? Deadline::never() : Deadline::after(sim.now(), latency);
    Status waited = co_await sleep_until(answer_at);
    if (!waited) {
      emit(&trace, sim.now(), ev::replica_cancelled, {{key::agent, agent}, {key::call, call}, {key::replica, replica_index}});
      co_return waited.error();
    }
    co_return agent * 1000 + call;
  }

  Task<Result<int>> race(int agent, int call) {
    std::vector<Task<Result<int>>> replicas;
    replicas.push_back(replica(agent, call, 0));
    replicas.push_back(replica(agent, call, 1));
    auto winner = co_await when_any(std::move(replicas));
    emit(&trace, sim.now(), ev::race_won, {{key::agent, agent}, {key::call, call}, {key::replica, winner.index}});
    co_return std::move(winner.value);
  }

  Task<void> agent(int id, int calls) {
    for (int call = 0; call < calls; ++call) {
      Result<int> r = co_await with_timeout(race(id, call), 250ms);
      if (r) {
        ++result.succeeded;
        emit(&trace, sim.now(), ev::call_ok, {{key::agent, id}, {key::call, call}, {key::value, *r}});
      } else {
        ++result.timed_out;
        emit(&trace, sim.now(), ev::call_failed, {{key::agent, id}, {key::call, call}, {key::code, r.error().code}});
      }
    }
  }
};

}  // namespace

DemoResult run_demo_workload(const DemoOptions& options) {
  Simulator sim({.seed = options.seed});
  TraceWriter trace(options.trace);
  Demo demo{sim, trace, Rng(options.seed).substream("demo.latency"), {}};
  for (int a = 0; a < options.agents; ++a) spawn(sim, demo.agent(a, options.calls));
  sim.run_until_idle();
  demo.result.trace_hash = trace.hash();
  demo.result.trace_hash_hex = trace.hash_hex();
  demo.result.events = trace.lines();
  demo.result.virtual_end = sim.now();
  return demo.result;
}

}  // namespace keel::sim
