#include "parallel_runs.h"

#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace keel::cli {

unsigned default_jobs() noexcept {
  const unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : n;
}

void run_parallel(std::size_t n, unsigned jobs, const std::function<void(std::size_t)>& work,
                  const std::function<void(std::size_t)>& in_order,
                  const std::function<void(std::size_t done)>& progress) {
  if (jobs <= 1 || n <= 1) {
    for (std::size_t i = 0; i < n; ++i) {
      work(i);
      if (progress) progress(i + 1);
      in_order(i);
    }
    return;
  }

  std::mutex mutex;
  std::condition_variable changed;
  std::vector<char> done(n, 0);
  std::vector<std::exception_ptr> errors(n);
  std::size_t completed = 0;
  std::atomic<std::size_t> next{0};
  std::atomic<bool> stop{false};

  auto worker = [&] {
    for (;;) {
      if (stop.load(std::memory_order_relaxed)) return;
      const std::size_t i = next.fetch_add(1, std::memory_order_relaxed);
      if (i >= n) return;
      std::exception_ptr error;
      try {
        work(i);
      } catch (...) {
        error = std::current_exception();
      }
      {
        const std::lock_guard lock{mutex};
        done[i] = 1;
        errors[i] = error;
        ++completed;
      }
      changed.notify_one();
    }
  };

  std::vector<std::jthread> threads;
  const std::size_t count = std::min<std::size_t>(jobs, n);
  threads.reserve(count);
  for (std::size_t t = 0; t < count; ++t) threads.emplace_back(worker);
  // On any way out (including an exception from in_order or progress): start nothing new, then
  // join (the jthreads, destroyed after this guard) before the shared state goes.
  struct StopGuard {
    std::atomic<bool>& stop;
    ~StopGuard() { stop.store(true, std::memory_order_relaxed); }
  } guard{stop};

  std::size_t emitted = 0;
  std::size_t reported = 0;
  std::exception_ptr failure;
  while (emitted < n) {
    std::size_t ready_until = emitted;
    std::size_t completed_now = 0;
    {
      std::unique_lock lock{mutex};
      changed.wait(lock, [&] { return completed != reported || done[emitted]; });
      completed_now = completed;
      while (ready_until < n && done[ready_until]) {
        if (errors[ready_until]) {
          failure = errors[ready_until];
          break;
        }
        ++ready_until;
      }
    }
    if (progress && completed_now != reported) progress(completed_now);
    reported = completed_now;
    for (; emitted < ready_until; ++emitted) in_order(emitted);
    if (failure) break;
  }
  if (failure) std::rethrow_exception(failure);
}

}  // namespace keel::cli
