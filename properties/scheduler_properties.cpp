// Properties of sim::Simulator as a Scheduler, checked against a small model: random sequences
// of schedules (past, zero and future offsets), posts, cancels, nested schedules from inside
// callbacks and run_for steps.
#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <tuple>
#include <vector>

#include "keel/sim/simulator.h"

namespace keel::sim {
namespace {

using std::chrono::milliseconds;

struct Op {
  enum Kind { schedule, post, cancel, run_for } kind;
  int a = 0;        // schedule: offset ms (may be <= 0); cancel: timer index; run_for: ms
  int child = kNoChild;  // schedule/post: offset of a timer the callback schedules when it fires
  static constexpr int kNoChild = std::numeric_limits<int>::min();
};

rc::Gen<Op> gen_op() {
  return rc::gen::map(
      rc::gen::tuple(rc::gen::weightedElement<int>({{5, 0}, {1, 1}, {2, 2}, {2, 3}}),
                     rc::gen::inRange(-3, 12), rc::gen::inRange(0, 1000),
                     rc::gen::weightedOneOf<int>(
                         {{2, rc::gen::just(Op::kNoChild)}, {1, rc::gen::inRange(-2, 8)}})),
      [](const std::tuple<int, int, int, int>& t) {
        const auto [kind, offset, big, child] = t;
        switch (kind) {
          case 0: return Op{Op::schedule, offset, child};
          case 1: return Op{Op::post, 0, child};
          case 2: return Op{Op::cancel, big};
          default: return Op{Op::run_for, std::max(0, offset)};
        }
      });
}

rc::Gen<std::vector<Op>> gen_ops() { return rc::gen::container<std::vector<Op>>(gen_op()); }

// Drives one Simulator through `ops` and records what the model expects and what happened.
struct Harness {
  enum State { pending, fired, cancelled };
  struct Timer {
    TimerId id;        // empty for posts
    std::int64_t due;  // expected fire time: max(requested, now at scheduling)
    int child;
    State state = pending;
  };
  struct Fire {
    std::uint32_t index;
    std::int64_t at;
  };

  explicit Harness(Simulator::Options o) : sim(o) {}

  Simulator sim;
  std::vector<Timer> timers;  // in scheduling order: index == scheduling sequence
  std::vector<Fire> fires;
  int cancel_mismatches = 0;
  int status_mismatches = 0;

  struct OnFire {
    Harness* h;
    std::uint32_t index;
    void operator()() const { h->on_fire(index); }
  };

  void schedule(int offset_ms, int child) {
    const TimePoint requested = sim.now() + milliseconds(offset_ms);
    const auto index = static_cast<std::uint32_t>(timers.size());
    timers.push_back({{}, std::max(requested, sim.now()).time_since_epoch().count(), child});
    timers[index].id = sim.start_timer(requested, OnFire{this, index});
  }
  void post(int child) {
    const auto index = static_cast<std::uint32_t>(timers.size());
    timers.push_back({{}, sim.now().time_since_epoch().count(), child});
    sim.post(OnFire{this, index});
  }
  void on_fire(std::uint32_t index) {
    fires.push_back({index, sim.now().time_since_epoch().count()});
    if (timers[index].state != pending) ++cancel_mismatches;  // fired twice or after cancel
    timers[index].state = fired;
    if (timers[index].child != Op::kNoChild) schedule(timers[index].child, Op::kNoChild);
  }
  void cancel(int pick) {
    if (timers.empty()) return;
    Timer& t = timers[static_cast<std::size_t>(pick) % timers.size()];
    const bool expected = t.id && t.state == pending;
    if (sim.cancel_timer(t.id) != expected) ++cancel_mismatches;
    if (expected) t.state = cancelled;
  }
  void run_for(int ms) {
    const TimePoint target = sim.now() + milliseconds(ms);
    const RunResult r = sim.run_for(milliseconds(ms));
    const RunStatus want = sim.pending() > 0 ? RunStatus::reached_time : RunStatus::idle;
    if (r.status != want || sim.now() != target) ++status_mismatches;
  }

  void run(const std::vector<Op>& ops) {
    for (const Op& op : ops) {
      switch (op.kind) {
        case Op::schedule: schedule(op.a, op.child); break;
        case Op::post: post(op.child); break;
        case Op::cancel: cancel(op.a); break;
        case Op::run_for: run_for(op.a); break;
      }
    }
    if (sim.run_until_idle().status != RunStatus::idle) ++status_mismatches;
  }

