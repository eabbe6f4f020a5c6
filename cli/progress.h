// cli/progress.h — one self-updating status line on stderr, only when stderr is a terminal.
//
// Purpose: long sweeps (`keel explore`, `keel conformance`) show how far they are without
// polluting logs: when stderr is not a TTY (CI, pipes, files) nothing is printed at all.
//
// Contract:
//  - Enabled iff isatty(2) at construction. Calls from one thread only.
//  - update() redraws at most every 100 ms (wall clock, fine here in cli/) plus always for the
//    last item; clear() erases the line, so that ordinary output never mixes with it. The
//    destructor clears.
//
// Example:
//   ProgressLine bar{"explore"};
//   bar.update(done, total, failed);   // "explore: 340/1000 (34%), 2 failed"
//   bar.clear();
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace keel::cli {

class ProgressLine {
 public:
  explicit ProgressLine(std::string label);
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  bool enabled() const noexcept { return enabled_; }
  void update(std::size_t done, std::size_t total, std::size_t failed);
  void clear();

 private:
  std::string label_;
  bool enabled_ = false;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_draw_{};
};

}  // namespace keel::cli
