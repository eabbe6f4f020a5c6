// Model-based property of CircuitBreaker (rc::state): random configurations (count and time
// windows, consecutive mode, slow calls, growth, probe limits, half-open max wait, random
// classification tables) and random command sequences — calls with random outcomes and
// latencies, calls held open across transitions and finished later (stale generations),
// time advances small and large, isolate, reset, observations — against a reference model
// that keeps every recorded outcome and recomputes windows, rates and runs naively.
// After each command: state, permit/refusal (kind and retry_after), counters, generation,
// window totals, consecutive runs and event counts must match.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include "keel/policy/circuit_breaker.h"

namespace keel::policy {
namespace {

using namespace std::chrono_literals;

// ---------------------------------------------------------------------------------------------
// Reference model: the contract of circuit_breaker.h, written as plainly as possible.

struct Recorded {
  TimePoint t;
  bool failure;
  bool slow;
};

// The permit the model predicts.
struct Expected {
  BreakerPermit::Kind kind;
  std::optional<Duration> retry_after;
};
bool granted(const Expected& e) { return e.kind == BreakerPermit::Kind::call || e.kind == BreakerPermit::Kind::probe; }

struct Model {
  CircuitBreakerConfig cfg;
  TimePoint now{};
  BreakerState state = BreakerState::closed;
  std::uint64_t generation = 1;
  std::vector<Recorded> recorded;  // every recorded result of this closed period, oldest first
  std::uint32_t opens = 0;         // opens since the last close
  TimePoint open_until{};
  std::uint32_t probes_issued = 0, probe_ok = 0, probe_failed = 0, probe_slow = 0;
  std::optional<TimePoint> first_probe;
  std::vector<std::uint64_t> held;  // generations of permits still out
  CircuitBreakerCounters counters;
  std::uint64_t refusal_events = 0;

  std::uint32_t H() const { return cfg.half_open_calls; }
  std::uint32_t S() const { return cfg.half_open_success_threshold.value_or(cfg.half_open_calls); }
  std::uint32_t M() const { return cfg.half_open_max_in_flight.value_or(cfg.half_open_calls); }

  std::uint64_t min_calls() const {
    std::uint64_t m = cfg.min_calls;
    if (cfg.window == WindowKind::count) m = std::min<std::uint64_t>(m, cfg.size);
    return std::max<std::uint64_t>(m, 1);
  }

  // The calls the window holds now.
  std::vector<Recorded> window() const {
    std::vector<Recorded> w;
    if (cfg.window == WindowKind::count) {
      const std::size_t n = std::min<std::size_t>(cfg.size, recorded.size());
      w.assign(recorded.end() - static_cast<std::ptrdiff_t>(n), recorded.end());
    } else {
      const std::int64_t width = cfg.bucket_width.count();
      const std::int64_t buckets = (cfg.duration.count() + width - 1) / width;
      const std::int64_t current = now.time_since_epoch().count() / width;
      for (const Recorded& r : recorded)
        if (current - r.t.time_since_epoch().count() / width < buckets) w.push_back(r);
    }
    return w;
  }
  WindowStats window_stats() const {
    WindowStats s;
    for (const Recorded& r : window()) {
      s.calls += 1;
      s.failures += r.failure;
      s.slow += r.slow;
    }
    return s;
  }
  std::uint32_t trailing_failures() const {
    std::uint32_t n = 0;
    for (auto it = recorded.rbegin(); it != recorded.rend() && it->failure; ++it) ++n;
    return n;
  }

  Duration open_duration(std::uint32_t k) const {
    const double want = static_cast<double>(cfg.open_for.count()) * std::pow(cfg.open_growth, k - 1.0);
    if (want >= static_cast<double>(cfg.max_open_for.count())) return cfg.max_open_for;
    return Duration{static_cast<std::int64_t>(want)};
  }

