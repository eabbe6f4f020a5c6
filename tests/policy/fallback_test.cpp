// Fallback: selection by error code, value and operation alternatives, counters and events.
#include <string>

#include <gtest/gtest.h>

#include "keel/core/sleep.h"
#include "keel/core/spawn.h"
#include "keel/core/timeout.h"
#include "keel/policy/fallback.h"
#include "keel/sim/simulator.h"

namespace keel::policy {
namespace {

using namespace std::chrono_literals;
using sim::Simulator;

TimePoint at(Duration d) { return TimePoint{} + d; }

Task<Result<std::string>> answer(std::string s) {
  co_await sleep_for(10ms);
  co_return s;
}
Task<Result<std::string>> failure(ErrorCode code) {
  co_await sleep_for(10ms);
  co_return Error(code, "primary failed");
}

// Runs fb.execute(op) to completion and returns the result.
template <class Op>
Result<std::string> run(Fallback<std::string>& fb, Op op, Simulator& sim) {
  Result<std::string> out = Error(ErrorCode::internal, "not run");
  auto body = [&]() -> Task<void> { out = co_await fb.execute(op); };
  spawn(sim, body());
  sim.run_until_idle();
  return out;
}

TEST(FallbackTest, ASuccessPassesThroughUntouchedAndEmitsNothing) {
  Simulator sim;
  RecordingSink rec;
  Fallback<std::string> fb{{}, &rec};
  fb.with_value("canned");
  auto r = run(fb, [] { return answer("real"); }, sim);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "real");
  EXPECT_EQ(fb.counters().passed, 1u);
  EXPECT_EQ(fb.counters().used, 0u);
  EXPECT_EQ(rec.size(), 0u);
}

TEST(FallbackTest, AHandledCodeIsAnsweredWithTheValue) {
  Simulator sim;
  RecordingSink rec;
  Fallback<std::string> fb{{}, &rec};
  fb.with_value("canned");
  auto r = run(fb, [] { return failure(ErrorCode::server_error); }, sim);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "canned");
  EXPECT_EQ(fb.counters().used, 1u);
  const RecordedEvent* e = rec.find("fallback.used");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->time, at(10ms));
  EXPECT_EQ(*e->get<std::string>("code"), "server_error");
  EXPECT_EQ(*e->get<std::string>("with"), "value");
}

TEST(FallbackTest, ACodeOutsideTheSetPassesThrough) {
  Simulator sim;
  RecordingSink rec;
  Fallback<std::string> fb{{.on = FallbackCodeSet{ErrorCode::context_overflow}}, &rec};
  fb.with_value("canned");
  auto r = run(fb, [] { return failure(ErrorCode::auth); }, sim);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::auth);
  EXPECT_EQ(fb.counters().not_handled, 1u);
  EXPECT_EQ(*rec.find("fallback.skipped")->get<std::string>("code"), "auth");
}

TEST(FallbackTest, TheDefaultSetIsEverythingButCancelled) {
  const FallbackCodeSet d = FallbackConfig{}.on;
  for (const ErrorCodeInfo& info : kErrorCodes) EXPECT_EQ(d.contains(info.code), info.code != ErrorCode::cancelled) << info.name;
  Simulator sim;
  Fallback<std::string> fb;
  fb.with_value("canned");
  auto r = run(fb, [] { return failure(ErrorCode::cancelled); }, sim);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::cancelled);
  EXPECT_FALSE(fb.handles(ErrorCode::cancelled));
  EXPECT_TRUE(fb.handles(ErrorCode::quota_exhausted));
}

TEST(FallbackTest, AnAlternativeOperationGetsTheErrorAndItsResultIsReturned) {
  Simulator sim;
  RecordingSink rec;
  Fallback<std::string> fb{{.on = FallbackCodeSet{ErrorCode::context_overflow}}, &rec};
  ErrorCode seen = ErrorCode::internal;
  fb.with_operation([&](const Error& e) {
    seen = e.code;
    return answer("from the large-context model");
  });
  auto r = run(fb, [] { return failure(ErrorCode::context_overflow); }, sim);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, "from the large-context model");
  EXPECT_EQ(seen, ErrorCode::context_overflow);
  EXPECT_EQ(sim.now(), at(20ms)) << "the alternative starts after the primary finished";
  EXPECT_EQ(*rec.find("fallback.used")->get<std::string>("with"), "operation");
}

TEST(FallbackTest, AFailingAlternativeReturnsItsOwnError) {
  Simulator sim;
  Fallback<std::string> fb;
  fb.with_operation([] { return failure(ErrorCode::rate_limited); });  // nullary form
  auto r = run(fb, [] { return failure(ErrorCode::server_error); }, sim);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::rate_limited);
  EXPECT_EQ(fb.counters().used, 1u);
}

TEST(FallbackTest, WithoutAFallbackErrorsPassThrough) {
  Simulator sim;
  Fallback<std::string> fb;
  EXPECT_FALSE(fb.handles(ErrorCode::server_error));
  auto r = run(fb, [] { return failure(ErrorCode::server_error); }, sim);
  ASSERT_FALSE(r);
  EXPECT_EQ(fb.counters().not_handled, 1u);
}

TEST(FallbackTest, TheAlternativeRunsUnderTheCallersDeadline) {
  Simulator sim;
  Fallback<std::string> fb;
  Deadline seen{};
  fb.with_operation([&]() -> Task<Result<std::string>> {
    seen = co_await this_task::deadline();
    co_return std::string("alt");
  });
  Result<std::string> out = Error(ErrorCode::internal);
  auto body = [&]() -> Task<void> {
    out = co_await with_timeout(fb.execute([] { return failure(ErrorCode::timeout); }), 1s);
  };
  spawn(sim, body());
  sim.run_until_idle();
  ASSERT_TRUE(out);
  EXPECT_EQ(seen, Deadline::at(at(1s)));
}

TEST(FallbackTest, BuildersChainOnTemporariesAndCodeSetsCompose) {
  Fallback<std::string> fb = Fallback<std::string>{{.on = FallbackCodeSet{ErrorCode::timeout}}}.with_value("x");
  EXPECT_TRUE(fb.handles(ErrorCode::timeout));
  EXPECT_FALSE(fb.handles(ErrorCode::network));
  FallbackCodeSet s;
  EXPECT_TRUE(s.empty());
  s.insert(ErrorCode::network).insert(ErrorCode::timeout).erase(ErrorCode::timeout);
  EXPECT_EQ(s, FallbackCodeSet{ErrorCode::network});
  EXPECT_EQ(to_string(FallbackReason::not_handled), "not_handled");
}

Task<Result<std::string>> quick() {
  co_await yield_now();
  co_return std::string("ok");
}

Task<void> fallback_loop(Fallback<std::string>* fb, int n, std::uint64_t* allocs) {
  auto op = [] { return quick(); };
  for (int i = 0; i < 10; ++i) (void)co_await fb->execute(op);
  const std::uint64_t before = frame_heap_allocations();
  for (int i = 0; i < n; ++i) (void)co_await fb->execute(op);
  *allocs = frame_heap_allocations() - before;
}

TEST(FallbackTest, TheSuccessPathTakesNothingFromTheHeapOnceWarm) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "frame pooling is off under AddressSanitizer";
#endif
  Simulator sim;
  Fallback<std::string> fb;
  fb.with_value("canned");
  std::uint64_t allocs = 99;
  spawn(sim, fallback_loop(&fb, 200, &allocs));
  sim.run_until_idle();
  EXPECT_EQ(allocs, 0u);
  EXPECT_EQ(fb.counters().passed, 210u);
}

}  // namespace
}  // namespace keel::policy
