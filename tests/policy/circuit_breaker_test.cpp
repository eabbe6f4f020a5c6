// CircuitBreaker: every transition and config knob, with counters and events asserted.
#include "keel/policy/circuit_breaker.h"

#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "keel/core/sleep.h"
#include "keel/core/spawn.h"
#include "keel/sim/simulator.h"

namespace keel::policy {
namespace {

using namespace std::chrono_literals;

TimePoint at(Duration d) { return TimePoint{} + d; }

const BreakerOutcome kOk = BreakerOutcome::success();
const BreakerOutcome kFail = BreakerOutcome::error(ErrorCode::server_error);

class CircuitBreakerTest : public ::testing::Test {
 protected:
  // Acquire and, if granted, record `o` at `t`.
  static BreakerPermit call(CircuitBreaker& b, TimePoint t, BreakerOutcome o, Duration latency = 0ms) {
    BreakerPermit p = b.try_acquire(t);
    if (p) b.on_result(p, o, latency, t);
    return p;
  }
  // The reasons of every "breaker.state" event, in order.
  std::vector<std::string> reasons() const {
    std::vector<std::string> out;
    for (const RecordedEvent* e : events.find_all("breaker.state")) out.push_back(*e->get<std::string>("reason"));
    return out;
  }
  // A breaker that opens after one failure (count window of 1) — for half-open tests.
  CircuitBreakerConfig trip_on_first_failure() {
    CircuitBreakerConfig c;
    c.name = "prov";
    c.size = 1;
    c.min_calls = 1;
    c.open_for = 10s;
    return c;
  }
  RecordingSink events;
};

TEST_F(CircuitBreakerTest, NamesAndDefaults) {
  EXPECT_EQ(to_string(BreakerState::half_open), "half_open");
  EXPECT_EQ(to_string(BreakerReason::half_open_timeout), "half_open_timeout");
  EXPECT_EQ(to_string(BreakerCodeClass::non_failure), "non_failure");
  EXPECT_EQ(to_string(BreakerPermit::Kind::refused_open), "refused_open");
  const CircuitBreakerConfig c;
  EXPECT_EQ(c.window, WindowKind::count);
  EXPECT_EQ(c.size, 100u);
  EXPECT_EQ(c.duration, 60s);
  EXPECT_EQ(c.failure_rate, 0.5);
  EXPECT_EQ(c.min_calls, 100u);
  EXPECT_EQ(c.open_for, 60s);
  EXPECT_EQ(c.half_open_calls, 10u);
  const CircuitBreaker b{c};
  EXPECT_EQ(b.success_threshold(), 10u);
  EXPECT_EQ(b.effective_min_calls(), 100u);
  const auto t = BreakerCodeTable::defaults();
  for (ErrorCode e : {ErrorCode::server_error, ErrorCode::timeout, ErrorCode::network, ErrorCode::rate_limited,
                      ErrorCode::malformed_response, ErrorCode::tool_error})
    EXPECT_EQ(t[e], BreakerCodeClass::failure) << to_string(e);
  for (ErrorCode e : {ErrorCode::invalid_request, ErrorCode::context_overflow, ErrorCode::auth,
                      ErrorCode::quota_exhausted})
    EXPECT_EQ(t[e], BreakerCodeClass::non_failure) << to_string(e);
  for (ErrorCode e : {ErrorCode::cancelled, ErrorCode::circuit_open, ErrorCode::bulkhead_full, ErrorCode::throttled,
                      ErrorCode::budget_exhausted, ErrorCode::horizon, ErrorCode::internal})
    EXPECT_EQ(t[e], BreakerCodeClass::ignored) << to_string(e);
}

TEST_F(CircuitBreakerTest, InvalidConfigThrows) {
  auto bad = [](auto mutate) {
    CircuitBreakerConfig c;
    mutate(c);
    return [c] { CircuitBreaker b{c}; };
  };
  EXPECT_THROW(bad([](auto& c) { c.failure_rate = 0; })(), std::invalid_argument);
  EXPECT_THROW(bad([](auto& c) { c.failure_rate = 1.5; })(), std::invalid_argument);
  EXPECT_THROW(bad([](auto& c) { c.slow_call_rate = 0; })(), std::invalid_argument);
  EXPECT_THROW(bad([](auto& c) { c.size = 0; })(), std::invalid_argument);
  EXPECT_THROW(bad([](auto& c) { c.window = WindowKind::time; c.bucket_width = 0s; })(), std::invalid_argument);
  EXPECT_THROW(bad([](auto& c) { c.window = WindowKind::time; c.duration = 1h; c.bucket_width = 1ns; })(),
               std::invalid_argument);
  EXPECT_THROW(bad([](auto& c) { c.open_growth = 0.5; })(), std::invalid_argument);
  EXPECT_THROW(bad([](auto& c) { c.half_open_calls = 0; })(), std::invalid_argument);
  EXPECT_THROW(bad([](auto& c) { c.half_open_success_threshold = 11; })(), std::invalid_argument);
  EXPECT_THROW(bad([](auto& c) { c.half_open_success_threshold = 0; })(), std::invalid_argument);
  EXPECT_THROW(bad([](auto& c) { c.half_open_max_in_flight = 11; })(), std::invalid_argument);
  EXPECT_THROW(bad([](auto& c) { c.half_open_max_in_flight = 0; })(), std::invalid_argument);
  EXPECT_THROW(bad([](auto& c) { c.consecutive_failures = 0; })(), std::invalid_argument);
  EXPECT_THROW(bad([](auto& c) { c.max_half_open_wait = 0s; })(), std::invalid_argument);
  EXPECT_NO_THROW(bad([](auto& c) { c.window = WindowKind::time; c.duration = 1500ms; })());
}

TEST_F(CircuitBreakerTest, CountWindowOpensAtFailureRateOnceMinCallsReached) {
  CircuitBreaker b{{.name = "prov", .size = 10, .failure_rate = 0.5, .min_calls = 4, .open_for = 30s}, &events};
  call(b, at(0s), kFail);
  call(b, at(1s), kFail);
  call(b, at(2s), kFail);  // 3/3 failed, but only 3 < min_calls calls
  EXPECT_EQ(b.state(at(2s)), BreakerState::closed);
  EXPECT_EQ(b.window_stats(at(2s)), (WindowStats{3, 3, 0}));
  call(b, at(3s), kOk);  // 3/4 >= 0.5 with 4 calls: opens (even on a success)
  EXPECT_EQ(b.state(at(3s)), BreakerState::open);
  EXPECT_EQ(b.window_stats(at(3s)), WindowStats{});  // opening resets the window
  const auto& c = b.counters();
  EXPECT_EQ(c.permitted, 4u);
  EXPECT_EQ(c.failures, 3u);
  EXPECT_EQ(c.successes, 1u);
  EXPECT_EQ(c.to_open, 1u);
  EXPECT_EQ(c.transitions(BreakerReason::failure_rate), 1u);
  ASSERT_EQ(events.count("breaker.state"), 1u);
  const RecordedEvent* e = events.find("breaker.state");
  EXPECT_EQ(*e->get<std::string>("target"), "prov");
  EXPECT_EQ(*e->get<std::string>("from"), "closed");
  EXPECT_EQ(*e->get<std::string>("to"), "open");
  EXPECT_EQ(*e->get<std::string>("reason"), "failure_rate");
  EXPECT_EQ(e->get_int("open_for"), Duration{30s}.count());
  EXPECT_EQ(e->get_int("until"), Duration{33s}.count());
  EXPECT_EQ(e->time, at(3s));
}

// The trace ids given to try_acquire/on_result are on the events they cause; a transition seen
// by state() has none.
TEST_F(CircuitBreakerTest, EventsCarryTheIdsOfTheCallThatCausedThem) {
  CircuitBreaker b{trip_on_first_failure(), &events};
  const TraceIds first{.agent = 1, .step = 1, .call = 1, .attempt = 1};
  const TraceIds second{.agent = 2, .step = 3, .call = 1, .attempt = 2};
  const BreakerPermit p = b.try_acquire(at(1s), true, &first);
  b.on_result(p, kFail, 0s, at(1s), &first);
  EXPECT_FALSE(b.try_acquire(at(2s), true, &second));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events.events()[0].kind, "breaker.state");
  EXPECT_EQ(events.events()[0].get_int("agent"), 1);
  EXPECT_EQ(events.events()[0].get_int("attempt"), 1);
  EXPECT_EQ(events.events()[1].kind, "breaker.refused");
  EXPECT_EQ(events.events()[1].get_int("agent"), 2);
  EXPECT_EQ(events.events()[1].get_int("attempt"), 2);
  EXPECT_EQ(b.state(at(1h)), BreakerState::half_open);
  EXPECT_FALSE(events.events().back().has("agent"));
}

TEST_F(CircuitBreakerTest, CountWindowForgetsCallsThatSlideOut) {
  CircuitBreaker b{{.size = 4, .failure_rate = 0.75, .min_calls = 4}};
  call(b, at(0s), kFail);
  call(b, at(0s), kFail);
  for (int i = 0; i < 4; ++i) call(b, at(0s), kOk);  // both failures slide out
  EXPECT_EQ(b.window_stats(at(0s)), (WindowStats{4, 0, 0}));
  call(b, at(0s), kFail);
  call(b, at(0s), kFail);
  EXPECT_EQ(b.window_stats(at(0s)), (WindowStats{4, 2, 0}));  // 2/4 < 0.75
  EXPECT_EQ(b.state(at(0s)), BreakerState::closed);
  call(b, at(0s), kFail);  // 3/4
  EXPECT_EQ(b.state(at(0s)), BreakerState::open);
}

TEST_F(CircuitBreakerTest, MinCallsIsCappedAtTheCountWindowSize) {
  CircuitBreaker b{{.size = 3, .min_calls = 100}};
  EXPECT_EQ(b.effective_min_calls(), 3u);
  call(b, at(0s), kFail);
  call(b, at(0s), kOk);
  EXPECT_EQ(b.state(at(0s)), BreakerState::closed);
  call(b, at(0s), kFail);  // 2/3
  EXPECT_EQ(b.state(at(0s)), BreakerState::open);
}

TEST_F(CircuitBreakerTest, TimeWindowExpiresWholeBucketsAsTimeAdvances) {
  CircuitBreaker b{{.window = WindowKind::time, .duration = 10s, .failure_rate = 0.5, .min_calls = 3}};
  call(b, at(0s), kFail);
  call(b, at(1500ms), kFail);
  EXPECT_EQ(b.window_stats(at(9999ms)), (WindowStats{2, 2, 0}));
  // At 10.5 s the window is buckets 1..10: bucket 0 (the call at 0 s) expired.
  EXPECT_EQ(b.window_stats(at(10500ms)), (WindowStats{1, 1, 0}));
  call(b, at(10500ms), kOk);
  EXPECT_EQ(b.state(at(10500ms)), BreakerState::closed);  // 2 calls < min_calls
  // At 11.9 s the window is buckets 2..11: the failure at 1.5 s (bucket 1) expired at 11 s.
  EXPECT_EQ(b.window_stats(at(11900ms)), (WindowStats{1, 0, 0}));
  call(b, at(11900ms), kFail);
  call(b, at(11900ms), kFail);
  EXPECT_EQ(b.state(at(11900ms)), BreakerState::open);  // 2 of 3 failed
}

TEST_F(CircuitBreakerTest, TimeWindowLongJumpForgetsEverything) {
  CircuitBreaker b{{.window = WindowKind::time, .duration = 5s, .bucket_width = 500ms, .min_calls = 50}};
  for (int i = 0; i < 20; ++i) call(b, at(i * 100ms), i % 2 ? kOk : kFail);
  EXPECT_EQ(b.window_stats(at(2s)), (WindowStats{20, 10, 0}));
  EXPECT_EQ(b.window_stats(at(4999ms)), (WindowStats{20, 10, 0}));
  EXPECT_EQ(b.window_stats(at(5s)), (WindowStats{15, 7, 0}));  // bucket [0, 0.5 s) expired
  EXPECT_EQ(b.window_stats(at(1h)), WindowStats{});
  call(b, at(1h), kFail);
  EXPECT_EQ(b.window_stats(at(1h + 4s)), (WindowStats{1, 1, 0}));
}

TEST_F(CircuitBreakerTest, ConsecutiveFailuresOpenRegardlessOfTheRate) {
  CircuitBreaker b{{.size = 100, .min_calls = 100, .consecutive_failures = 3}, &events};
  for (int i = 0; i < 10; ++i) call(b, at(0s), kOk);
  call(b, at(1s), kFail);
  call(b, at(1s), kFail);
  call(b, at(1s), BreakerOutcome::error(ErrorCode::invalid_request));  // a 400 answer breaks the run
  EXPECT_EQ(b.consecutive_failures(), 0u);
  call(b, at(2s), kFail);
  call(b, at(2s), kFail);
  call(b, at(2s), BreakerOutcome::error(ErrorCode::cancelled));  // ignored: does not break the run
  EXPECT_EQ(b.consecutive_failures(), 2u);
  EXPECT_EQ(b.state(at(2s)), BreakerState::closed);
  call(b, at(3s), BreakerOutcome::error(ErrorCode::timeout));
  EXPECT_EQ(b.state(at(3s)), BreakerState::open);
  EXPECT_EQ(reasons(), std::vector<std::string>{"consecutive_failures"});
  EXPECT_EQ(b.counters().transitions(BreakerReason::consecutive_failures), 1u);
}

TEST_F(CircuitBreakerTest, SlowCallRateOpens) {
  CircuitBreaker b{{.size = 10, .min_calls = 4, .slow_call_duration = 1s, .slow_call_rate = 0.5}, &events};
  call(b, at(0s), kOk, 1s);      // exactly the threshold: not slow
  call(b, at(0s), kOk, 1001ms);  // slow success
  call(b, at(0s), BreakerOutcome::error(ErrorCode::invalid_request), 5s);  // slow benign error
  EXPECT_EQ(b.window_stats(at(0s)), (WindowStats{3, 0, 2}));
  EXPECT_EQ(b.state(at(0s)), BreakerState::closed);  // 3 < min_calls
  call(b, at(0s), kOk);
  EXPECT_EQ(b.state(at(0s)), BreakerState::open);  // 2/4 slow
  EXPECT_EQ(reasons(), std::vector<std::string>{"slow_call_rate"});
  EXPECT_EQ(b.counters().slow_calls, 2u);
  EXPECT_EQ(b.counters().successes, 3u);
  EXPECT_EQ(b.counters().benign_errors, 1u);
}

// The rate checks open at exactly the count where `count / calls >= rate` first holds in
// double arithmetic (the breaker caches that threshold instead of dividing per call), for
// rates that are not exact binary fractions and window sizes that make the quotient round.
TEST_F(CircuitBreakerTest, RateThresholdsMatchTheDoubleDivisionExactly) {
  const std::vector<double> rates = {0.1, 0.2, 0.3, 1.0 / 3.0, 0.5, 0.6, 0.7, 2.0 / 3.0, 0.9, 0.99, 1.0};
  const std::vector<std::uint32_t> sizes = {1, 3, 7, 10, 30, 49, 100, 333};
  for (const double rate : rates) {
    for (const std::uint32_t size : sizes) {
      for (const bool slow_rate : {false, true}) {
        SCOPED_TRACE(::testing::Message() << "rate " << rate << " size " << size << (slow_rate ? " slow" : " failure"));
        CircuitBreakerConfig c;
        c.size = size;
        c.min_calls = size;
        if (slow_rate) {
          c.slow_call_duration = 1s;
          c.slow_call_rate = rate;
        } else {
          c.failure_rate = rate;
        }
        CircuitBreaker b{c};
        const BreakerOutcome bad = slow_rate ? kOk : kFail;
        const Duration latency = slow_rate ? 2s : 0ms;
        std::uint32_t expected_open_at = size;  // the first count with count / size >= rate
        for (std::uint32_t k = 1; k <= size; ++k) {
          if (static_cast<double>(k) / static_cast<double>(size) >= rate) {
            expected_open_at = k;
            break;
          }
        }
        for (std::uint32_t i = 0; i < size; ++i) call(b, at(0ms), kOk);  // a full, clean window
        for (std::uint32_t k = 1; k <= expected_open_at; ++k) {
          ASSERT_EQ(b.state(at(0ms)), BreakerState::closed) << "opened early at " << k - 1;
          call(b, at(0ms), bad, latency);  // the window now holds k bad calls of `size`
        }
        EXPECT_EQ(b.state(at(0ms)), BreakerState::open);
        EXPECT_EQ(b.counters().transitions(slow_rate ? BreakerReason::slow_call_rate : BreakerReason::failure_rate), 1u);
      }
    }
  }
}

// A time window's call total changes with every record: the threshold follows it.
TEST_F(CircuitBreakerTest, RateThresholdFollowsAGrowingTimeWindow) {
  CircuitBreakerConfig c;
  c.window = WindowKind::time;
  c.duration = 10s;
  c.min_calls = 4;
  c.failure_rate = 0.3;
  CircuitBreaker b{c};
  // 7 successes, then failures: 3 of 10 calls is the first point where f / calls >= 0.3.
  for (int i = 0; i < 7; ++i) call(b, at(1s), kOk);
  call(b, at(1s), kFail);  // 1 / 8
  call(b, at(1s), kFail);  // 2 / 9
  EXPECT_EQ(b.state(at(1s)), BreakerState::closed);
  call(b, at(1s), kFail);  // 3 / 10
  EXPECT_EQ(b.state(at(1s)), BreakerState::open);
}

TEST_F(CircuitBreakerTest, SlowCallsAreOffWithoutADuration) {
  CircuitBreaker b{{.size = 2, .min_calls = 2, .slow_call_rate = 0.1}};
  call(b, at(0s), kOk, 1h);
  call(b, at(0s), kOk, 1h);
  EXPECT_EQ(b.state(at(0s)), BreakerState::closed);
  EXPECT_EQ(b.counters().slow_calls, 0u);
}

TEST_F(CircuitBreakerTest, RefusalFailsFastWithTheRemainingOpenTime) {
  CircuitBreaker b{trip_on_first_failure(), &events};
  call(b, at(5s), kFail);
  BreakerPermit p = b.try_acquire(at(8s));
  ASSERT_FALSE(p);
  EXPECT_EQ(p.kind(), BreakerPermit::Kind::refused_open);
  EXPECT_EQ(p.retry_after(), Duration{7s});
  const Error e = p.error();
  EXPECT_EQ(e.code, ErrorCode::circuit_open);
  EXPECT_EQ(e.retry_after, Duration{7s});
  EXPECT_FALSE(e.message.empty());
  EXPECT_EQ(b.remaining_open(at(8s)), 7s);
  EXPECT_EQ(b.counters().refused, 1u);
  ASSERT_EQ(events.count("breaker.refused"), 1u);
  const RecordedEvent* r = events.find("breaker.refused");
  EXPECT_EQ(*r->get<std::string>("state"), "open");
  EXPECT_EQ(r->get_int("retry_after"), Duration{7s}.count());
  // A refused permit's result is a no-op.
  b.on_result(p, kFail, 0s, at(8s));
  EXPECT_EQ(b.counters().failures, 1u);
  EXPECT_EQ(b.counters().stale, 0u);
}

TEST_F(CircuitBreakerTest, OpenBecomesHalfOpenLazilyAtTheDeadline) {
  CircuitBreaker b{trip_on_first_failure(), &events};
  call(b, at(0s), kFail);
  EXPECT_EQ(b.state(at(9999ms)), BreakerState::open);
  EXPECT_EQ(b.counters().to_half_open, 0u);
  EXPECT_EQ(b.state(at(10s)), BreakerState::half_open);
  EXPECT_EQ(b.remaining_open(at(10s)), 0s);
  EXPECT_EQ(reasons(), (std::vector<std::string>{"failure_rate", "open_elapsed"}));
  EXPECT_EQ(b.counters().to_half_open, 1u);
  EXPECT_EQ(b.counters().transitions(BreakerReason::open_elapsed), 1u);
}

TEST_F(CircuitBreakerTest, HalfOpenAdmitsExactlyTheProbeCount) {
  auto c = trip_on_first_failure();
  c.half_open_calls = 3;
  CircuitBreaker b{c, &events};
  call(b, at(0s), kFail);
  std::vector<BreakerPermit> probes;
  for (int i = 0; i < 3; ++i) {
    probes.push_back(b.try_acquire(at(10s)));
    EXPECT_EQ(probes.back().kind(), BreakerPermit::Kind::probe);
  }
  const BreakerPermit extra = b.try_acquire(at(11s));
  EXPECT_EQ(extra.kind(), BreakerPermit::Kind::refused_half_open_full);
  EXPECT_EQ(extra.retry_after(), std::nullopt);
  EXPECT_EQ(extra.error().code, ErrorCode::circuit_open);
  EXPECT_EQ(extra.error().retry_after, std::nullopt);
  EXPECT_EQ(b.counters().probes, 3u);
  EXPECT_EQ(b.counters().refused, 1u);
  EXPECT_EQ(*events.find("breaker.refused")->get<std::string>("state"), "half_open");
  // Default threshold S = H: all three must succeed.
  b.on_result(probes[0], kOk, 0s, at(12s));
  b.on_result(probes[1], kOk, 0s, at(12s));
  EXPECT_EQ(b.state(at(12s)), BreakerState::half_open);
  b.on_result(probes[2], kOk, 0s, at(12s));
  EXPECT_EQ(b.state(at(12s)), BreakerState::closed);
  EXPECT_EQ(b.window_stats(at(12s)), WindowStats{});
  EXPECT_EQ(reasons(), (std::vector<std::string>{"failure_rate", "open_elapsed", "probes_succeeded"}));
  EXPECT_EQ(b.counters().to_closed, 1u);
  EXPECT_EQ(b.consecutive_opens(), 0u);
}

TEST_F(CircuitBreakerTest, ProbesInFlightAreLimitedButTheProbeCountIsNot) {
  auto c = trip_on_first_failure();
  c.half_open_calls = 3;
  c.half_open_max_in_flight = 1;
  CircuitBreaker b{c, &events};
  call(b, at(0s), kFail);
  const BreakerPermit first = b.try_acquire(at(10s));
  EXPECT_EQ(first.kind(), BreakerPermit::Kind::probe);
  // Many callers wait while the first probe is out: the target gets that one request.
  for (int i = 0; i < 5; ++i) EXPECT_EQ(b.try_acquire(at(11s)).kind(), BreakerPermit::Kind::refused_half_open_full);
  b.on_result(first, kOk, 0s, at(12s));
  EXPECT_EQ(b.state(at(12s)), BreakerState::half_open);  // 1 of 3 successes
  // An ignored probe result gives its slot back, in flight too.
  const BreakerPermit second = b.try_acquire(at(12s));
  EXPECT_EQ(second.kind(), BreakerPermit::Kind::probe);
  b.on_result(second, BreakerOutcome::error(ErrorCode::cancelled), 0s, at(13s));
  for (int i = 0; i < 2; ++i) {
    const BreakerPermit p = b.try_acquire(at(13s));
    ASSERT_EQ(p.kind(), BreakerPermit::Kind::probe) << i;
    b.on_result(p, kOk, 0s, at(14s));
  }
  EXPECT_EQ(b.state(at(14s)), BreakerState::closed);
  EXPECT_EQ(b.counters().probes, 4u);
  EXPECT_EQ(b.counters().refused, 5u);
}

TEST_F(CircuitBreakerTest, ASingleProbeInFlightStillReopensOnItsFailure) {
  auto c = trip_on_first_failure();
  c.half_open_calls = 3;
  c.half_open_max_in_flight = 1;
  CircuitBreaker b{c, &events};
  call(b, at(0s), kFail);
  call(b, at(10s), kFail);
  EXPECT_EQ(b.state(at(10s)), BreakerState::open);
  EXPECT_EQ(b.remaining_open(at(10s)), 10s);
  EXPECT_EQ(reasons().back(), "probe_failed");
}

TEST_F(CircuitBreakerTest, AnyFailedProbeReopensWithTheDefaultThreshold) {
  auto c = trip_on_first_failure();
  c.half_open_calls = 3;
  CircuitBreaker b{c, &events};
  call(b, at(0s), kFail);
  call(b, at(10s), kOk);
  call(b, at(10s), kFail);
  EXPECT_EQ(b.state(at(10s)), BreakerState::open);
  EXPECT_EQ(reasons().back(), "probe_failed");
  EXPECT_EQ(b.counters().transitions(BreakerReason::probe_failed), 1u);
}

TEST_F(CircuitBreakerTest, SuccessThresholdToleratesSomeFailedProbes) {
  auto c = trip_on_first_failure();
  c.half_open_calls = 5;
  c.half_open_success_threshold = 3;  // up to H - S = 2 failures tolerated
  c.failure_rate = 1.0;               // the rate rule needs 5/5 failures: never first here
  CircuitBreaker b{c, &events};
  call(b, at(0s), kFail);
  call(b, at(10s), kFail);
  call(b, at(10s), kOk);
  call(b, at(10s), kFail);
  EXPECT_EQ(b.state(at(10s)), BreakerState::half_open);
  call(b, at(10s), kOk);
  call(b, at(10s), kOk);  // third success
  EXPECT_EQ(b.state(at(10s)), BreakerState::closed);
  // Again, with a third failure: S is no longer reachable.
  call(b, at(20s), kFail);  // opens (size-1 window)
  call(b, at(30s), kFail);
  call(b, at(30s), kFail);
  EXPECT_EQ(b.state(at(30s)), BreakerState::half_open);
  call(b, at(30s), kFail);
  EXPECT_EQ(b.state(at(30s)), BreakerState::open);
  EXPECT_EQ(reasons().back(), "probe_failed");
}

TEST_F(CircuitBreakerTest, ProbeFailureRateOverTheSlotsReopensEarly) {
  auto c = trip_on_first_failure();
  c.half_open_calls = 10;
  c.half_open_success_threshold = 3;
  c.failure_rate = 0.2;  // 2 failed probes of 10 slots already reach 20 %
  CircuitBreaker b{c};
  call(b, at(0s), kFail);
  call(b, at(10s), kOk);
  call(b, at(10s), kFail);
  EXPECT_EQ(b.state(at(10s)), BreakerState::half_open);
  call(b, at(10s), kFail);
  EXPECT_EQ(b.state(at(10s)), BreakerState::open);
  EXPECT_EQ(b.counters().transitions(BreakerReason::probe_failed), 1u);
}

TEST_F(CircuitBreakerTest, SlowProbesReopen) {
  auto c = trip_on_first_failure();
  c.half_open_calls = 2;
  c.slow_call_duration = 1s;
  c.slow_call_rate = 0.5;
  CircuitBreaker b{c, &events};
  call(b, at(0s), kFail);
  call(b, at(10s), kOk, 2s);
  EXPECT_EQ(b.state(at(10s)), BreakerState::open);
  EXPECT_EQ(reasons().back(), "probe_slow");
}

TEST_F(CircuitBreakerTest, RepeatedOpensGrowUpToTheCapAndClosingResetsGrowth) {
  auto c = trip_on_first_failure();
  c.half_open_calls = 1;
  c.open_growth = 2.0;
  c.max_open_for = 25s;
  CircuitBreaker b{c, &events};
  EXPECT_EQ(b.open_duration(1), 10s);
  EXPECT_EQ(b.open_duration(2), 20s);
  EXPECT_EQ(b.open_duration(3), 25s);
  EXPECT_EQ(b.open_duration(4000), 25s);  // no overflow
  call(b, at(0s), kFail);                 // open 10 s
  EXPECT_EQ(b.remaining_open(at(0s)), 10s);
  call(b, at(10s), kFail);  // probe fails: open 20 s
  EXPECT_EQ(b.consecutive_opens(), 2u);
  EXPECT_EQ(b.remaining_open(at(10s)), 20s);
  call(b, at(30s), kFail);  // open 25 s (capped)
  EXPECT_EQ(b.remaining_open(at(30s)), 25s);
  EXPECT_EQ(events.find_all("breaker.state").back()->get_int("open_for"), Duration{25s}.count());
  call(b, at(55s), kOk);  // probe succeeds
  EXPECT_EQ(b.state(at(55s)), BreakerState::closed);
  EXPECT_EQ(b.consecutive_opens(), 0u);
  call(b, at(60s), kFail);
  EXPECT_EQ(b.remaining_open(at(60s)), 10s);
  EXPECT_EQ(b.counters().to_open, 4u);
}

TEST_F(CircuitBreakerTest, MaxHalfOpenWaitReopensWhenProbesNeverFinish) {
  auto c = trip_on_first_failure();
  c.half_open_calls = 1;
  c.max_half_open_wait = 5s;
  c.open_growth = 2.0;
  CircuitBreaker b{c, &events};
  call(b, at(0s), kFail);
  const BreakerPermit probe = b.try_acquire(at(12s));  // the clock starts at the first probe
  ASSERT_EQ(probe.kind(), BreakerPermit::Kind::probe);
  EXPECT_EQ(b.state(at(16999ms)), BreakerState::half_open);
  EXPECT_EQ(b.state(at(17s)), BreakerState::open);  // 12 s + 5 s
  EXPECT_EQ(reasons().back(), "half_open_timeout");
  EXPECT_EQ(b.remaining_open(at(17s)), 20s);  // second open: grown
  // The abandoned probe finally answers: stale, changes nothing.
  b.on_result(probe, kOk, 30s, at(18s));
  EXPECT_EQ(b.counters().stale, 1u);
  EXPECT_EQ(b.counters().successes, 0u);
  EXPECT_EQ(b.state(at(18s)), BreakerState::open);
}

TEST_F(CircuitBreakerTest, HalfOpenTimeoutIsComputedFromLogicalTimeNotObservation) {
  auto c = trip_on_first_failure();
  c.half_open_calls = 1;
  c.max_half_open_wait = 5s;
  CircuitBreaker b{c, &events};
  call(b, at(0s), kFail);
  (void)b.try_acquire(at(10s));  // probe, never answered
  // Observed only much later: timed out at 15 s, open until 25 s, half-open again since then.
  EXPECT_EQ(b.state(at(100s)), BreakerState::half_open);
  EXPECT_EQ(reasons(), (std::vector<std::string>{"failure_rate", "open_elapsed", "half_open_timeout", "open_elapsed"}));
  const auto all = events.find_all("breaker.state");
  EXPECT_EQ(all[2]->get_int("until"), Duration{25s}.count());
  EXPECT_EQ(all[3]->time, at(100s));
  // An idle half-open is not stuck: the next caller probes.
  EXPECT_EQ(b.try_acquire(at(100s)).kind(), BreakerPermit::Kind::probe);
}

TEST_F(CircuitBreakerTest, IsolateAndReset) {
  CircuitBreaker b{{.size = 10, .min_calls = 10}, &events};
  call(b, at(0s), kFail);
  b.isolate(at(1s));
  EXPECT_EQ(b.state(at(1s)), BreakerState::isolated);
  EXPECT_EQ(b.state(at(100h)), BreakerState::isolated);  // never elapses
  EXPECT_EQ(b.remaining_open(at(2s)), Duration::max());
  const BreakerPermit p = b.try_acquire(at(2s));
  EXPECT_EQ(p.kind(), BreakerPermit::Kind::refused_isolated);
  EXPECT_EQ(p.retry_after(), std::nullopt);
  EXPECT_EQ(p.error().code, ErrorCode::circuit_open);
  b.isolate(at(3s));  // idempotent
  EXPECT_EQ(b.counters().to_isolated, 1u);
  b.reset(at(4s));
  EXPECT_EQ(b.state(at(4s)), BreakerState::closed);
  EXPECT_EQ(b.window_stats(at(4s)), WindowStats{});
  EXPECT_EQ(reasons(), (std::vector<std::string>{"manual_isolate", "manual_reset"}));
  EXPECT_EQ(b.counters().transitions(BreakerReason::manual_isolate), 1u);
  EXPECT_EQ(b.counters().transitions(BreakerReason::manual_reset), 1u);
  // reset while closed: clears the window, starts a generation, emits nothing.
  const BreakerPermit before = b.try_acquire(at(5s));
  call(b, at(5s), kFail);
  const auto gen = b.generation();
  b.reset(at(6s));
  EXPECT_EQ(b.generation(), gen + 1);
  EXPECT_EQ(b.window_stats(at(6s)), WindowStats{});
  EXPECT_EQ(b.consecutive_failures(), 0u);
  EXPECT_EQ(events.count("breaker.state"), 2u);
  b.on_result(before, kFail, 0s, at(7s));
  EXPECT_EQ(b.counters().stale, 1u);
}

TEST_F(CircuitBreakerTest, ResetFromOpenResetsGrowth) {
  auto c = trip_on_first_failure();
  c.open_growth = 3.0;
  c.half_open_calls = 1;
  CircuitBreaker b{c};
  call(b, at(0s), kFail);
  call(b, at(10s), kFail);
  EXPECT_EQ(b.remaining_open(at(10s)), 30s);
  b.reset(at(11s));
  call(b, at(11s), kFail);
  EXPECT_EQ(b.remaining_open(at(11s)), 10s);
}

TEST_F(CircuitBreakerTest, ResultsFromAnOlderGenerationDoNotCorruptHalfOpen) {
  auto c = trip_on_first_failure();
  c.half_open_calls = 2;
  CircuitBreaker b{c, &events};
  const BreakerPermit slow_call = b.try_acquire(at(0s));  // starts while closed
  call(b, at(1s), kFail);                          // opens
  const BreakerPermit probe = b.try_acquire(at(11s));
  ASSERT_EQ(probe.kind(), BreakerPermit::Kind::probe);
  EXPECT_GT(probe.generation(), slow_call.generation());
  // The old call fails now: it must neither reopen nor take a probe's place.
  b.on_result(slow_call, kFail, 12s, at(12s));
  EXPECT_EQ(b.state(at(12s)), BreakerState::half_open);
  EXPECT_EQ(b.counters().stale, 1u);
  EXPECT_EQ(b.counters().failures, 1u);
  b.on_result(probe, kOk, 1s, at(12s));
  EXPECT_EQ(b.state(at(12s)), BreakerState::half_open);  // 1 of 2 successes
  call(b, at(12s), kOk);
  EXPECT_EQ(b.state(at(12s)), BreakerState::closed);
}

TEST_F(CircuitBreakerTest, ClientErrorsAreRecordedButNotCountedAsFailures) {
  CircuitBreaker b{{.size = 5, .min_calls = 5}};
  for (ErrorCode e : {ErrorCode::invalid_request, ErrorCode::context_overflow, ErrorCode::auth,
                      ErrorCode::quota_exhausted, ErrorCode::invalid_request, ErrorCode::invalid_request})
    call(b, at(0s), BreakerOutcome::error(e));
  EXPECT_EQ(b.state(at(0s)), BreakerState::closed);
  EXPECT_EQ(b.window_stats(at(0s)), (WindowStats{5, 0, 0}));
  EXPECT_EQ(b.counters().benign_errors, 6u);
  EXPECT_EQ(b.counters().failures, 0u);
}

TEST_F(CircuitBreakerTest, CancelledAndLocalRefusalsAreIgnoredEntirely) {
  CircuitBreaker b{{.size = 2, .min_calls = 2}};
  for (ErrorCode e : {ErrorCode::cancelled, ErrorCode::circuit_open, ErrorCode::bulkhead_full, ErrorCode::throttled})
    call(b, at(0s), BreakerOutcome::error(e));
  EXPECT_EQ(b.window_stats(at(0s)), WindowStats{});
  EXPECT_EQ(b.counters().ignored, 4u);
  EXPECT_EQ(b.counters().permitted, 4u);
  EXPECT_EQ(b.counters().successes + b.counters().failures + b.counters().benign_errors, 0u);
}

TEST_F(CircuitBreakerTest, AnIgnoredProbeGivesItsSlotBack) {
  auto c = trip_on_first_failure();
  c.half_open_calls = 1;
  CircuitBreaker b{c};
  call(b, at(0s), kFail);
  const BreakerPermit p = b.try_acquire(at(10s));
  EXPECT_EQ(b.try_acquire(at(10s)).kind(), BreakerPermit::Kind::refused_half_open_full);
  b.on_result(p, BreakerOutcome::error(ErrorCode::cancelled), 1s, at(11s));
  EXPECT_EQ(b.state(at(11s)), BreakerState::half_open);
  const BreakerPermit again = b.try_acquire(at(11s));
  EXPECT_EQ(again.kind(), BreakerPermit::Kind::probe);
  b.on_result(again, kOk, 1s, at(12s));
  EXPECT_EQ(b.state(at(12s)), BreakerState::closed);
}

TEST_F(CircuitBreakerTest, ClassificationIsConfigurable) {
  CircuitBreakerConfig c{.size = 1, .min_calls = 1};
  c.counts_as_failure.set(ErrorCode::invalid_request, BreakerCodeClass::failure)
      .set(ErrorCode::server_error, BreakerCodeClass::ignored);
  CircuitBreaker b{c};
  call(b, at(0s), kFail);
  EXPECT_EQ(b.state(at(0s)), BreakerState::closed);
  EXPECT_EQ(b.counters().ignored, 1u);
  b.on_result(b.try_acquire(at(0s)), Status{Error{ErrorCode::invalid_request}}, 0s, at(0s));
  EXPECT_EQ(b.state(at(0s)), BreakerState::open);
}

// execute(): acquire, run, measure latency in virtual time, record.
Task<Result<int>> answer_after(Duration d, int v, int* calls) {
  ++*calls;
  co_await sleep_for(d);
  co_return v;
}
Task<Result<int>> fail_after(Duration d, int* calls) {
  ++*calls;
  co_await sleep_for(d);
  co_return Error{ErrorCode::server_error, "503"};
}
Task<Result<int>> throw_after(Duration d) {
  co_await sleep_for(d);
  throw std::runtime_error("boom");
}

TEST_F(CircuitBreakerTest, ExecuteRecordsOutcomeAndVirtualLatency) {
  sim::Simulator sim;
  CircuitBreaker b{{.size = 2, .min_calls = 2, .slow_call_duration = 1s, .slow_call_rate = 1.0, .open_for = 5s}, &events};
  int calls = 0;
  std::vector<Result<int>> got;
  auto keep = [&](Result<int> r) { got.push_back(std::move(r)); };
  spawn(sim, b.execute([&] { return answer_after(2s, 7, &calls); }), keep);
  sim.run_until_idle();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].value(), 7);
  EXPECT_EQ(b.counters().slow_calls, 1u);
  spawn(sim, b.execute([&] { return fail_after(10ms, &calls); }), keep);
  sim.run_until_idle();
  EXPECT_EQ(b.state(sim.now()), BreakerState::open);  // 1/2 failed (checked before 1/2 slow)
  EXPECT_EQ(reasons().back(), "failure_rate");
  spawn(sim, b.execute([&] { return answer_after(1s, 1, &calls); }), keep);
  sim.run_until_idle();
  ASSERT_EQ(got.size(), 3u);
  ASSERT_FALSE(got[2].ok());
  EXPECT_EQ(got[2].error().code, ErrorCode::circuit_open);
  EXPECT_EQ(got[2].error().retry_after, Duration{5s});
  EXPECT_EQ(calls, 2);  // the refused call never ran
}

TEST_F(CircuitBreakerTest, ExecuteRecordsAnExceptionAsIgnoredAndRethrows) {
  sim::Simulator sim;
  auto c = trip_on_first_failure();
  c.half_open_calls = 1;
  CircuitBreaker b{c};
  call(b, at(0s), kFail);
  sim.run_until(at(10s));
  bool threw = false;
  spawn(sim, b.execute([] { return throw_after(1s); }), [](Result<int>) {},
        [&](std::exception_ptr) { threw = true; });
  sim.run_until_idle();
  EXPECT_TRUE(threw);
  EXPECT_EQ(b.counters().ignored, 1u);
  EXPECT_EQ(b.try_acquire(sim.now()).kind(), BreakerPermit::Kind::probe);  // slot given back
}

}  // namespace
}  // namespace keel::policy
