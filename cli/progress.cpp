#include "progress.h"

#include <unistd.h>

#include <cstdio>

namespace keel::cli {

ProgressLine::ProgressLine(std::string label) : label_(std::move(label)), enabled_(::isatty(2) == 1) {}

ProgressLine::~ProgressLine() { clear(); }

void ProgressLine::update(std::size_t done, std::size_t total, std::size_t failed) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (shown_ && done < total && now - last_draw_ < std::chrono::milliseconds{100}) return;
  last_draw_ = now;
  const unsigned percent = total == 0 ? 100u : static_cast<unsigned>(done * 100 / total);
  std::fprintf(stderr, "\r\033[K%s: %zu/%zu (%u%%), %zu failed", label_.c_str(), done, total, percent, failed);
  std::fflush(stderr);
  shown_ = true;
}

void ProgressLine::clear() {
  if (!enabled_ || !shown_) return;
  std::fprintf(stderr, "\r\033[K");
  std::fflush(stderr);
  shown_ = false;
}

}  // namespace keel::cli
