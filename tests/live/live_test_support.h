// tests/live/live_test_support.h — running a task to completion on a real io_context, and
// counting this process's open file descriptors (the socket-leak check).
#pragma once

#include <cstdlib>
#include <filesystem>
#include <optional>

#include <gtest/gtest.h>

#include "keel/core/spawn.h"
#include "keel/live/asio_scheduler.h"

namespace keel::live::test {

inline int open_fds() {
  int n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

// Runs `task` on `sched` until the io_context runs out of work; returns its value.
template <class T>
T run_task(AsioScheduler& sched, Task<T> task, CancelToken token = {}) {
  std::optional<T> out;
  spawn(sched, std::move(task), [&](T v) { out.emplace(std::move(v)); }, keel::detail::TerminateOnError{}, token);
  sched.io().restart();
  sched.io().run();
  if (!out) {
    ADD_FAILURE() << "task did not finish";
    std::abort();
  }
  return std::move(*out);
}

// A test fixture whose tests must leave no descriptor open: counted before the test body
// creates anything, and after it has destroyed everything.
class NoLeakedFds : public ::testing::Test {
 protected:
  void SetUp() override { before_ = open_fds(); }
  void TearDown() override { EXPECT_EQ(open_fds(), before_) << "file descriptors leaked"; }

 private:
  int before_ = 0;
};

}  // namespace keel::live::test