  std::vector<std::uint32_t> fire_order() const {
    std::vector<std::uint32_t> out;
    for (const Fire& f : fires) out.push_back(f.index);
    return out;
  }
};

// Checks shared by both tie modes: exact timing, monotone time, each live timer once.
void check_timing(const Harness& h) {
  RC_ASSERT(h.cancel_mismatches == 0);
  RC_ASSERT(h.status_mismatches == 0);
  for (std::size_t i = 0; i < h.fires.size(); ++i) {
    const Harness::Fire& f = h.fires[i];
    RC_ASSERT(f.at == h.timers[f.index].due);  // never early, never late
    if (i > 0) RC_ASSERT(h.fires[i - 1].at <= f.at);
  }
  for (const Harness::Timer& t : h.timers) RC_ASSERT(t.state != Harness::pending);  // ran or cancelled
  RC_ASSERT(h.sim.pending() == 0u);
}

RC_GTEST_PROP(SchedulerProperties, TimersFireExactlyOnTimeInSchedulingOrder, ()) {
  const std::vector<Op> ops = *gen_ops();
  Harness h{{}};
  h.run(ops);
  check_timing(h);
  // Equal-time events run in scheduling order: (due, sequence) strictly increasing.
  for (std::size_t i = 1; i < h.fires.size(); ++i) {
    const auto& prev = h.fires[i - 1];
    const auto& cur = h.fires[i];
    RC_ASSERT(std::tuple(prev.at, prev.index) < std::tuple(cur.at, cur.index));
  }
}

RC_GTEST_PROP(SchedulerProperties, PermutedTiesAreExactAndReproducibleFromTheSeed, ()) {
  const std::vector<Op> ops = *gen_ops();
  const auto seed = *rc::gen::arbitrary<std::uint64_t>();
  Harness first{{.seed = seed, .permute_ties = true}};
  first.run(ops);
  check_timing(first);
  Harness second{{.seed = seed, .permute_ties = true}};
  second.run(ops);
  RC_ASSERT(first.fire_order() == second.fire_order());
}

// A random schedule/cancel/run mix keeps the heap within its bound and pending() exact.
RC_GTEST_PROP(SchedulerProperties, PendingCountMatchesModelAndHeapStaysBounded, ()) {
  const std::vector<Op> ops = *gen_ops();
  Harness h{{}};
  for (const Op& op : ops) {
    switch (op.kind) {
      case Op::schedule: h.schedule(op.a, Op::kNoChild); break;
      case Op::post: h.post(Op::kNoChild); break;
      case Op::cancel: h.cancel(op.a); break;
      case Op::run_for: h.run_for(op.a); break;
    }
    const auto live = static_cast<std::size_t>(std::count_if(
        h.timers.begin(), h.timers.end(), [](const auto& t) { return t.state == Harness::pending; }));
    RC_ASSERT(h.sim.pending() == live);
    RC_ASSERT(h.sim.heap_size() <= 2 * live + 256);
  }
}

// The timeout pattern at scale: most timers are cancelled soon after they are scheduled, which
// forces heap compactions; survivors still fire exactly once, on time and in order.
RC_GTEST_PROP(SchedulerProperties, HeavyCancelChurnKeepsOrderAndBoundedHeap, ()) {
  const int n = *rc::gen::inRange(300, 1500);
  const auto steps = *rc::gen::container<std::vector<std::pair<int, int>>>(
      static_cast<std::size_t>(n), rc::gen::pair(rc::gen::inRange(0, 40), rc::gen::inRange(-1, 4)));
  Harness h{{}};
  std::size_t live = 0;
  for (const auto& [offset_ms, pick_back] : steps) {
    h.schedule(offset_ms, Op::kNoChild);
    ++live;
    if (pick_back >= 0 && static_cast<std::size_t>(pick_back) < h.timers.size()) {
      const std::size_t index = h.timers.size() - 1 - static_cast<std::size_t>(pick_back);
      if (h.timers[index].state == Harness::pending) --live;
      h.cancel(static_cast<int>(index));
    }
    RC_ASSERT(h.sim.pending() == live);
    RC_ASSERT(h.sim.heap_size() <= 2 * live + 256);
  }
  h.run({});
  check_timing(h);
  RC_ASSERT(h.fires.size() == live);
  for (std::size_t i = 1; i < h.fires.size(); ++i)
    RC_ASSERT(std::tuple(h.fires[i - 1].at, h.fires[i - 1].index) <
              std::tuple(h.fires[i].at, h.fires[i].index));
}

}  // namespace
}  // namespace keel::sim
