// keel/agent/resources.h — scoped resources: ResourceScope, TempFile, ScopedResource<T>.
//
// Purpose: "resources are scoped" (docs/architecture.md) — the source design cleaned up through atexit
// registries, so a cancelled or failed call leaked until process exit. Here every resource has
// an RAII owner tied to the agent or to one call: when the owner's scope ends — normally, on an
// error path, when a coroutine is cancelled, or when a suspended coroutine's frame is destroyed
// with its scheduler — the resource is released.
//
// Contract:
//  - ResourceScope: a LIFO stack of cleanup actions, run by `close()` or the destructor (the
//    most recently added first). An action that throws is caught and reported as the event
//    "resource.cleanup_failed" {scope, resource, error} on the optional sink; the remaining
//    actions still run; nothing is thrown from close() or the destructor. close() is
//    idempotent, and the scope can be used again after it.
//  - Nesting: `ResourceScope step{agent_scope, "step"}` is a child of `agent_scope`: one entry
//    of the parent's stack. Destroying the child closes it and removes it from its parent;
//    closing the parent first closes the child in its LIFO position and detaches it (the child
//    object stays valid, empty and usable, and may be destroyed later). Children inherit the
//    parent's sink and clock. `close()` returns the failures of nested children too.
//  - TempFile: creates `<directory>/<prefix><n>.tmp` exclusively (never reuses an existing
//    file), n from a process-wide counter — no randomness, no environment. Removes the file on
//    destruction unless released. Move-only.
//  - ScopedResource<T>: a value and a deleter called exactly once (destruction or reset());
//    a throwing deleter is swallowed in the destructor. Move-only.
//  - Single-threaded, like everything on a scheduler. No atexit, no global registries.
//
// Example:
//   ResourceScope agent_scope{&events, &sched, "agent"};
//   ResourceScope step{agent_scope, "step"};
//   TempFile& scratch = step.own(TempFile::create(work_dir, "step-").value(), "scratch");
//   step.defer("unlock", [&] { lock.release(); });
//   co_await run_tools(scratch.path());        // cancelled? the frame unwinds, `step` cleans up
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "keel/core/event.h"
#include "keel/core/result.h"
#include "keel/core/scheduler.h"

namespace keel::agent {

class ResourceScope {
 public:
  // `events` and `clock` (for event times) may be null and must outlive the scope.
  explicit ResourceScope(EventSink* events = nullptr, const Scheduler* clock = nullptr, std::string name = "scope");
  // A child of `parent`, closed with it unless closed first.
  ResourceScope(ResourceScope& parent, std::string name);
  ~ResourceScope();
  ResourceScope(const ResourceScope&) = delete;
  ResourceScope& operator=(const ResourceScope&) = delete;

  // Adds a cleanup action (run LIFO). `label` names it in events.
  void defer(std::string label, std::function<void()> cleanup);
  // Moves `resource` into the scope; it is destroyed when the scope closes (LIFO with the
  // other actions). The reference is valid until then.
  template <class R>
  R& own(R resource, std::string label = "resource") {
    auto holder = std::make_shared<std::unique_ptr<R>>(std::make_unique<R>(std::move(resource)));
    R& ref = **holder;
    defer(std::move(label), [holder] { holder->reset(); });
    return ref;
  }

  // Runs every pending action, LIFO; returns how many threw. Never throws.
  std::size_t close() noexcept;

  std::size_t pending() const noexcept { return entries_.size(); }
  std::size_t failures() const noexcept { return failures_; }  // cleanups that threw, ever
  const std::string& name() const noexcept { return name_; }
  ResourceScope* parent() const noexcept { return parent_; }

 private:
  struct Entry {
    std::string label;
    std::function<void()> cleanup;  // empty for a child entry
    ResourceScope* child = nullptr;
  };
  void report_failure(const std::string& resource, std::string_view what) noexcept;
  void forget_child(ResourceScope* child) noexcept;

  EventSink* events_;
  const Scheduler* clock_;
  std::string name_;
  ResourceScope* parent_ = nullptr;
  std::vector<Entry> entries_;
  std::size_t failures_ = 0;
};

class TempFile {
 public:
  // Creates an empty file `<directory>/<prefix><n>.tmp` that did not exist before. The
  // directory must exist. Errors (ErrorCode::internal, with the OS message) as values.
  static Result<TempFile> create(const std::filesystem::path& directory, std::string_view prefix);

  TempFile(TempFile&& o) noexcept : path_(std::exchange(o.path_, {})) {}
  TempFile& operator=(TempFile&& o) noexcept;
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() { remove(); }

  const std::filesystem::path& path() const noexcept { return path_; }
  // Removes the file now; true if there was one to remove.
  bool remove() noexcept;
  // Keeps the file: the caller now owns it.
  std::filesystem::path release() noexcept { return std::exchange(path_, {}); }

 private:
  explicit TempFile(std::filesystem::path p) noexcept : path_(std::move(p)) {}
  std::filesystem::path path_;
};

template <class T>
class ScopedResource {
 public:
  ScopedResource(T value, std::function<void(T&)> deleter)
      : value_(std::move(value)), deleter_(std::move(deleter)), armed_(static_cast<bool>(deleter_)) {}
  ScopedResource(ScopedResource&& o) noexcept(std::is_nothrow_move_constructible_v<T>)
      : value_(std::move(o.value_)), deleter_(std::move(o.deleter_)), armed_(std::exchange(o.armed_, false)) {}
  ScopedResource& operator=(ScopedResource&& o) noexcept(std::is_nothrow_move_assignable_v<T>) {
    if (this != &o) {
      reset();
      value_ = std::move(o.value_);
      deleter_ = std::move(o.deleter_);
      armed_ = std::exchange(o.armed_, false);
    }
    return *this;
  }
  ScopedResource(const ScopedResource&) = delete;
  ScopedResource& operator=(const ScopedResource&) = delete;
  ~ScopedResource() {
    try {
      reset();
    } catch (...) {  // a deleter that throws must not take the program down from a destructor
    }
  }

  T& get() noexcept { return value_; }
  const T& get() const noexcept { return value_; }
  T& operator*() noexcept { return value_; }
  T* operator->() noexcept { return &value_; }
  bool armed() const noexcept { return armed_; }

  // Runs the deleter now (once); later calls do nothing. Propagates a deleter's exception.
  void reset() {
    if (!std::exchange(armed_, false)) return;
    deleter_(value_);
  }
  // Disarms without running the deleter and hands the value back.
  T release() noexcept(std::is_nothrow_move_constructible_v<T>) {
    armed_ = false;
    return std::move(value_);
  }

 private:
  T value_;
  std::function<void(T&)> deleter_;
  bool armed_;
};

}  // namespace keel::agent