  void go(BreakerState to, BreakerReason why) {
    state = to;
    ++generation;
    recorded.clear();
    probes_issued = probe_ok = probe_failed = probe_slow = 0;
    first_probe.reset();
    ++counters.by_reason[static_cast<std::size_t>(why)];
    if (to == BreakerState::closed) ++counters.to_closed;
    if (to == BreakerState::open) ++counters.to_open;
    if (to == BreakerState::half_open) ++counters.to_half_open;
    if (to == BreakerState::isolated) ++counters.to_isolated;
  }
  void open_at(TimePoint start, BreakerReason why) {
    ++opens;
    open_until = saturating_add(start, open_duration(opens));
    go(BreakerState::open, why);
  }

  void settle() {
    for (;;) {
      if (state == BreakerState::open && now >= open_until) {
        go(BreakerState::half_open, BreakerReason::open_elapsed);
      } else if (state == BreakerState::half_open && first_probe && cfg.max_half_open_wait &&
                 now >= saturating_add(*first_probe, *cfg.max_half_open_wait)) {
        open_at(saturating_add(*first_probe, *cfg.max_half_open_wait), BreakerReason::half_open_timeout);
      } else {
        return;
      }
    }
  }

  // try_acquire at `now`; a granted permit belongs to `generation` as it is afterwards.
  Expected acquire() {
    settle();
    if (state == BreakerState::closed) {
      ++counters.permitted;
      return {BreakerPermit::Kind::call, std::nullopt};
    }
    if (state == BreakerState::half_open && probes_issued < H() && probes_issued - probe_ok - probe_failed < M()) {
      if (!first_probe) first_probe = now;
      ++probes_issued;
      ++counters.permitted;
      ++counters.probes;
      return {BreakerPermit::Kind::probe, std::nullopt};
    }
    ++counters.refused;
    ++refusal_events;
    if (state == BreakerState::open) return {BreakerPermit::Kind::refused_open, open_until - now};
    if (state == BreakerState::isolated) return {BreakerPermit::Kind::refused_isolated, std::nullopt};
    return {BreakerPermit::Kind::refused_half_open_full, std::nullopt};
  }

  void result(std::uint64_t permit_generation, BreakerOutcome o, Duration latency) {
    settle();
    if (permit_generation != generation) {
      ++counters.stale;
      return;
    }
    const BreakerCodeClass cls = o.ok ? BreakerCodeClass::non_failure : cfg.counts_as_failure[o.code];
    if (cls == BreakerCodeClass::ignored) {
      ++counters.ignored;
      if (state == BreakerState::half_open) --probes_issued;
      return;
    }
    const bool failure = cls == BreakerCodeClass::failure;
    const bool slow = cfg.slow_call_duration && latency > *cfg.slow_call_duration;
    if (o.ok) ++counters.successes;
    if (failure) ++counters.failures;
    if (!o.ok && !failure) ++counters.benign_errors;
    if (slow) ++counters.slow_calls;

    if (state == BreakerState::closed) {
      recorded.push_back({now, failure, slow});
      if (cfg.consecutive_failures && trailing_failures() >= *cfg.consecutive_failures) {
        open_at(now, BreakerReason::consecutive_failures);
        return;
      }
      const WindowStats w = window_stats();
      if (w.calls < min_calls()) return;
      const double failure_rate = static_cast<double>(w.failures) / static_cast<double>(w.calls);
      const double slow_rate = static_cast<double>(w.slow) / static_cast<double>(w.calls);
      if (failure_rate >= cfg.failure_rate) {
        open_at(now, BreakerReason::failure_rate);
      } else if (cfg.slow_call_duration && slow_rate >= cfg.slow_call_rate) {
        open_at(now, BreakerReason::slow_call_rate);
      }
      return;
    }
    // half-open probe
    if (failure) ++probe_failed; else ++probe_ok;
    if (slow) ++probe_slow;
    const double slots = static_cast<double>(H());
    if (static_cast<double>(probe_failed) / slots >= cfg.failure_rate || probe_failed + S() > H()) {
      open_at(now, BreakerReason::probe_failed);
    } else if (cfg.slow_call_duration && static_cast<double>(probe_slow) / slots >= cfg.slow_call_rate) {
      open_at(now, BreakerReason::probe_slow);
    } else if (probe_ok >= S()) {
      opens = 0;
      go(BreakerState::closed, BreakerReason::probes_succeeded);
    }
  }

