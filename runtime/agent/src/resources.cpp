#include "keel/agent/resources.h"

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <system_error>

namespace keel::agent {

ResourceScope::ResourceScope(EventSink* events, const Scheduler* clock, std::string name)
    : events_(events), clock_(clock), name_(std::move(name)) {}

ResourceScope::ResourceScope(ResourceScope& parent, std::string name)
    : events_(parent.events_), clock_(parent.clock_), name_(std::move(name)), parent_(&parent) {
  parent.entries_.push_back(Entry{name_, {}, this});
}

ResourceScope::~ResourceScope() {
  close();
  if (parent_) parent_->forget_child(this);
}

void ResourceScope::defer(std::string label, std::function<void()> cleanup) {
  if (!cleanup) return;
  entries_.push_back(Entry{std::move(label), std::move(cleanup), nullptr});
}

std::size_t ResourceScope::close() noexcept {
  std::size_t failed = 0;
  while (!entries_.empty()) {
    Entry e = std::move(entries_.back());
    entries_.pop_back();
    if (e.child) {
      e.child->parent_ = nullptr;
      failed += e.child->close();
      continue;
    }
    try {
      e.cleanup();
    } catch (const std::exception& ex) {
      ++failed;
      ++failures_;
      report_failure(e.label, ex.what());
    } catch (...) {
      ++failed;
      ++failures_;
      report_failure(e.label, "non-standard exception");
    }
  }
  return failed;
}

void ResourceScope::report_failure(const std::string& resource, std::string_view what) noexcept {
  try {
    emit(events_, clock_ ? clock_->now() : TimePoint{}, ev::resource_cleanup_failed,
         {{key::scope, name_}, {key::resource, resource}, {key::error, what}});
  } catch (...) {  // a throwing sink must not turn cleanup into a crash
  }
}

void ResourceScope::forget_child(ResourceScope* child) noexcept {
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    if (it->child == child) {
      entries_.erase(std::next(it).base());
      return;
    }
  }
}

Result<TempFile> TempFile::create(const std::filesystem::path& directory, std::string_view prefix) {
  static std::atomic<std::uint64_t> counter{0};  // names only; never reused within a process
  constexpr int kMaxTries = 10'000;
  for (int tries = 0; tries < kMaxTries; ++tries) {
    const std::uint64_t n = counter.fetch_add(1, std::memory_order_relaxed);
    std::filesystem::path p = directory / (std::string{prefix} + std::to_string(n) + ".tmp");
    if (std::FILE* f = std::fopen(p.c_str(), "wx")) {  // "x": fail if it exists (exclusive)
      std::fclose(f);
      return TempFile{std::move(p)};
    }
    if (errno != EEXIST) {
      return Error(ErrorCode::internal, "cannot create temp file '" + p.string() +
                                            "': " + std::error_code(errno, std::generic_category()).message());
    }
  }
  return Error(ErrorCode::internal, "cannot create a temp file in '" + directory.string() + "': every name tried exists");
}

TempFile& TempFile::operator=(TempFile&& o) noexcept {
  if (this != &o) {
    remove();
    path_ = std::exchange(o.path_, {});
  }
  return *this;
}

bool TempFile::remove() noexcept {
  if (path_.empty()) return false;
  std::error_code ec;
  const bool removed = std::filesystem::remove(path_, ec);
  path_.clear();
  return removed && !ec;
}

}  // namespace keel::agent
