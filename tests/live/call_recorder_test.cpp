// keel::live::record_call and AttemptRecorder (the recording behind `keel call`), in virtual
// time: a real ModelManager over scripted transports on the simulator.
#include "keel/live/call_recorder.h"

#include <gtest/gtest.h>

#include "keel/core/spawn.h"
#include "keel/sim/mock_provider.h"
#include "keel/sim/simulator.h"
#include "model/fake_transport.h"

namespace keel::live {
namespace {

using namespace std::chrono_literals;
using model::testing::FakeTransport;
using model::testing::Step;

model::ModelManagerConfig plain(int attempts, Duration delay) {
  model::ModelManagerConfig c = model::ModelManagerConfig::with_retries(attempts, delay);
  c.retry.retryable = policy::RetryCodeSet::retryable_codes();
  c.breaker.reset();
  c.budget.reset();
  c.attempt_timeout.reset();
  c.call_timeout.reset();
  return c;
}

// One runtime: the recorder wraps every transport and listens to the manager's events.
struct Rig {
  sim::Simulator sim;
  AttemptRecorder recorder{sim.now()};
  std::vector<std::unique_ptr<model::ModelTransport>> wrapped;
  std::unique_ptr<model::ModelManager> manager;

  Rig(model::ModelManagerConfig config, std::vector<model::ModelTransport*> transports) {
    std::vector<model::ModelTransport*> chain;
    for (model::ModelTransport* t : transports) {
      wrapped.push_back(recorder.wrap(*t));
      chain.push_back(wrapped.back().get());
    }
    manager = std::make_unique<model::ModelManager>(std::move(config), chain, Rng{1}, &recorder);
  }