  void isolate() {
    settle();
    if (state != BreakerState::isolated) go(BreakerState::isolated, BreakerReason::manual_isolate);
  }
  void reset() {
    settle();
    opens = 0;
    if (state != BreakerState::closed) {
      go(BreakerState::closed, BreakerReason::manual_reset);
    } else {
      ++generation;
      recorded.clear();
    }
  }

  Duration remaining_open() const {
    if (state == BreakerState::open) return open_until - now;
    if (state == BreakerState::isolated) return Duration::max();
    return Duration::zero();
  }
};

// ---------------------------------------------------------------------------------------------
// System under test.

struct Sut {
  explicit Sut(const CircuitBreakerConfig& c) : breaker(c, &sink) {}
  CountingSink sink;
  CircuitBreaker breaker;
  std::vector<BreakerPermit> held;
  TimePoint now{};
};

std::string show(const CircuitBreakerCounters& c) {
  std::ostringstream os;
  os << "{permitted=" << c.permitted << " probes=" << c.probes << " refused=" << c.refused
     << " successes=" << c.successes << " failures=" << c.failures << " benign=" << c.benign_errors
     << " ignored=" << c.ignored << " stale=" << c.stale << " slow=" << c.slow_calls << " closed=" << c.to_closed
     << " open=" << c.to_open << " half_open=" << c.to_half_open << " isolated=" << c.to_isolated << " reasons=[";
  for (std::size_t i = 0; i < kBreakerReasonCount; ++i)
    os << (i ? " " : "") << to_string(static_cast<BreakerReason>(i)) << "=" << c.by_reason[i];
  os << "]}";
  return os.str();
}

std::string show(BreakerOutcome o) { return o.ok ? "success" : std::string{to_string(o.code)}; }

void check_permit(const BreakerPermit& got, const Expected& want) {
  if (got.kind() != want.kind || got.retry_after() != want.retry_after) {
    RC_LOG() << "permit: got " << to_string(got.kind()) << " retry_after="
             << (got.retry_after() ? got.retry_after()->count() : -1) << ", want " << to_string(want.kind)
             << " retry_after=" << (want.retry_after ? want.retry_after->count() : -1) << "\n";
    RC_FAIL("permit differs from the model");
  }
  if (!got.granted()) {
    const Error e = got.error();
    RC_ASSERT(e.code == ErrorCode::circuit_open);
    RC_ASSERT(e.retry_after == want.retry_after);
  }
}

// Everything observable must agree. The breaker's accessors settle lazy transitions due at
// `now` (e.g. a zero open time), so the model is compared settled too. Settling is
// observation-neutral by contract, so the stored model may stay unsettled.
void compare(const Model& expected, Sut& sut) {
  Model m = expected;
  m.settle();
  CircuitBreaker& b = sut.breaker;
  const BreakerState st = b.state(m.now);
  if (st != m.state) {
    RC_LOG() << "state: got " << to_string(st) << ", want " << to_string(m.state) << "\n";
    RC_FAIL("state differs from the model");
  }
  if (!(b.counters() == m.counters)) {
    RC_LOG() << "counters: got  " << show(b.counters()) << "\n          want " << show(m.counters) << "\n";
    RC_FAIL("counters differ from the model");
  }
  RC_ASSERT(b.generation() == m.generation);
  RC_ASSERT(b.consecutive_opens() == m.opens);
  RC_ASSERT(b.remaining_open(m.now) == m.remaining_open());
  if (m.state == BreakerState::closed) {
    const WindowStats got = b.window_stats(m.now), want = m.window_stats();
    if (!(got == want)) {
      RC_LOG() << "window: got {" << got.calls << "," << got.failures << "," << got.slow << "}, want {" << want.calls
               << "," << want.failures << "," << want.slow << "}\n";
      RC_FAIL("window totals differ from the model");
    }
    RC_ASSERT(b.consecutive_failures() == m.trailing_failures());
  }
  const auto& c = m.counters;
  RC_ASSERT(sut.sink.count("breaker.state") == c.to_closed + c.to_open + c.to_half_open + c.to_isolated);
  RC_ASSERT(sut.sink.count("breaker.refused") == m.refusal_events);
}

// ---------------------------------------------------------------------------------------------
// Commands.

using Cmd = rc::state::Command<Model, Sut>;

rc::Gen<BreakerOutcome> gen_outcome() {
  return rc::gen::weightedOneOf<BreakerOutcome>(
      {{3, rc::gen::just(BreakerOutcome::success())},
       {3, rc::gen::map(rc::gen::element(ErrorCode::server_error, ErrorCode::timeout, ErrorCode::network,
                                         ErrorCode::rate_limited),
                        [](ErrorCode c) { return BreakerOutcome::error(c); })},
       {2, rc::gen::map(rc::gen::inRange<std::size_t>(0, kErrorCodes.size()),
                        [](std::size_t i) { return BreakerOutcome::error(kErrorCodes[i].code); })}});
}

rc::Gen<Duration> gen_latency() {
  return rc::gen::element<Duration>(0ms, 50ms, 100ms, 101ms, 1s);
}

struct Call : Cmd {
  BreakerOutcome outcome = *gen_outcome();
  Duration latency = *gen_latency();

