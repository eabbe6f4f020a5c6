// Scoped resources: LIFO cleanup, failures reported not thrown, nesting, temp files, and
// nothing left behind after destruction, an error path, a cancelled coroutine, or a simulator
// destroyed with the coroutine still suspended (docs/architecture.md: resources are scoped, no atexit).
#include "keel/agent/resources.h"

#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "keel/core/cancel.h"
#include "keel/core/sleep.h"
#include "keel/core/spawn.h"
#include "keel/sim/simulator.h"

namespace keel::agent {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// A fresh, empty directory per test, removed afterwards.
class ResourceDir : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / (std::string{"keel-"} + info->test_suite_name() + "-" + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::size_t files_left() const {
    return static_cast<std::size_t>(std::distance(fs::directory_iterator{dir_}, fs::directory_iterator{}));
  }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
};

TEST(ResourceScope, RunsCleanupsInReverseOrderOnDestruction) {
  std::vector<int> order;
  {
    ResourceScope scope;
    for (int i = 1; i <= 3; ++i) scope.defer("r" + std::to_string(i), [&order, i] { order.push_back(i); });
    EXPECT_EQ(scope.pending(), 3u);
  }
  EXPECT_EQ(order, (std::vector<int>{3, 2, 1}));
}

TEST(ResourceScope, CloseIsIdempotentAndTheScopeIsReusable) {
  int runs = 0;
  ResourceScope scope;
  scope.defer("a", [&] { ++runs; });
  EXPECT_EQ(scope.close(), 0u);
  EXPECT_EQ(scope.close(), 0u);
  EXPECT_EQ(runs, 1);
  scope.defer("b", [&] { runs += 10; });
  scope.close();
  EXPECT_EQ(runs, 11);
  EXPECT_EQ(scope.pending(), 0u);
}

TEST(ResourceScope, AThrowingCleanupIsReportedAndTheOthersStillRun) {
  sim::Simulator sim;
  sim.run_for(7s);
  RecordingSink events;
  std::vector<std::string> ran;
  {
    ResourceScope scope{&events, &sim, "step"};
    scope.defer("first", [&] { ran.push_back("first"); });
    scope.defer("socket", [] { throw std::runtime_error("close failed"); });
    scope.defer("odd", [] { throw 5; });
    scope.defer("last", [&] { ran.push_back("last"); });
    EXPECT_NO_THROW(EXPECT_EQ(scope.close(), 2u));
    EXPECT_EQ(scope.failures(), 2u);
  }
  EXPECT_EQ(ran, (std::vector<std::string>{"last", "first"}));
  const auto failed = events.find_all("resource.cleanup_failed");
  ASSERT_EQ(failed.size(), 2u);
  EXPECT_EQ(*failed[0]->get<std::string>("resource"), "odd");
  EXPECT_EQ(*failed[1]->get<std::string>("scope"), "step");
  EXPECT_EQ(*failed[1]->get<std::string>("resource"), "socket");
  EXPECT_EQ(*failed[1]->get<std::string>("error"), "close failed");
  EXPECT_EQ(failed[1]->time, TimePoint{} + 7s);
}

TEST(ResourceScope, DestructorNeverThrows) {
  EXPECT_NO_THROW({
    ResourceScope scope;
    scope.defer("bad", [] { throw std::logic_error("x"); });
  });
}

TEST(ResourceScope, ChildDestroyedFirstCleansUpAndLeavesItsParent) {
  std::vector<std::string> order;
  ResourceScope agent;
  agent.defer("agent-1", [&] { order.push_back("agent-1"); });
  {
    ResourceScope step{agent, "step"};
    step.defer("step-1", [&] { order.push_back("step-1"); });
    EXPECT_EQ(step.parent(), &agent);
    EXPECT_EQ(agent.pending(), 2u);
  }
  EXPECT_EQ(order, std::vector<std::string>{"step-1"});
  EXPECT_EQ(agent.pending(), 1u);
  agent.close();
  EXPECT_EQ(order, (std::vector<std::string>{"step-1", "agent-1"}));
}

TEST(ResourceScope, ParentClosedFirstClosesChildrenInLifoPositionAndDetachesThem) {
  std::vector<std::string> order;
  auto agent = std::make_unique<ResourceScope>();
  agent->defer("before", [&] { order.push_back("before"); });
  ResourceScope step{*agent, "step"};
  step.defer("step", [&] { order.push_back("step"); });
  ResourceScope nested{step, "nested"};
  nested.defer("nested", [&] { order.push_back("nested"); });
  agent->defer("after", [&] { order.push_back("after"); });
  agent.reset();  // the agent goes away while the step (and its child) still exist
  EXPECT_EQ(order, (std::vector<std::string>{"after", "nested", "step", "before"}));
  EXPECT_EQ(step.parent(), nullptr);
  EXPECT_EQ(nested.parent(), nullptr);
  step.defer("late", [&] { order.push_back("late"); });  // still usable; runs at its own end
}

TEST_F(ResourceDir, TempFileIsCreatedUniquelyAndRemovedOnDestruction) {
  fs::path a_path, b_path;
  {
    Result<TempFile> a = TempFile::create(dir(), "tool-");
    Result<TempFile> b = TempFile::create(dir(), "tool-");
    ASSERT_TRUE(a.ok()) << a.error();
    ASSERT_TRUE(b.ok()) << b.error();
    a_path = a->path();
    b_path = b->path();
    EXPECT_NE(a_path, b_path);
    EXPECT_EQ(a_path.parent_path(), dir());
    EXPECT_EQ(a_path.filename().string().rfind("tool-", 0), 0u);
    EXPECT_TRUE(fs::exists(a_path));
    std::ofstream{a_path} << "scratch";
    EXPECT_EQ(files_left(), 2u);
  }
  EXPECT_FALSE(fs::exists(a_path));
  EXPECT_FALSE(fs::exists(b_path));
  EXPECT_EQ(files_left(), 0u);
}

TEST_F(ResourceDir, TempFileNeverReusesAnExistingFile) {
  // Occupy the next few names the counter could produce: creation skips them.
  Result<TempFile> probe = TempFile::create(dir(), "x");
  ASSERT_TRUE(probe.ok());
  const std::string name = probe->path().filename().string();  // "x<n>.tmp"
  const std::uint64_t n = std::stoull(name.substr(1, name.size() - 5));
  for (std::uint64_t i = n + 1; i <= n + 3; ++i) std::ofstream{dir() / ("x" + std::to_string(i) + ".tmp")} << "keep";
  Result<TempFile> next = TempFile::create(dir(), "x");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->path().filename().string(), "x" + std::to_string(n + 4) + ".tmp");
  for (std::uint64_t i = n + 1; i <= n + 3; ++i) {
    std::ifstream in{dir() / ("x" + std::to_string(i) + ".tmp")};
    std::string content;
    in >> content;
    EXPECT_EQ(content, "keep");  // untouched
  }
}

