// keel/scenarios/run_environment.h — where a run happens, when it is not the simulator.
//
// Purpose: `keel run --live` runs the same workload, runtime and expectations as the simulated
// run, but on a real scheduler against real HTTP endpoints (runtime/live/serve builds that
// world). The runner sees it through this interface, so the scenarios layer stays free of
// Asio, clocks and sockets (docs/architecture.md).
//
// Contract:
//  - time_scale() = F > 0: one scenario second lasts F seconds on scheduler(). The runner
//    multiplies every duration it configures (timeouts, backoff, breaker windows, start times,
//    tool latencies and tool fault times) by F and divides what it measures by F, so the report
//    is in scenario time. The providers behind provider(i) must apply the same F to their own
//    latencies and faults (FaultServer does).
//  - provider(i) is the transport of scenario.providers[i]; provider_tally(i) what reached it.
//  - run_until(until, done) drives scheduler() until done() holds or its clock reaches until.
//  - finish() destroys every task still suspended on scheduler(), while the runtime objects
//    those tasks point at are still alive (the runner calls it before tearing them down).
//
// Example (runtime/live/serve/live_run.cpp implements it):
//   RunOptions opts{.environment = &live_world};
//   Result<RunReport> r = run_scenario(scenario, opts);
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>

#include "keel/core/scheduler.h"
#include "keel/model/transport.h"

namespace keel::scenarios {

struct ProviderTally {
  std::int64_t requests = 0;           // requests that reached the provider
  std::int64_t max_prompt_tokens = 0;  // the largest prompt among them
};

class RunEnvironment {
 public:
  virtual ~RunEnvironment() = default;
  virtual Scheduler& scheduler() = 0;
  virtual double time_scale() const = 0;
  virtual model::ModelTransport& provider(std::size_t index) = 0;
  virtual ProviderTally provider_tally(std::size_t index) const = 0;
  virtual void run_until(TimePoint until, const std::function<bool()>& done) = 0;
  virtual void finish() = 0;
};

}  // namespace keel::scenarios