  void apply(Model& m) const override {
    const Expected e = m.acquire();
    if (granted(e)) m.result(m.generation, outcome, latency);
  }
  void run(const Model& s0, Sut& sut) const override {
    Model m = s0;
    const Expected want = m.acquire();
    const BreakerPermit p = sut.breaker.try_acquire(s0.now);
    check_permit(p, want);
    if (p) sut.breaker.on_result(p, outcome, latency, s0.now);
    compare(nextState(s0), sut);
  }
  void show(std::ostream& os) const override {
    os << "Call(" << keel::policy::show(outcome) << ", " << latency.count() / 1'000'000 << "ms)";
  }
};

// Acquire now, finish later (across advances and transitions).
struct Begin : Cmd {
  void apply(Model& m) const override {
    const Expected e = m.acquire();
    if (granted(e)) m.held.push_back(m.generation);
  }
  void run(const Model& s0, Sut& sut) const override {
    Model m = s0;
    const Expected want = m.acquire();
    const BreakerPermit p = sut.breaker.try_acquire(s0.now);
    check_permit(p, want);
    if (p) {
      RC_ASSERT(p.generation() == m.generation);
      sut.held.push_back(p);
    }
    compare(nextState(s0), sut);
  }
  void show(std::ostream& os) const override { os << "Begin"; }
};

struct Finish : Cmd {
  explicit Finish(const Model& m) {
    RC_PRE(!m.held.empty());
    index = *rc::gen::inRange<std::size_t>(0, m.held.size());
  }
  std::size_t index = 0;
  BreakerOutcome outcome = *gen_outcome();
  Duration latency = *gen_latency();

  void checkPreconditions(const Model& m) const override { RC_PRE(index < m.held.size()); }
  void apply(Model& m) const override {
    const std::uint64_t gen = m.held[index];
    m.held.erase(m.held.begin() + static_cast<std::ptrdiff_t>(index));
    m.result(gen, outcome, latency);
  }
  void run(const Model& s0, Sut& sut) const override {
    const BreakerPermit p = sut.held[index];
    sut.held.erase(sut.held.begin() + static_cast<std::ptrdiff_t>(index));
    sut.breaker.on_result(p, outcome, latency, s0.now);
    compare(nextState(s0), sut);
  }
  void show(std::ostream& os) const override {
    os << "Finish(#" << index << ", " << keel::policy::show(outcome) << ", " << latency.count() / 1'000'000 << "ms)";
  }
};

// Time passes; nobody looks (lazy transitions wait for the next command).
struct Advance : Cmd {
  Duration by = *rc::gen::weightedOneOf<Duration>(
      {{4, rc::gen::map(rc::gen::inRange(0, 400), [](int ms) { return Duration{std::chrono::milliseconds{ms}}; })},
       {3, rc::gen::map(rc::gen::inRange(0, 3000), [](int ms) { return Duration{std::chrono::milliseconds{ms}}; })},
       {1, rc::gen::map(rc::gen::inRange(0, 60), [](int s) { return Duration{std::chrono::seconds{s}}; })}});