TEST_F(ResourceDir, TempFileReleaseKeepsTheFileAndMoveTransfersOwnership) {
  fs::path kept;
  {
    TempFile a = TempFile::create(dir(), "m").value();
    TempFile b = std::move(a);
    EXPECT_TRUE(a.path().empty());
    kept = b.release();
  }
  EXPECT_TRUE(fs::exists(kept));
  fs::remove(kept);
}

TEST_F(ResourceDir, TempFileInAMissingDirectoryIsAnErrorValue) {
  Result<TempFile> r = TempFile::create(dir() / "no" / "such", "t");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("cannot create temp file"), std::string::npos);
}

TEST_F(ResourceDir, NothingRemainsAfterAnErrorPath) {
  auto work = [&](bool fail) -> Status {
    ResourceScope scope;
    TempFile& input = scope.own(TempFile::create(dir(), "in").value(), "input");
    scope.own(TempFile::create(dir(), "out").value(), "output");
    EXPECT_TRUE(fs::exists(input.path()));
    if (fail) return Error(ErrorCode::tool_error, "parse failed halfway");
    return {};
  };
  EXPECT_FALSE(work(true).ok());
  EXPECT_EQ(files_left(), 0u);
  EXPECT_TRUE(work(false).ok());
  EXPECT_EQ(files_left(), 0u);
  EXPECT_THROW(
      {
        ResourceScope scope;
        scope.own(TempFile::create(dir(), "exc").value());
        throw std::runtime_error("unexpected");
      },
      std::runtime_error);
  EXPECT_EQ(files_left(), 0u);
}

