// The ModelManager's stream policies (model_manager.h, "Streams"), driven by mock providers
// that stream token by token in virtual time: completeness, first-token and idle timeouts,
// on_timeout next_model, stream_recovery restart / continue / fail, usage accounting.
#include <gtest/gtest.h>

#include <deque>
#include <memory>
#include <optional>

#include "keel/core/spawn.h"
#include "keel/model/model_manager.h"
#include "keel/sim/mock_provider.h"
#include "keel/sim/simulator.h"

namespace keel::model {
namespace {

using namespace std::chrono_literals;
using sim::FaultKind;
using sim::InjectedFault;

// Faults in order, per target; nothing once a target's list is spent.
struct Script final : sim::FaultHook {
  std::map<std::string, std::deque<std::optional<InjectedFault>>, std::less<>> next;
  std::optional<InjectedFault> decide(std::string_view target, TimePoint, std::uint64_t) override {
    auto it = next.find(target);
    if (it == next.end() || it->second.empty()) return std::nullopt;
    std::optional<InjectedFault> f = it->second.front();
    it->second.pop_front();
    return f;
  }
};

InjectedFault cut(std::int64_t after) { return {.kind = FaultKind::stream_cut, .after_tokens = after}; }
InjectedFault stall(std::int64_t after) { return {.kind = FaultKind::stream_stall, .after_tokens = after}; }

struct Fixture {
  sim::Simulator sim;
  Script faults;
  std::vector<std::unique_ptr<sim::MockProvider>> providers;
  std::unique_ptr<ModelManager> manager;
  std::optional<Result<ChatResponse>> result;
  TimePoint ended{};

