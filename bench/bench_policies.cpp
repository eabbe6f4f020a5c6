// bench_policies — success-path cost of each policy and of the full pipeline, per call, against
// a bare coroutine call in the same binary; allocations per call counted by a global counting
// operator new (every heap allocation of the process goes through it).
//
// Each benchmark iteration runs one driver coroutine making kCalls calls on the simulator, so
// `s_per_op` is the cost of one call (printed like 15.2n = 15.2 ns); subtract BM_BareCall's for a policy's overhead.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <new>

#include "keel/core/spawn.h"
#include "keel/core/timeout.h"
#include "keel/policy/circuit_breaker.h"
#include "keel/policy/hedging.h"
#include "keel/policy/pipeline.h"
#include "keel/policy/rate_limiter.h"
#include "keel/policy/retry.h"
#include "keel/sim/simulator.h"

namespace {
std::uint64_t g_allocations = 0;
}  // namespace

void* operator new(std::size_t n) {
  ++g_allocations;
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc{};
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

using namespace keel;
using namespace keel::policy;
using namespace std::chrono_literals;

constexpr int kCalls = 1000;

Task<Result<int>> operation() { co_return 1; }

// Runs `call()` kCalls times per benchmark iteration; reports ns_per_op and allocs_per_op.
template <class Call>
void drive(benchmark::State& state, Call call) {
  sim::Simulator sim;
  auto loop = [&call](int n) -> Task<Result<int>> {
    int sum = 0;
    for (int i = 0; i < n; ++i) sum += *co_await call();
    co_return sum;
  };
  spawn(sim, loop(kCalls));  // warm up pools
  sim.run_until_idle();
  const std::uint64_t allocs_before = g_allocations;
  for (auto _ : state) {
    spawn(sim, loop(kCalls));
    sim.run_until_idle();
  }
  const double ops = static_cast<double>(state.iterations()) * kCalls;
  state.SetItemsProcessed(static_cast<std::int64_t>(ops));
  state.counters["s_per_op"] = benchmark::Counter(ops, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  // The driver's own spawn is one root frame + one post per kCalls: not per call.
  state.counters["allocs_per_op"] = static_cast<double>(g_allocations - allocs_before) / ops;
}

void BM_BareCall(benchmark::State& state) {
  drive(state, [] { return operation(); });
}
BENCHMARK(BM_BareCall);

void BM_Retry(benchmark::State& state) {
  Rng rng{1};
  RetryBudget budget{{}};
  Retry retry{RetryConfig{}, rng, &budget};
  drive(state, [&] { return retry.execute(operation); });
}
BENCHMARK(BM_Retry);

void BM_CircuitBreaker(benchmark::State& state) {
  CircuitBreaker breaker{CircuitBreakerConfig{}};
  drive(state, [&] { return breaker.execute(operation); });
}
BENCHMARK(BM_CircuitBreaker);

// try_acquire + on_result alone: the cost of recording one call in a closed breaker.
void BM_CircuitBreakerRecord(benchmark::State& state) {
  CircuitBreaker breaker{CircuitBreakerConfig{.window = WindowKind::count, .size = 100}};
  TimePoint now{};
  const std::uint64_t allocs_before = g_allocations;
  for (auto _ : state) {
    now += 1us;
    BreakerPermit p = breaker.try_acquire(now);
    breaker.on_result(p, BreakerOutcome::success(), 1us, now);
    benchmark::DoNotOptimize(p);
  }
  state.counters["allocs_per_op"] =
      static_cast<double>(g_allocations - allocs_before) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_CircuitBreakerRecord);

void BM_CircuitBreakerRecordTimeWindow(benchmark::State& state) {
  CircuitBreaker breaker{CircuitBreakerConfig{.window = WindowKind::time, .duration = 60s}};
  TimePoint now{};
  for (auto _ : state) {
    now += 1ms;
    BreakerPermit p = breaker.try_acquire(now);
    breaker.on_result(p, BreakerOutcome::success(), 1us, now);
    benchmark::DoNotOptimize(p);
  }
}
BENCHMARK(BM_CircuitBreakerRecordTimeWindow);

void BM_Timeout(benchmark::State& state) {
  drive(state, [] { return with_timeout(operation(), 10s); });
}
BENCHMARK(BM_Timeout);

void BM_RateLimiter(benchmark::State& state) {
  RateLimiter limiter{RateLimiterConfig{.requests_per_minute = 1'000'000'000'000}};
  drive(state, [&] { return limiter.execute(operation); });
}
BENCHMARK(BM_RateLimiter);

void BM_HedgingPrimaryWins(benchmark::State& state) {
  Hedging hedging{HedgingConfig{.delay = 2s, .max_extra = 1}};
  drive(state, [&] { return hedging.execute([](int) { return operation(); }); });
}
BENCHMARK(BM_HedgingPrimaryWins);

PipelineConfig five_strategies() {
  PipelineConfig c;
  c.overall_timeout = 120s;
  c.retry = RetryConfig{};
  c.breaker = CircuitBreakerConfig{};
  c.rate_limiter = RateLimiterConfig{.requests_per_minute = 1'000'000'000'000};
  c.attempt_timeout = 30s;
  return c;
}

// Polly v8's "5-strategy pipeline" shape: timeout, retry, breaker, rate limiter, attempt timeout.
void BM_Pipeline5(benchmark::State& state) {
  Pipeline p{five_strategies(), Rng{1}};
  drive(state, [&] { return p.execute(operation); });
}
BENCHMARK(BM_Pipeline5);

// Every stage: the five above plus the retry budget and a bulkhead.
void BM_PipelineAll(benchmark::State& state) {
  PipelineConfig c = five_strategies();
  c.budget = RetryBudgetConfig{};
  c.bulkhead = BulkheadConfig{.max_concurrent = 8};
  Pipeline p{c, Rng{1}};
  drive(state, [&] { return p.execute(operation); });
}
BENCHMARK(BM_PipelineAll);

}  // namespace

BENCHMARK_MAIN();