// A step holding a per-step scope (a child of the agent scope) with temp files, then waiting.
Task<void> step_with_files(ResourceScope& agent_scope, fs::path dir, int* files_made, bool* finished) {
  ResourceScope step{agent_scope, "step"};
  for (int i = 0; i < 3; ++i) {
    step.own(TempFile::create(dir, "step").value(), "scratch");
    ++*files_made;
  }
  (void)co_await sleep_for(1h);  // cancelled or destroyed here
  *finished = true;
}

TEST_F(ResourceDir, NothingRemainsAfterTheCoroutineHoldingTheScopeIsCancelled) {
  sim::Simulator sim;
  ResourceScope agent_scope{nullptr, &sim, "agent"};
  CancelSource stop;
  int made = 0;
  bool finished = false;
  spawn(sim, step_with_files(agent_scope, dir(), &made, &finished), [] {}, keel::detail::TerminateOnError{},
        stop.token());
  sim.run_for(1s);
  EXPECT_EQ(made, 3);
  EXPECT_EQ(files_left(), 3u);
  EXPECT_EQ(agent_scope.pending(), 1u);  // the step scope
  stop.cancel();
  sim.run_until_idle();
  EXPECT_EQ(sim.now(), TimePoint{} + 1s);  // released at once, not after the hour
  EXPECT_TRUE(finished);                   // sleep_for returned `cancelled`; the body went on
  EXPECT_EQ(files_left(), 0u);
  EXPECT_EQ(agent_scope.pending(), 0u);
}

TEST_F(ResourceDir, NothingRemainsAfterTheSimulatorIsDestroyedWithTheCoroutineSuspended) {
  ResourceScope agent_scope{nullptr, nullptr, "agent"};
  int made = 0;
  bool finished = false;
  {
    sim::Simulator sim;
    spawn(sim, step_with_files(agent_scope, dir(), &made, &finished));
    sim.run_for(1min);
    EXPECT_EQ(files_left(), 3u);
  }  // the suspended frame is destroyed with the simulator
  EXPECT_FALSE(finished);
  EXPECT_EQ(files_left(), 0u);
  EXPECT_EQ(agent_scope.pending(), 0u);
}

TEST_F(ResourceDir, ClosingTheAgentScopeReleasesASuspendedStepsFiles) {
  sim::Simulator sim;
  auto agent_scope = std::make_unique<ResourceScope>(nullptr, &sim, "agent");
  int made = 0;
  bool finished = false;
  spawn(sim, step_with_files(*agent_scope, dir(), &made, &finished));
  sim.run_for(1s);
  EXPECT_EQ(files_left(), 3u);
  agent_scope->close();  // e.g. agent reset while a step is parked
  EXPECT_EQ(files_left(), 0u);
  agent_scope.reset();
  sim.run_until_idle();  // the step finishes later; its (detached, empty) scope ends quietly
  EXPECT_TRUE(finished);
}

TEST(ResourceScoped, DeleterRunsExactlyOnce) {
  int deleted = 0;
  {
    ScopedResource<int> fd{7, [&](int& v) { deleted += v; }};
    EXPECT_EQ(*fd, 7);
    EXPECT_TRUE(fd.armed());
  }
  EXPECT_EQ(deleted, 7);
  {
    ScopedResource<int> fd{1, [&](int& v) { deleted += v; }};
    fd.reset();
    fd.reset();
  }
  EXPECT_EQ(deleted, 8);
}

TEST(ResourceScoped, MoveTransfersAndReleaseDisarms) {
  int deleted = 0;
  {
    ScopedResource<std::string> a{"conn", [&](std::string&) { ++deleted; }};
    ScopedResource<std::string> b = std::move(a);
    EXPECT_FALSE(a.armed());
    EXPECT_EQ(b.get(), "conn");
    ScopedResource<std::string> c{"other", [&](std::string&) { ++deleted; }};
    c = std::move(b);  // releases "other" first
    EXPECT_EQ(deleted, 1);
    EXPECT_EQ(c->size(), 4u);
  }
  EXPECT_EQ(deleted, 2);
  {
    ScopedResource<int> kept{3, [&](int&) { ++deleted; }};
    EXPECT_EQ(kept.release(), 3);
  }
  EXPECT_EQ(deleted, 2);
}

TEST(ResourceScoped, ThrowingDeleterIsSwallowedByTheDestructor) {
  EXPECT_NO_THROW({ ScopedResource<int> r(1, [](int&) { throw std::runtime_error("x"); }); });
}

}  // namespace
}  // namespace keel::agent
