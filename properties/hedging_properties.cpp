// Properties of Hedging on the simulator, over random attempt latencies/outcomes (hangs
// included), delays, max_extra, a budget that grants or refuses, and caller cancellation:
//  - never more than 1 + max_extra attempts in flight at any instant;
//  - exactly one result is returned (or none, exactly when the model says the call never ends);
//  - every attempt still running when the result is returned observes cancellation within that
//    very instant, and no attempt ends later;
//  - attempt start times, the result's time and the result itself equal a small event-driven
//    model of the contract in hedging.h.
// Ties: latencies are whole milliseconds plus 2^i microseconds for attempt i, delays whole
// milliseconds and the cancel time a millisecond plus 500 us, so no two events the contract
// distinguishes (an attempt ending, the hedge timer, the cancel) can fall in the same instant;
// the simulator still permutes same-instant callbacks by a random seed.
#include <algorithm>
#include <optional>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "keel/core/sleep.h"
#include "keel/core/spawn.h"
#include "keel/policy/hedging.h"
#include "keel/policy/retry_budget.h"
#include "keel/sim/simulator.h"

namespace keel::policy {
namespace {

using namespace std::chrono_literals;

struct Spec {
  bool hang = false;
  Duration latency{};
  bool ok = true;
  ErrorCode code = ErrorCode::server_error;
};

struct Case {
  Duration delay{};
  int max_extra = 0;
  std::vector<Spec> attempts;  // one per possible attempt (1 + max_extra)
  bool budget_refuses = false;
  std::optional<Duration> cancel_at;
};

struct Prediction {
  std::vector<Duration> starts;
  std::optional<Duration> end;  // nullopt: the call never ends by itself
  bool ok = false;
  int winner = -1;
  ErrorCode code = ErrorCode::internal;
};

// The contract of hedging.h as a discrete-event model over pure values.
Prediction predict(const Case& c) {
  const int max_attempts = 1 + c.max_extra;
  Prediction p;
  p.starts.push_back(Duration::zero());
  std::vector<bool> running{true};
  std::optional<Duration> timer;
  if (max_attempts > 1) timer = c.delay;
  bool no_more = false;
  ErrorCode last = ErrorCode::internal;

  auto try_start = [&](Duration t) {
    if (no_more || static_cast<int>(p.starts.size()) >= max_attempts) return;
    if (c.budget_refuses) {
      no_more = true;
      timer.reset();
      return;
    }
    p.starts.push_back(t);
    running.push_back(true);
    timer.reset();
    if (static_cast<int>(p.starts.size()) < max_attempts) timer = t + c.delay;
  };

  for (;;) {
    int next = -1;
    Duration next_at = Duration::max();
    for (std::size_t i = 0; i < p.starts.size(); ++i) {
      if (!running[i] || c.attempts[i].hang) continue;
      const Duration f = p.starts[i] + c.attempts[i].latency;
      if (f < next_at) next_at = f, next = static_cast<int>(i);
    }
    if (c.cancel_at && *c.cancel_at < next_at && (!timer || *c.cancel_at < *timer)) {
      p.end = *c.cancel_at;
      p.code = ErrorCode::cancelled;
      return p;
    }
    if (timer && *timer < next_at) {
      const Duration t = *timer;
      timer.reset();
      try_start(t);
      continue;
    }
    if (next < 0) return p;  // everything left hangs: the call never ends
    running[next] = false;
    const Spec& s = c.attempts[next];
    if (s.ok) {
      p.end = next_at;
      p.ok = true;
      p.winner = next;
      return p;
    }
    last = s.code;
    try_start(next_at);
    if (std::none_of(running.begin(), running.end(), [](bool r) { return r; })) {
      p.end = next_at;
      p.code = last;
      return p;
    }
  }
}

struct Probe {
  std::vector<TimePoint> started;
  std::vector<std::optional<TimePoint>> ended;  // when the attempt's body returned
  std::vector<bool> saw_cancel;
  int in_flight = 0;
  int max_in_flight = 0;
};

Task<Result<int>> attempt(int index, Spec spec, Probe* probe) {
  Scheduler& s = co_await this_task::scheduler();
  probe->started.push_back(s.now());
  probe->ended.emplace_back();
  probe->saw_cancel.push_back(false);
  probe->max_in_flight = std::max(probe->max_in_flight, ++probe->in_flight);
  Status st;
  if (spec.hang) {
    st = co_await until_cancelled();
  } else {
    st = co_await sleep_for(spec.latency);
  }
  --probe->in_flight;
  probe->ended[index] = s.now();
  if (!st) {
    probe->saw_cancel[index] = true;
    co_return st.error();
  }
  if (!spec.ok) co_return Error(spec.code, "attempt failed");
  co_return 100 + index;
}

struct Returned {
  int count = 0;
  TimePoint at{};
  Result<int> result = Error(ErrorCode::internal, "never returned");
};

Task<void> call(Hedging& h, const Case* c, Probe* probe, Returned* out) {
  auto make_attempt = [c, probe](int i) { return attempt(i, c->attempts.at(i), probe); };
  Result<int> r = co_await h.execute(make_attempt);
  ++out->count;
  out->at = (co_await this_task::scheduler()).now();
  out->result = std::move(r);
}

Case gen_case() {
  Case c;
  c.delay = std::chrono::milliseconds{*rc::gen::inRange(1, 60)};
  c.max_extra = *rc::gen::inRange(0, 5);
  for (int i = 0; i <= c.max_extra; ++i) {
    Spec s;
    s.hang = *rc::gen::weightedElement<bool>({{1, true}, {4, false}});
    s.latency = std::chrono::milliseconds{*rc::gen::inRange(0, 150)} + std::chrono::microseconds{1 << i};
    s.ok = *rc::gen::arbitrary<bool>();
    s.code = *rc::gen::element(ErrorCode::server_error, ErrorCode::rate_limited, ErrorCode::timeout,
                               ErrorCode::network);
    c.attempts.push_back(s);
  }
  c.budget_refuses = *rc::gen::weightedElement<bool>({{1, true}, {4, false}});
  if (*rc::gen::arbitrary<bool>()) {
    c.cancel_at = std::chrono::milliseconds{*rc::gen::inRange(0, 300)} + 500us;
  }
  return c;
}

RC_GTEST_PROP(HedgingProperties, HedgedCallsMatchTheModelBoundInFlightAndCancelEveryLoser, (std::uint64_t seed)) {
  const Case c = gen_case();
  const Prediction want = predict(c);
  RC_TAG(want.end ? (want.ok ? "won" : (want.code == ErrorCode::cancelled ? "cancelled" : "all failed"))
                  : "never ends");

  Probe probe;
  Returned out;
  {
    sim::Simulator sim{{.seed = seed, .permute_ties = true}};
    RetryBudget budget{{.max_tokens = 10, .token_ratio = 0.1}};
    if (c.budget_refuses) {
      for (int i = 0; i < 6; ++i) budget.on_failure();
    }
    Hedging hedging{{.delay = c.delay, .max_extra = c.max_extra}, &budget};
    CancelSource stop;
    spawn(sim, call(hedging, &c, &probe, &out), {}, {}, stop.token());
    if (c.cancel_at) {
      sim.run_for(*c.cancel_at);
      if (out.count == 0) stop.cancel();
    }
    RC_ASSERT(sim.run_until_idle().status == sim::RunStatus::idle);

    // At most 1 + max_extra attempts ever, and never more in flight at once.
    RC_ASSERT(probe.max_in_flight <= 1 + c.max_extra);
    RC_ASSERT(static_cast<int>(probe.started.size()) <= 1 + c.max_extra);
    // Starts exactly as modelled.
    RC_ASSERT(probe.started.size() == want.starts.size());
    for (std::size_t i = 0; i < want.starts.size(); ++i) RC_ASSERT(probe.started[i] == TimePoint{} + want.starts[i]);

    if (!want.end) {
      // Every attempt hangs (or was refused): no result until the caller gives up.
      RC_ASSERT(out.count == 0);
      const TimePoint give_up = sim.now();
      stop.cancel();
      RC_ASSERT(sim.run_until_idle().status == sim::RunStatus::idle);
      RC_ASSERT(out.count == 1);
      RC_ASSERT(out.at == give_up);
      RC_ASSERT(!out.result && out.result.error().code == ErrorCode::cancelled);
    } else {
      RC_ASSERT(out.count == 1);  // exactly one result
      RC_ASSERT(out.at == TimePoint{} + *want.end);
      if (want.ok) {
        RC_ASSERT(out.result.ok());
        RC_ASSERT(*out.result == 100 + want.winner);
      } else {
        RC_ASSERT(!out.result.ok());
        RC_ASSERT(out.result.error().code == want.code);
      }
    }
    // Every attempt has ended by the result's instant: those still running then saw
    // cancellation exactly at that instant; those done earlier ended on their own.
    RC_ASSERT(probe.in_flight == 0);
    for (std::size_t i = 0; i < probe.started.size(); ++i) {
      RC_ASSERT(probe.ended[i].has_value());
      RC_ASSERT(*probe.ended[i] <= out.at);
      const bool ran_to_end = !c.attempts[i].hang && probe.started[i] + c.attempts[i].latency <= out.at;
      RC_ASSERT(probe.saw_cancel[i] == !ran_to_end);
      if (probe.saw_cancel[i]) RC_ASSERT(*probe.ended[i] == out.at);
    }
    RC_ASSERT(sim.detached_count() == 0u);
    RC_ASSERT(budget.pending() == 0);

    const HedgingCounters& k = hedging.counters();
    RC_ASSERT(k.hedges_started == probe.started.size() - 1);
    RC_ASSERT(k.primary_won + k.hedge_won + k.all_failed + k.cancelled == 1u);
    RC_ASSERT(k.hedges_refused_by_budget <= 1u);
  }
}

// The model itself must be able to fail the property: a wrong prediction of the hedge timing
// (say, counting the delay from the primary instead of the latest start) is caught.
TEST(HedgingProperties, TheModelDistinguishesDelayOrigins) {
  Case c;
  c.delay = 10ms;
  c.max_extra = 2;
  c.attempts = {{false, 5ms, false, ErrorCode::server_error}, {true, {}, true, {}}, {false, 1ms, true, {}}};
  const Prediction p = predict(c);
  ASSERT_EQ(p.starts.size(), 3u);
  EXPECT_EQ(p.starts[1], 5ms);   // the failure starts hedge 1 at once
  EXPECT_EQ(p.starts[2], 15ms);  // the delay counts from the latest start, not from 0 (10 ms)
  EXPECT_EQ(p.end, 16ms);
  EXPECT_EQ(p.winner, 2);
}

}  // namespace
}  // namespace keel::policy
