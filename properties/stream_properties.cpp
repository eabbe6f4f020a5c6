// Streams (format v1.1): under any mix of stream faults (cuts, stalls, malformed events,
// missing sentinels, slow first tokens, content refusals; 5xx, hangs and 429s beside them), with
// or without hedging, and any stream policy (recovery
// restart / continue / fail, on_timeout, first-token and idle limits or none, either preset,
// prefill supported or not), no step ever succeeds with a truncated answer — every accepted
// streamed answer carries every token its provider produced — and every run ends.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "keel/scenarios/runner.h"

namespace keel::scenarios {
namespace {

using namespace std::chrono_literals;
using sim::FaultKind;

Fault random_fault(const std::string& target) {
  Fault f;
  f.target = target;
  // Stream faults, and the whole-answer faults they meet in practice (a 5xx, a hang, a 429).
  const int kind = *rc::gen::inRange(0, 9);
  f.kind = std::array{FaultKind::stream_cut,       FaultKind::stream_stall,   FaultKind::malformed_chunk,
                      FaultKind::missing_done,     FaultKind::slow_first_token, FaultKind::content_filter,
                      FaultKind::server_error,     FaultKind::hang,           FaultKind::rate_limit}[static_cast<std::size_t>(kind)];
  f.probability = *rc::gen::element(0.2, 0.5, 1.0);
  if (*rc::gen::arbitrary<bool>()) f.every_nth = *rc::gen::inRange<std::uint64_t>(1, 4);
  if (f.kind == FaultKind::stream_cut || f.kind == FaultKind::stream_stall) {
    if (*rc::gen::arbitrary<bool>()) f.after_tokens = *rc::gen::inRange<std::int64_t>(0, 12);
  }
  if (f.kind == FaultKind::stream_stall && *rc::gen::arbitrary<bool>()) f.stall = std::chrono::seconds{*rc::gen::inRange(1, 40)};
  if (f.kind == FaultKind::malformed_chunk) f.at_token = *rc::gen::inRange<std::int64_t>(1, 12);
  if (f.kind == FaultKind::slow_first_token) f.extra_latency = sim::LatencyModel::fixed(std::chrono::seconds{*rc::gen::inRange(1, 90)});
  return f;
}

Override<Duration> random_limit() {
  switch (*rc::gen::inRange(0, 3)) {
    case 0: return {};
    case 1: return Override<Duration>::disabled();
    default: return Override<Duration>::of(std::chrono::seconds{*rc::gen::inRange(1, 30)});
  }
}

Scenario random_stream_scenario() {
  Scenario s;
  s.name = "stream_property";
  s.horizon = 30min;
  const int providers = *rc::gen::inRange(1, 3);
  for (int i = 0; i < providers; ++i) {
    Provider p;
    p.name = "p" + std::to_string(i);
    p.api = *rc::gen::arbitrary<bool>() ? Api::anthropic : Api::openai;
    p.latency = Latency::fixed(std::chrono::milliseconds{*rc::gen::inRange(1, 1000)});
    p.output_tokens = *rc::gen::inRange(1, 12);
    p.token_interval = std::chrono::milliseconds{*rc::gen::inRange(0, 200)};
    p.supports_prefill = *rc::gen::arbitrary<bool>();
    s.providers.push_back(p);
    const int faults = *rc::gen::inRange(0, 3);
    for (int k = 0; k < faults; ++k) s.faults.push_back(random_fault(p.name));
  }
  s.runtime.preset = *rc::gen::arbitrary<bool>() ? Preset::camel_parity : Preset::keel_default;
  s.runtime.timeouts.first_token = random_limit();
  s.runtime.timeouts.idle = random_limit();
  if (*rc::gen::arbitrary<bool>()) s.runtime.on_timeout = *rc::gen::arbitrary<bool>() ? OnTimeout::next_model : OnTimeout::retry;
  if (*rc::gen::arbitrary<bool>()) {
    s.runtime.stream_recovery = std::array{StreamRecovery::restart, StreamRecovery::continue_, StreamRecovery::fail}[
        static_cast<std::size_t>(*rc::gen::inRange(0, 3))];
  }
  if (*rc::gen::arbitrary<bool>()) {  // hedged streams: a cut or stalled hedge must not win either
    s.runtime.hedging = Override<HedgingSettings>::of(
        {.delay = std::chrono::milliseconds{*rc::gen::inRange(0, 2000)}, .max_extra = *rc::gen::inRange<std::int64_t>(1, 3)});
  }
  AgentsWorkload w;
  w.count = *rc::gen::inRange(1, 4);
  w.steps = *rc::gen::inRange(1, 4);
  w.stream = true;
  w.history = *rc::gen::arbitrary<bool>() ? History::keep : History::none;
  s.workload = w;
  return s;
}

RC_GTEST_PROP(StreamProperties, NoStepEverSucceedsWithATruncatedAnswer, ()) {
  const Scenario s = random_stream_scenario();
  const std::uint64_t seed = *rc::gen::inRange<std::uint64_t>(1, 1000);
  Result<RunReport> r = run_scenario(s, RunOptions{.seed = seed});
  RC_ASSERT(r.ok());
  RC_ASSERT(r->truncated_answers == 0);
  RC_ASSERT(r->tasks.total == r->tasks.succeeded + r->tasks.failed + r->tasks.skipped + r->tasks.cancelled);
}

}  // namespace
}  // namespace keel::scenarios
