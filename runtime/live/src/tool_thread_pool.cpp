#include "keel/live/tool_thread_pool.h"

#include <exception>
#include <optional>
#include <stop_token>
#include <string>
#include <type_traits>
#include <utility>

#include "keel/core/cancel.h"
#include "keel/core/task.h"

namespace keel::live {

struct ToolThreadPool::Counters {
  std::atomic<std::size_t> running{0};
  std::atomic<std::uint64_t> submitted{0}, started{0}, finished{0}, abandoned{0}, skipped{0};
};

// An io_context executor that counts as outstanding work while it exists: io.run() does not
// return while a job's result is still wanted.
using TrackedExecutor = std::decay_t<decltype(std::declval<boost::asio::io_context::executor_type>().require(
    boost::asio::execution::outstanding_work.tracked))>;

struct ToolThreadPool::PoolJob {
  Job fn;
  std::stop_source stop;
  std::shared_ptr<Counters> counters;

  std::mutex m;                                // guards the three fields below
  bool abandoned = false;                      // the awaiter gave up; the result will be discarded
  std::optional<Result<std::string>> result;   // set by the worker (or the pool's shutdown)
  std::optional<TrackedExecutor> work;         // keeps io.run() going until the result is posted

  Awaiter* awaiter = nullptr;                  // scheduler thread only: who to resume

  // Scheduler thread: nobody waits for this job any more. Requests its stop_token.
  void abandon() {
    bool counted = false;
    {
      std::lock_guard lock{m};
      if (!abandoned && !result) counted = true;
      abandoned = true;
      work.reset();  // nobody waits: the io_context need not wait for this job
    }
    if (counted) ++counters->abandoned;
    stop.request_stop();
  }
};

// Suspends the calling task until a worker has run the job, or until the task is cancelled.
class ToolThreadPool::Awaiter {
 public:
  Awaiter(ToolThreadPool& pool, std::shared_ptr<PoolJob> job) noexcept : pool_(pool), job_(std::move(job)) {}
  Awaiter(const Awaiter&) = delete;
  Awaiter& operator=(const Awaiter&) = delete;
  ~Awaiter() {
    if (job_->awaiter == this) {  // frame destroyed while waiting (scheduler shutdown)
      job_->awaiter = nullptr;
      job_->abandon();
    }
    if (timer_) scheduler_->cancel_timer(timer_);
  }

  bool await_ready() const noexcept { return false; }
  template <detail::KeelPromise P>
  bool await_suspend(std::coroutine_handle<P> h) {
    scheduler_ = h.promise().scheduler;
    const CancelToken token = h.promise().token;
    if (token.cancelled()) {
      failure_ = "cancelled before the tool started";
      return false;
    }
    handle_ = h;
    job_->awaiter = this;
    job_->work.emplace(pool_.io_.get_executor().require(boost::asio::execution::outstanding_work.tracked));
    if (!pool_.enqueue(job_)) {
      job_->awaiter = nullptr;
      job_->work.reset();
      failure_ = "the tool thread pool is shutting down";
      return false;
    }
    on_cancel_.arm(token, [this] { give_up(); });
    return true;
  }
  Result<std::string> await_resume() {
    if (failure_) return Error(ErrorCode::cancelled, failure_);
    std::lock_guard lock{job_->m};
    return std::move(*job_->result);
  }

  // io_context thread (= the scheduler's): the job's result is in.
  void complete() {
    on_cancel_.disarm();
    handle_.resume();
  }

 private:
  // The awaiting task was cancelled (a timeout above it included): release it now, in this
  // instant, with `cancelled`; the worker keeps running the job, its result is discarded.
  void give_up() {
    if (job_->awaiter != this) return;
    job_->awaiter = nullptr;
    job_->abandon();
    failure_ = "cancelled while the tool was running; its thread was abandoned";
    timer_ = scheduler_->start_timer(scheduler_->now(), [this] {
      timer_ = {};
      handle_.resume();
    });
  }

  ToolThreadPool& pool_;
  std::shared_ptr<PoolJob> job_;
  Scheduler* scheduler_ = nullptr;
  std::coroutine_handle<> handle_;
  CancelCallback on_cancel_;
  TimerId timer_;
  const char* failure_ = nullptr;
};

ToolThreadPool::ToolThreadPool(AsioScheduler& scheduler, std::size_t threads)
    : io_(scheduler.io()), counters_(std::make_shared<Counters>()) {
  if (threads == 0) threads = 1;
  current_.resize(threads);
  workers_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this, i] { work(i); });
}

ToolThreadPool::~ToolThreadPool() {
  std::deque<std::shared_ptr<PoolJob>> queued;
  {
    std::lock_guard lock{mutex_};
    stopping_ = true;
    for (const auto& job : current_)
      if (job) job->stop.request_stop();
    queued.swap(queue_);
  }
  wake_.notify_all();
  for (const auto& job : queued) {
    job->stop.request_stop();
    deliver(job, Error(ErrorCode::cancelled, "the tool thread pool shut down before the job started"));
  }
  for (std::thread& t : workers_) t.join();  // waits for running jobs to return
}

Task<Result<std::string>> ToolThreadPool::run(Job job) {
  auto state = std::make_shared<PoolJob>();
  state->fn = std::move(job);
  state->counters = counters_;
  ++counters_->submitted;
  co_return co_await Awaiter{*this, std::move(state)};
}

bool ToolThreadPool::enqueue(std::shared_ptr<PoolJob> job) {
  {
    std::lock_guard lock{mutex_};
    if (stopping_) return false;
    queue_.push_back(std::move(job));
  }
  wake_.notify_one();
  return true;
}

void ToolThreadPool::work(std::size_t index) {
  for (;;) {
    std::shared_ptr<PoolJob> job;
    {
      std::unique_lock lock{mutex_};
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping
      job = std::move(queue_.front());
      queue_.pop_front();
      current_[index] = job;
    }
    bool skip;
    {
      std::lock_guard lock{job->m};
      skip = job->abandoned;
    }
    if (skip) {
      ++counters_->skipped;
    } else {
      ++counters_->started;
      ++counters_->running;
      Result<std::string> result = Error(ErrorCode::internal, "tool job produced no result");
      try {
        result = job->fn(job->stop.get_token());
      } catch (const std::exception& e) {
        result = Error(ErrorCode::tool_error, std::string{"tool threw an exception: "} + e.what());
      } catch (...) {
        result = Error(ErrorCode::tool_error, "tool threw a non-standard exception");
      }
      --counters_->running;
      ++counters_->finished;
      deliver(job, std::move(result));
    }
    std::lock_guard lock{mutex_};
    current_[index] = nullptr;
  }
}

void ToolThreadPool::deliver(const std::shared_ptr<PoolJob>& job, Result<std::string> result) {
  std::lock_guard lock{job->m};
  job->result.emplace(std::move(result));
  if (!job->abandoned) {  // otherwise the awaiter already left and the result is discarded
    boost::asio::post(io_, [job] {
      if (Awaiter* a = job->awaiter) {
        job->awaiter = nullptr;
        a->complete();
      }
    });
  }
  job->work.reset();  // after the post, which is work of its own
}

std::size_t ToolThreadPool::running() const noexcept { return counters_->running.load(); }

ToolThreadPoolStats ToolThreadPool::stats() const noexcept {
  return {counters_->submitted.load(), counters_->started.load(), counters_->finished.load(),
          counters_->abandoned.load(), counters_->skipped.load()};
}

}  // namespace keel::live