  CallRecord call() {
    std::optional<CallRecord> out;
    model::ChatRequest req;
    req.messages = {model::Message::user("hi")};
    req.prompt_tokens = 10;
    spawn(sim, record_call(*manager, recorder, std::move(req)), [&](CallRecord r) { out = std::move(r); });
    sim.run_until_idle();
    EXPECT_TRUE(out.has_value());
    return out ? std::move(*out) : CallRecord{};
  }
};

TEST(CallRecorder, RecordsRetriesAndTheFallbackInStartOrderWithVirtualTimes) {
  FakeTransport a{"a", {Step::fail(ErrorCode::server_error, 100ms, 503)}};
  FakeTransport b{"b", {Step::ok(200ms)}};
  Rig rig{plain(2, 1s), {&a, &b}};
  const CallRecord r = rig.call();
  ASSERT_TRUE(r.result);
  EXPECT_EQ(r.result->provider, "b");
  ASSERT_EQ(r.attempts.size(), 3u);
  EXPECT_EQ(r.attempts[0].model, "a");
  EXPECT_EQ(r.attempts[0].start, 0ms);
  EXPECT_EQ(r.attempts[0].duration, 100ms);
  EXPECT_EQ(r.attempts[0].outcome(), "server_error");
  EXPECT_EQ(r.attempts[1].start, 1100ms);  // 100 ms answer + 1 s backoff
  EXPECT_EQ(r.attempts[1].outcome(), "server_error");
  EXPECT_EQ(r.attempts[2].model, "b");
  EXPECT_EQ(r.attempts[2].start, 1200ms);
  EXPECT_EQ(r.attempts[2].duration, 200ms);
  EXPECT_EQ(r.attempts[2].outcome(), "ok");
  EXPECT_FALSE(r.attempts[2].error);
}

TEST(CallRecorder, AnAttemptAbandonedAtItsTimeoutIsRecordedAsATimeoutOfThatLength) {
  FakeTransport a{"a", {Step::hangs()}};
  FakeTransport b{"b", {Step::ok(50ms)}};
  model::ModelManagerConfig c = plain(1, 1s);
  c.attempt_timeout = 2s;
  Rig rig{c, {&a, &b}};
  const CallRecord r = rig.call();
  ASSERT_TRUE(r.result);
  ASSERT_EQ(r.attempts.size(), 2u);
  EXPECT_EQ(r.attempts[0].outcome(), "timeout");
  EXPECT_EQ(r.attempts[0].duration, 2s);
  EXPECT_EQ(a.cancelled, 1);
  EXPECT_EQ(r.attempts[1].start, 2s);
  EXPECT_EQ(r.attempts[1].outcome(), "ok");
}

TEST(CallRecorder, TheAttemptACallTimeoutAbandonsIsFinishedBeforeTheRecordIsReturned) {
  FakeTransport a{"a", {Step::hangs()}};
  model::ModelManagerConfig c = plain(1, 1s);
  c.call_timeout = 1500ms;
  Rig rig{c, {&a}};
  const CallRecord r = rig.call();
  ASSERT_FALSE(r.result);
  EXPECT_EQ(r.result.error().code, ErrorCode::timeout);
  ASSERT_EQ(r.attempts.size(), 1u);
  EXPECT_TRUE(r.attempts[0].finished);
  EXPECT_EQ(r.attempts[0].outcome(), "timeout");
  EXPECT_EQ(r.attempts[0].duration, 1500ms);
}

TEST(CallRecorder, AModelRefusedByItsOpenBreakerIsAZeroLengthCircuitOpenAttempt) {
  FakeTransport a{"a", {Step::fail(ErrorCode::server_error, 10ms, 500)}};
  FakeTransport b{"b", {Step::ok(10ms)}};
  model::ModelManagerConfig c = plain(1, 1s);
  c.breaker = policy::CircuitBreakerConfig{.window = policy::WindowKind::count, .size = 1, .failure_rate = 0.5,
                                           .min_calls = 1, .open_for = 1min};
  Rig rig{c, {&a, &b}};
  const CallRecord first = rig.call();
  ASSERT_EQ(first.attempts.size(), 2u);
  EXPECT_EQ(first.attempts[0].outcome(), "server_error");
  const CallRecord second = rig.call();  // the same runtime: a's breaker is open now
  ASSERT_TRUE(second.result);
  ASSERT_EQ(second.attempts.size(), 2u);
  EXPECT_EQ(second.attempts[0].model, "a");
  EXPECT_EQ(second.attempts[0].outcome(), "circuit_open");
  EXPECT_EQ(second.attempts[0].duration, 0ms);
  EXPECT_EQ(second.attempts[1].outcome(), "ok");
  EXPECT_EQ(a.started_at.size(), 1u);  // the refusal sent no request
  EXPECT_EQ(second.start, first.attempts[1].start + 10ms);
}

// Every request to the provider gets `fault`.
struct EveryRequest final : sim::FaultHook {
  explicit EveryRequest(sim::InjectedFault f) : fault(std::move(f)) {}
  std::optional<sim::InjectedFault> decide(std::string_view, TimePoint, std::uint64_t) override { return fault; }
  sim::InjectedFault fault;
};

TEST(CallRecorder, AStreamTheRuntimesWatchdogGaveUpOnIsATimeoutEndedAtItsLimit) {
  // The transport's task only sees its cancellation; the runtime's idle limit ended it.
  sim::Simulator sim;
  EveryRequest stall{{.kind = sim::FaultKind::stream_stall, .after_tokens = 2}};  // silent for good
  sim::MockProvider a{sim, {.name = "a", .latency = sim::LatencyModel::fixed(100ms), .output_tokens = 8}, Rng{1}, &stall};
  sim::MockProvider b{sim, {.name = "b", .latency = sim::LatencyModel::fixed(100ms), .output_tokens = 8}, Rng{2}};
  model::ModelManagerConfig c = plain(1, 1s);
  c.stream.idle = 500ms;
  AttemptRecorder recorder{sim.now()};
  auto wa = recorder.wrap(a), wb = recorder.wrap(b);
  model::ModelManager manager{c, {wa.get(), wb.get()}, Rng{1}, &recorder};
  model::ChatRequest req;
  req.messages = {model::Message::user("hi")};
  req.prompt_tokens = 7;
  req.stream = true;
  std::optional<CallRecord> out;
  spawn(sim, record_call(manager, recorder, std::move(req)), [&](CallRecord r) { out = std::move(r); });
  sim.run_until_idle();
  ASSERT_TRUE(out.has_value());
  ASSERT_TRUE(out->result) << out->result.error().describe();
  // The stalled attempt was billed its prompt and delivered 2 tokens: kept apart from the answer.
  EXPECT_EQ(out->failed_attempts_usage.prompt_tokens, 7);
  EXPECT_EQ(out->failed_attempts_usage.completion_tokens, 2);
  ASSERT_EQ(out->attempts.size(), 2u);
  EXPECT_EQ(out->attempts[0].outcome(), "timeout");
  EXPECT_EQ(out->attempts[0].duration, 600ms);  // its tokens at 100 ms, then 500 ms of silence
  EXPECT_NE(out->attempts[0].error->message.find("idle"), std::string::npos) << out->attempts[0].error->message;
  EXPECT_EQ(out->attempts[1].model, "b");
  EXPECT_EQ(out->attempts[1].start, 600ms);
  EXPECT_EQ(out->attempts[1].outcome(), "ok");
}

TEST(CallRecorder, JsonOfAnAnswer) {
  CallRecord r;
  r.start = 1500ms;
  model::ChatResponse answer;
  answer.message = model::Message::assistant("hello \"you\"");
  answer.model = "gpt-x";
  answer.provider = "b";
  answer.usage = {12, 3};
  r.result = answer;
  r.attempts.push_back({.model = "a", .start = 1500ms, .duration = 250us,
                        .error = Error{ErrorCode::network, "reset"}.with_provider("a"), .finished = true});
  r.attempts.push_back({.model = "b", .start = 1501ms, .duration = 20ms, .error = std::nullopt, .finished = true});
  EXPECT_EQ(call_record_json(r, "127.0.0.1:8080", true),
            R"j({"start_ms":1500.000,"answer":"hello \"you\"","model":"gpt-x","provider":"127.0.0.1:8080",)j"
            R"j("usage":{"prompt_tokens":12,"completion_tokens":3},)j"
            R"j("failed_attempts_usage":{"prompt_tokens":0,"completion_tokens":0},"attempts":[)j"
            R"j({"model":"a","start_ms":1500.000,"duration_ms":0.250,"outcome":"network",)j"
            R"j("error":{"code":"network","message":"network: reset (provider=a)"}},)j"
            R"j({"model":"b","start_ms":1501.000,"duration_ms":20.000,"outcome":"ok","error":null}],"error":null})j");
}

TEST(CallRecorder, JsonOfAFailureCarriesTheWholeCauseChain) {
  CallRecord r;
  r.result = Error{ErrorCode::timeout, "all 1 models failed"}.caused_by(Error{ErrorCode::timeout, "slow"}.with_provider("a"));
  EXPECT_EQ(call_record_json(r, "", false),
            R"j({"answer":null,"model":null,"provider":null,"usage":null,)j"
            R"j("failed_attempts_usage":{"prompt_tokens":0,"completion_tokens":0},"attempts":[],)j"
            R"j("error":{"code":"timeout","message":"timeout: all 1 models failed <- timeout: slow (provider=a)"}})j");
}

}  // namespace
}  // namespace keel::live
