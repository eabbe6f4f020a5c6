// keel/live/tool_thread_pool.h — ToolThreadPool: blocking (sync) tool functions on worker threads.
//
// Purpose: in production a sync FunctionTool must not block its scheduler's thread. The pool
// runs each job on one of a fixed set of workers and resumes the awaiting coroutine on its
// AsioScheduler's io_context when the job returns. It fixes the source design's defect "a sync
// tool timeout left the thread running and returned a string" (docs/architecture.md): the caller gets a
// structured timeout at its deadline, and the job is told to stop.
//
// ┌─ ABANDONMENT, NOT TERMINATION ─────────────────────────────────────────────────────────────┐
// │ C++ cannot kill a thread. When the awaiting task is cancelled or times out, it is released │
// │ at once (`cancelled`; a with_timeout above it reports `timeout`), and the job's            │
// │ std::stop_token is requested — but the worker keeps running the job until the function     │
// │ returns. That worker is busy meanwhile (the pool has one fewer thread), and the job's      │
// │ result is discarded. A function that ignores its stop_token therefore keeps its side       │
// │ effects and its thread. Write long-running sync tools to poll `stop.stop_requested()`.     │
// └─────────────────────────────────────────────────────────────────────────────────────────────┘
//
// Contract:
//  - `run(job)` (SyncToolExecutor) from a task on `scheduler`'s thread: queues the job (FIFO);
//    a worker calls `job(stop_token)`; the awaiter resumes on the io_context thread with the
//    job's result; while a result is awaited it counts as io_context work, so io.run() does
//    not return early (an abandoned job does not count). Exceptions from the job become tool_error. An awaiter already cancelled
//    gets `cancelled` and the job never runs; a queued job whose awaiter gave up is skipped.
//  - The awaiting frame may be destroyed while suspended (scheduler shutdown): the job is
//    abandoned as above; nothing dangles (job state is shared with the worker).
//  - Destruction requests stop on every running job, fails queued jobs with `cancelled`, and
//    joins the workers — it blocks until running jobs return. Destroy the pool before the
//    io_context; keep it alive while tasks await it.
//  - `run` is called on the scheduler thread only; the pool's counters may be read anywhere.
//
// Example:
//   boost::asio::io_context io;
//   live::AsioScheduler sched{io};
//   live::ToolThreadPool pool{sched, 4};
//   agent::FunctionTool grep{{"grep", "search files"}, blocking_grep, {.timeout = 5s}, &pool};
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "keel/live/asio.h"
#include "keel/agent/function_tool.h"
#include "keel/live/asio_scheduler.h"

namespace keel::live {

struct ToolThreadPoolStats {
  std::uint64_t submitted = 0;  // jobs handed to run()
  std::uint64_t started = 0;    // jobs a worker began
  std::uint64_t finished = 0;   // jobs whose function returned
  std::uint64_t abandoned = 0;  // jobs whose awaiter gave up (cancelled/timed out/destroyed) first
  std::uint64_t skipped = 0;    // queued jobs never started because their awaiter gave up
};

class ToolThreadPool final : public agent::SyncToolExecutor {
 public:
  // Starts `threads` workers (at least 1). Awaiters must run on `scheduler`.
  ToolThreadPool(AsioScheduler& scheduler, std::size_t threads);
  ~ToolThreadPool() override;
  ToolThreadPool(const ToolThreadPool&) = delete;
  ToolThreadPool& operator=(const ToolThreadPool&) = delete;

  Task<Result<std::string>> run(Job job) override;

  std::size_t threads() const noexcept { return workers_.size(); }
  // Jobs currently executing on a worker (abandoned ones included).
  std::size_t running() const noexcept;
  ToolThreadPoolStats stats() const noexcept;

  struct PoolJob;   // shared between the awaiter (scheduler thread) and a worker
  struct Counters;  // shared with jobs, so an awaiter destroyed after the pool touches no pool

 private:
  class Awaiter;
  bool enqueue(std::shared_ptr<PoolJob> job);
  void work(std::size_t index);
  void deliver(const std::shared_ptr<PoolJob>& job, Result<std::string> result);

  boost::asio::io_context& io_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::shared_ptr<PoolJob>> queue_;
  std::vector<std::shared_ptr<PoolJob>> current_;  // per worker: the job it runs, or null
  bool stopping_ = false;
  std::vector<std::thread> workers_;
  std::shared_ptr<Counters> counters_;
};

}  // namespace keel::live