  void apply(Model& m) const override { m.now += by; }
  void run(const Model&, Sut& sut) const override { sut.now += by; }
  void show(std::ostream& os) const override { os << "Advance(" << by.count() / 1'000'000 << "ms)"; }
};

struct Observe : Cmd {
  void apply(Model& m) const override { m.settle(); }
  void run(const Model& s0, Sut& sut) const override { compare(nextState(s0), sut); }
  void show(std::ostream& os) const override { os << "Observe"; }
};

// A manual override: isolate (rarer, it lasts until a reset) or reset.
struct Manual : Cmd {
  bool isolate = *rc::gen::weightedElement<bool>({{1, true}, {2, false}});

  void apply(Model& m) const override {
    if (isolate) {
      m.isolate();
    } else {
      m.reset();
    }
  }
  void run(const Model& s0, Sut& sut) const override {
    if (isolate) {
      sut.breaker.isolate(s0.now);
    } else {
      sut.breaker.reset(s0.now);
    }
    compare(nextState(s0), sut);
  }
  void show(std::ostream& os) const override { os << (isolate ? "Isolate" : "Reset"); }
};

// ---------------------------------------------------------------------------------------------
// Configurations: small windows and probe counts so that every transition is reachable.

rc::Gen<CircuitBreakerConfig> gen_config() {
  return rc::gen::exec([] {
    CircuitBreakerConfig c;
    c.window = *rc::gen::element(WindowKind::count, WindowKind::time);
    c.size = *rc::gen::inRange<std::uint32_t>(1, 9);
    c.bucket_width = *rc::gen::element<Duration>(100ms, 250ms, 1s);
    // Sometimes not a multiple of the width (the bucket count rounds up).
    c.duration = c.bucket_width * *rc::gen::inRange(1, 7) - *rc::gen::element<Duration>(0ms, 0ms, 50ms);
    c.failure_rate = *rc::gen::element(0.1, 0.25, 1.0 / 3.0, 0.5, 0.6, 0.75, 1.0);
    c.min_calls = *rc::gen::inRange<std::uint32_t>(0, 10);
    if (*rc::gen::arbitrary<bool>()) c.consecutive_failures = *rc::gen::inRange<std::uint32_t>(1, 5);
    if (*rc::gen::arbitrary<bool>()) c.slow_call_duration = 100ms;
    c.slow_call_rate = *rc::gen::element(0.25, 0.5, 1.0);
    c.open_for = std::chrono::milliseconds{*rc::gen::inRange(0, 30) * 100};
    c.open_growth = *rc::gen::element(1.0, 1.5, 2.0, 3.0);
    if (*rc::gen::arbitrary<bool>()) c.max_open_for = std::chrono::milliseconds{*rc::gen::inRange(0, 200) * 100};
    c.half_open_calls = *rc::gen::inRange<std::uint32_t>(1, 5);
    if (*rc::gen::arbitrary<bool>())
      c.half_open_success_threshold = *rc::gen::inRange<std::uint32_t>(1, c.half_open_calls + 1);
    if (*rc::gen::arbitrary<bool>())
      c.half_open_max_in_flight = *rc::gen::inRange<std::uint32_t>(1, c.half_open_calls + 1);
    if (*rc::gen::arbitrary<bool>())
      c.max_half_open_wait = std::chrono::milliseconds{*rc::gen::inRange(1, 30) * 100};
    // A few random reclassifications on top of the defaults.
    const int flips = *rc::gen::inRange(0, 3);
    for (int i = 0; i < flips; ++i) {
      const ErrorCode code = kErrorCodes[*rc::gen::inRange<std::size_t>(0, kErrorCodes.size())].code;
      c.counts_as_failure.set(code, *rc::gen::element(BreakerCodeClass::failure, BreakerCodeClass::non_failure,
                                                      BreakerCodeClass::ignored));
    }
    return c;
  });
}

std::string describe(const CircuitBreakerConfig& c) {
  std::ostringstream os;
  os << (c.window == WindowKind::count ? "count(" + std::to_string(c.size) + ")"
                                       : "time(" + std::to_string(c.duration.count() / 1'000'000) + "ms/" +
                                             std::to_string(c.bucket_width.count() / 1'000'000) + "ms)")
     << " rate=" << c.failure_rate << " min=" << c.min_calls
     << " consec=" << (c.consecutive_failures ? std::to_string(*c.consecutive_failures) : "-")
     << " slow=" << (c.slow_call_duration ? "100ms" : "-") << "@" << c.slow_call_rate
     << " open=" << c.open_for.count() / 1'000'000 << "ms x" << c.open_growth << " cap="
     << (c.max_open_for == Duration::max() ? std::string{"-"} : std::to_string(c.max_open_for.count() / 1'000'000))
     << " H=" << c.half_open_calls << " S="
     << (c.half_open_success_threshold ? std::to_string(*c.half_open_success_threshold) : "H") << " M="
     << (c.half_open_max_in_flight ? std::to_string(*c.half_open_max_in_flight) : "H") << " wait="
     << (c.max_half_open_wait ? std::to_string(c.max_half_open_wait->count() / 1'000'000) : "-");
  return os.str();
}

RC_GTEST_PROP(BreakerProperties, MatchesTheReferenceModel, ()) {
  const CircuitBreakerConfig cfg = *gen_config();
  RC_LOG() << "config: " << describe(cfg) << "\n";
  Model m0;
  m0.cfg = cfg;
  Sut sut{cfg};
  rc::state::check(m0, sut,
                   rc::state::gen::execOneOfWithArgs<Call, Call, Call, Call, Call, Begin, Begin, Finish, Finish, Advance,
                                                     Advance, Advance, Observe, Manual>());
  const auto& c = sut.breaker.counters();
  for (std::size_t i = 0; i < kBreakerReasonCount; ++i)
    RC_CLASSIFY(c.by_reason[i] > 0, std::string{to_string(static_cast<BreakerReason>(i))});
  RC_CLASSIFY(c.stale > 0, "stale");
  RC_CLASSIFY(c.ignored > 0, "ignored");
  RC_CLASSIFY(c.slow_calls > 0, "slow");
}

// Observing is free: a breaker whose state is queried at every instant behaves exactly like
// one that is only ever called, over the same calls.
RC_GTEST_PROP(BreakerProperties, ObservingDoesNotChangeBehaviour, ()) {
  const CircuitBreakerConfig cfg = *gen_config();
  struct Step {
    int advance_ms;
    BreakerOutcome outcome;
    Duration latency;
  };
  const auto steps = *rc::gen::container<std::vector<Step>>(rc::gen::construct<Step>(
      rc::gen::inRange(0, 3000), gen_outcome(), gen_latency()));
  CircuitBreaker watched{cfg}, quiet{cfg};
  TimePoint now{};
  for (const Step& s : steps) {
    for (int i = 0; i < 4; ++i) {
      now += std::chrono::milliseconds{s.advance_ms / 4};
      (void)watched.state(now);
      (void)watched.remaining_open(now);
    }
    now += std::chrono::milliseconds{s.advance_ms % 4};
    const BreakerPermit a = watched.try_acquire(now), b = quiet.try_acquire(now);
    RC_ASSERT(a.kind() == b.kind());
    RC_ASSERT(a.retry_after() == b.retry_after());
    if (a) watched.on_result(a, s.outcome, s.latency, now);
    if (b) quiet.on_result(b, s.outcome, s.latency, now);
  }
  RC_ASSERT(watched.state(now) == quiet.state(now));
  RC_ASSERT(watched.counters() == quiet.counters());
}

}  // namespace
}  // namespace keel::policy
