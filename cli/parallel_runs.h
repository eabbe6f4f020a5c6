// cli/parallel_runs.h — run n independent jobs on J threads; consume results in index order.
//
// Purpose: `keel explore` and `keel conformance` run many simulations. Each simulation is
// single-threaded and self-contained (its own Simulator, runtime objects, Rng streams; nothing
// below cli/ has mutable global state — the coroutine frame pool is thread_local), so runs are
// spread over worker threads, and the output is produced in index order so that it is the same
// for every J.
//
// Contract:
//  - `work(i)` is called exactly once for each i in [0, n), on some worker thread (on the
//    calling thread when jobs <= 1). It must only touch its own result slot.
//  - `in_order(i)` is called on the calling thread for i = 0, 1, ..., n-1 in that order, each
//    as soon as work(0..i) are all done; results written by work(i) are visible to it.
//  - `progress(done)` is called on the calling thread after each completion (in any order).
//  - An exception from work(i) is rethrown on the calling thread when i's turn comes in
//    in_order; the remaining jobs are abandoned (not started) and the workers joined first.
//
// Example:
//   std::vector<RunReport> reports(seeds.size());
//   run_parallel(seeds.size(), jobs, [&](std::size_t i) { reports[i] = run(seeds[i]); },
//                [&](std::size_t i) { print(reports[i]); }, [&](std::size_t done) { bar.update(done); });
#pragma once

#include <cstddef>
#include <functional>

namespace keel::cli {

void run_parallel(std::size_t n, unsigned jobs, const std::function<void(std::size_t)>& work,
                  const std::function<void(std::size_t)>& in_order,
                  const std::function<void(std::size_t done)>& progress = {});

// The default for --jobs: the number of hardware threads (at least 1).
unsigned default_jobs() noexcept;

}  // namespace keel::cli