  sim::MockProvider& add(std::string name, bool prefill = true, ProviderApi api = ProviderApi::openai) {
    providers.push_back(std::make_unique<sim::MockProvider>(
        sim, sim::MockProviderConfig{.name = std::move(name), .api = api, .latency = sim::LatencyModel::fixed(500ms),
                                     .output_tokens = 40, .token_interval = 20ms, .supports_prefill = prefill},
        Rng{1}.substream("p" + std::to_string(providers.size())), &faults));
    return *providers.back();
  }
  void build(StreamPolicy policy, int attempts = 3) {
    ModelManagerConfig c;
    c.retry.max_attempts = attempts;
    c.retry.backoff = {.base = 100ms, .max = 100ms, .multiplier = 1.0, .jitter = policy::Jitter::none};
    c.attempt_timeout = 30s;
    c.call_timeout.reset();
    c.breaker.reset();
    c.budget.reset();
    c.stream = policy;
    std::vector<ModelTransport*> ts;
    for (auto& p : providers) ts.push_back(p.get());
    manager = std::make_unique<ModelManager>(c, ts, Rng{7});
  }
  void run() {
    ChatRequest req;
    req.messages = {Message::user("hello")};
    req.prompt_tokens = 10;
    req.stream = true;
    spawn(sim, manager->complete(req), [this](Result<ChatResponse> r) {
      result = std::move(r);
      ended = sim.now();
    });
    sim.run_until(TimePoint{10min});
  }
};

TEST(StreamPolicyTest, AHealthyStreamIsOneAttemptWithProviderModelAndUsage) {
  Fixture f;
  f.add("gpt");
  f.build({});
  f.run();
  ASSERT_TRUE(f.result && *f.result) << (f.result ? f.result->error().describe() : "no result");
  const ChatResponse& r = **f.result;
  EXPECT_EQ(r.provider, "gpt");
  EXPECT_EQ(r.model, "gpt");
  EXPECT_EQ(r.usage.completion_tokens, 40);
  EXPECT_EQ(r.answer_tokens, 40);
  EXPECT_EQ(r.message.content.size(), 160u);
  EXPECT_EQ(f.ended, TimePoint{500ms + 39 * 20ms});  // first token at the latency, one per interval
  EXPECT_EQ(f.manager->counters().attempts, 1u);
}

TEST(StreamPolicyTest, ACutStreamIsNeverAnAnswerAndRestartsOnTheSameModel) {
  Fixture f;
  f.add("gpt");
  f.faults.next["gpt"] = {cut(10)};
  f.build({});
  f.run();
  ASSERT_TRUE(f.result && *f.result);
  EXPECT_EQ((*f.result)->answer_tokens, 40);
  EXPECT_EQ(f.manager->counters().attempts, 2u);
  EXPECT_EQ(f.manager->counters().failed_attempts_usage.completion_tokens, 10);
  EXPECT_EQ(f.manager->counters().answered_usage.completion_tokens, 40);
}

TEST(StreamPolicyTest, RecoveryFailEndsTheCallWithTheCut) {
  Fixture f;
  f.add("gpt");
  f.add("claude");
  f.faults.next["gpt"] = {cut(10)};
  f.build({.recovery = StreamPolicy::Recovery::fail});
  f.run();
  ASSERT_TRUE(f.result);
  ASSERT_FALSE(*f.result);
  EXPECT_EQ(f.result->error().code, ErrorCode::network);
  EXPECT_EQ(f.providers[1]->stats().requests, 0u);  // no fallback either
}

TEST(StreamPolicyTest, AStallIsGivenUpWithinTheIdleTimeout) {
  Fixture f;
  f.add("gpt");
  f.faults.next["gpt"] = {stall(10)};
  f.build({.idle = 5s});
  f.run();
  ASSERT_TRUE(f.result && *f.result);
  // 10 tokens by 680 ms, silence, given up at 5.68 s, 100 ms backoff, a whole answer (1.28 s).
  EXPECT_EQ(f.ended, TimePoint{680ms + 5s + 100ms + 1280ms});
  EXPECT_EQ(f.manager->counters().idle_timeouts, 1u);
}

TEST(StreamPolicyTest, ASilentRouteMovesToTheNextModelAtOnce) {
  Fixture f;
  f.add("gpt");
  f.add("claude");
  f.faults.next["gpt"] = {InjectedFault{.kind = FaultKind::hang}};
  f.build({.on_timeout = StreamPolicy::OnTimeout::next_model});
  f.run();
  ASSERT_TRUE(f.result && *f.result);
  EXPECT_EQ((*f.result)->provider, "claude");
  EXPECT_EQ(f.ended, TimePoint{30s + 1280ms});  // one attempt timeout, no retry
  EXPECT_EQ(f.providers[0]->stats().requests, 1u);
  EXPECT_EQ(f.manager->counters().silent_route_moves, 1u);
}

TEST(StreamPolicyTest, ASilentRouteIsRetriedOnTheSameModelWithOnTimeoutRetry) {
  Fixture f;
  f.add("gpt");
  f.add("claude");
  f.faults.next["gpt"] = {InjectedFault{.kind = FaultKind::hang}};
  f.build({});
  f.run();
  ASSERT_TRUE(f.result && *f.result);
  EXPECT_EQ((*f.result)->provider, "gpt");
  EXPECT_EQ(f.providers[0]->stats().requests, 2u);
}

TEST(StreamPolicyTest, ALongFirstTokenWithinTheLimitIsWaitedFor) {
  Fixture f;
  f.add("gpt");
  f.faults.next["gpt"] = {InjectedFault{.kind = FaultKind::slow_first_token, .extra_latency = sim::LatencyModel::fixed(20s)}};
  f.build({.first_token = 60s, .idle = 15s});
  f.run();
  ASSERT_TRUE(f.result && *f.result);
  EXPECT_EQ(f.ended, TimePoint{20s + 1280ms});
  EXPECT_EQ(f.manager->counters().attempts, 1u);
}

TEST(StreamPolicyTest, AFirstTokenOverTheLimitTimesOut) {
  Fixture f;
  f.add("gpt");
  f.add("claude");
  f.faults.next["gpt"] = {InjectedFault{.kind = FaultKind::slow_first_token, .extra_latency = sim::LatencyModel::fixed(20s)}};
  f.build({.first_token = 5s, .on_timeout = StreamPolicy::OnTimeout::next_model});
  f.run();
  ASSERT_TRUE(f.result && *f.result);
  EXPECT_EQ((*f.result)->provider, "claude");
  EXPECT_EQ(f.ended, TimePoint{5s + 1280ms});
  EXPECT_EQ(f.manager->counters().first_token_timeouts, 1u);
}

TEST(StreamPolicyTest, ContinueSendsThePartialAnswerAsPrefillAndReturnsTheWholeAnswer) {
  Fixture f;
  f.add("gpt");
  f.faults.next["gpt"] = {cut(20)};
  f.build({.recovery = StreamPolicy::Recovery::continue_});
  f.run();
  ASSERT_TRUE(f.result && *f.result);
  EXPECT_EQ(f.manager->counters().continuations, 1u);
  EXPECT_EQ((*f.result)->answer_tokens, 40);
  EXPECT_EQ((*f.result)->message.content.size(), 160u);
  // Cut at 900 ms (20 tokens), 100 ms backoff, the other 20 tokens: 500 ms + 19 x 20 ms.
  EXPECT_EQ(f.ended, TimePoint{900ms + 100ms + 880ms});
}

TEST(StreamPolicyTest, ContinueNeverSendsAPrefillToAModelThatRefusesIt) {
  Fixture f;
  f.add("gpt", /*prefill=*/false);
  f.faults.next["gpt"] = {cut(20)};
  f.build({.recovery = StreamPolicy::Recovery::continue_});
  f.run();
  ASSERT_TRUE(f.result && *f.result);
  EXPECT_EQ(f.manager->counters().continuations, 0u);
  EXPECT_EQ(f.providers[0]->stats().requests, 2u);  // the cut, then a whole answer
}

// A transport that claims prefill support its provider does not have (a gateway's capability
// table out of date): the provider refuses the prefill with a 400.
struct ClaimsPrefill final : ModelTransport {
  explicit ClaimsPrefill(ModelTransport& inner) : inner(inner), claimed(inner.info()) { claimed.supports_prefill = true; }
  const TransportInfo& info() const noexcept override { return claimed; }
  Task<Result<ChatResponse>> complete(ChatRequest r) override { return inner.complete(std::move(r)); }
  Task<Status> stream(ChatRequest r, StreamSink& sink) override { return inner.stream(std::move(r), sink); }
  ModelTransport& inner;
  TransportInfo claimed;
};

// The refused prefill is never the call's error: the model is asked again for the whole answer,
// and is not sent a prefill again within the call.
TEST(StreamPolicyTest, ARefusedPrefillIsAskedAgainWholeAndNeverTheCallsError) {
  Fixture f;
  sim::MockProvider& real = f.add("gpt", /*prefill=*/false);
  f.faults.next["gpt"] = {cut(20)};
  ClaimsPrefill claims{real};
  ModelManagerConfig c;
  c.retry.max_attempts = 2;  // the cut and one more: the refusal must not take that one
  c.retry.backoff = {.base = 100ms, .max = 100ms, .multiplier = 1.0, .jitter = policy::Jitter::none};
  c.call_timeout.reset();
  c.breaker.reset();
  c.budget.reset();
  c.stream = {.recovery = StreamPolicy::Recovery::continue_};
  f.manager = std::make_unique<ModelManager>(c, std::vector<ModelTransport*>{&claims}, Rng{7});
  f.run();
  ASSERT_TRUE(f.result && *f.result) << (f.result ? f.result->error().describe() : "no result");
  EXPECT_EQ((*f.result)->answer_tokens, 40);
  EXPECT_EQ((*f.result)->message.content.size(), 160u);  // the whole answer, not partial + rest
  // The cut, the refused prefill (400), then the whole request again: three requests on a
  // two-attempt budget, so the refusal did not spend the model's retry.
  EXPECT_EQ(real.stats().requests, 3u);
  EXPECT_EQ(f.manager->counters().continuations, 1u);
}

TEST(StreamPolicyTest, AMissingSentinelIsASuccessWithoutRetry) {
  for (ProviderApi api : {ProviderApi::openai, ProviderApi::anthropic}) {
    Fixture f;
    f.add("p", true, api);
    f.faults.next["p"] = {InjectedFault{.kind = FaultKind::missing_done}};
    f.build({.first_token = 60s, .idle = 15s});
    f.run();
    ASSERT_TRUE(f.result && *f.result) << to_string(api);
    EXPECT_EQ(f.manager->counters().attempts, 1u);
    EXPECT_EQ((*f.result)->usage.completion_tokens, 40);
  }
}

TEST(StreamPolicyTest, OneMalformedEventIsSkippedAndTheAnswerKept) {
  for (ProviderApi api : {ProviderApi::openai, ProviderApi::anthropic}) {
    Fixture f;
    f.add("p", true, api);
    f.faults.next["p"] = {InjectedFault{.kind = FaultKind::malformed_chunk, .at_token = 5}};
    f.build({});
    f.run();
    ASSERT_TRUE(f.result && *f.result) << to_string(api) << " " << f.result->error().describe();
    EXPECT_EQ(f.manager->counters().attempts, 1u);
    EXPECT_EQ(f.manager->counters().stream_events_skipped, 1u);
    EXPECT_EQ((*f.result)->answer_tokens, 40);
  }
}

TEST(StreamPolicyTest, AContentFilterRefusalIsNotRetriedAndFallsBack) {
  Fixture f;
  f.add("gpt");
  f.add("claude", true, ProviderApi::anthropic);
  f.faults.next["gpt"] = {InjectedFault{.kind = FaultKind::content_filter}};
  f.build({});
  f.run();
  ASSERT_TRUE(f.result && *f.result);
  EXPECT_EQ((*f.result)->provider, "claude");
  EXPECT_EQ(f.providers[0]->stats().requests, 1u);
}

}  // namespace
}  // namespace keel::model
