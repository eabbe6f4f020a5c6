// MockProvider: exact virtual-time latencies, faults through the real classifier for both
// APIs, the context window, RPM/TPM windows with exact retry-after, hangs, determinism.
#include "keel/sim/mock_provider.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "keel/core/timeout.h"
#include "keel/model/token_counter.h"
#include "sim/mock_test_support.h"

namespace keel::sim {
namespace {

using namespace std::chrono_literals;
using model::ChatRequest;
using model::ChatResponse;
using model::ProviderApi;
using testing::at;
using testing::Calls;
using testing::FaultScript;
using testing::Outcome;

using Reply = Result<ChatResponse>;

ChatRequest request(int prompt_tokens, std::string text = "hello") {
  ChatRequest r;
  r.messages = {model::Message::user(std::move(text))};
  r.prompt_tokens = prompt_tokens;
  return r;
}

std::string_view api_name(ProviderApi api) { return api == ProviderApi::openai ? "openai" : "anthropic"; }

class MockProviderTest : public ::testing::Test {
 protected:
  std::unique_ptr<MockProvider> make(MockProviderConfig c, Responder responder = {}) {
    Rng rng = Rng{42}.substream(c.name);
    return std::make_unique<MockProvider>(sim, std::move(c), rng, &faults, &events, std::move(responder));
  }
  Outcome<Reply>& call(MockProvider& p, TimePoint when, ChatRequest req) {
    return calls.at(when, [&p, req = std::move(req)]() { return p.complete(req); });
  }

  Simulator sim;
  FaultScript faults;
  RecordingSink events;
  Calls<Reply> calls{sim};
};

TEST_F(MockProviderTest, SuccessArrivesAfterExactlyTheLatencyWithUsageAndAScriptedAnswer) {
  auto p = make({.name = "gpt", .latency = LatencyModel::fixed(500ms), .output_tokens = 200});
  auto& r = call(*p, at(0s), request(100));
  sim.run_until_idle();
  ASSERT_TRUE(r.done());
  ASSERT_TRUE(*r.result) << r.result->error();
  EXPECT_EQ(r.at, at(500ms));
  const ChatResponse& resp = **r.result;
  EXPECT_EQ(resp.usage.prompt_tokens, 100);
  EXPECT_EQ(resp.usage.completion_tokens, 200);
  EXPECT_EQ(resp.provider, "gpt");
  EXPECT_EQ(resp.model, "gpt");
  EXPECT_EQ(resp.finish_reason, model::FinishReason::stop);
  EXPECT_EQ(resp.message.role, model::Role::assistant);
  EXPECT_EQ(model::approx_text_tokens(resp.message.content), 200);
  EXPECT_EQ(p->stats().requests, 1u);
  EXPECT_EQ(p->stats().successes, 1u);
  EXPECT_EQ(p->stats().failures, 0u);
  EXPECT_EQ(p->info().name, "gpt");
  EXPECT_EQ(p->info().context_window, 128000);
}

TEST_F(MockProviderTest, PromptTokensAreCountedWhenTheCallerDidNotAndTheMaximumIsKept) {
  auto p = make({.name = "gpt"});
  ChatRequest uncounted = request(0, std::string(400, 'x'));
  const int expected = model::ApproxTokenCounter{}.count(uncounted.messages);
  auto& a = call(*p, at(0s), uncounted);
  auto& b = call(*p, at(1s), request(7));
  sim.run_until_idle();
  ASSERT_TRUE(*a.result && *b.result);
  EXPECT_EQ((*a.result)->usage.prompt_tokens, expected);
  EXPECT_EQ((*b.result)->usage.prompt_tokens, 7);
  EXPECT_EQ(p->stats().max_prompt_tokens, expected);
}

TEST_F(MockProviderTest, ConcurrentRequestsEachTakeTheirOwnLatency) {
  auto p = make({.name = "gpt", .latency = LatencyModel::uniform(100ms, 900ms)});
  std::vector<Outcome<Reply>*> out;
  for (int i = 0; i < 20; ++i) out.push_back(&call(*p, at(0s), request(10)));
  sim.run_until_idle();
  bool varied = false;
  for (auto* o : out) {
    ASSERT_TRUE(*o->result);
    EXPECT_GE(o->at, at(100ms));
    EXPECT_LE(o->at, at(900ms));
    varied |= o->at != out[0]->at;
  }
  EXPECT_TRUE(varied);
}

// Latencies of `n` sequential requests; a server_error fault on request `fault_at` if >= 0.
std::vector<Duration> latencies(std::uint64_t seed, int n, int fault_at = -1) {
  Simulator sim;
  FaultScript faults;
  if (fault_at >= 0) faults.by_index[static_cast<std::uint64_t>(fault_at)] = InjectedFault{FaultKind::server_error};
  MockProvider p{sim, {.name = "p", .latency = LatencyModel::lognormal(400ms, 3s)}, Rng{seed}.substream("p"), &faults};
  std::vector<Duration> out;
  auto body = [&]() -> Task<void> {
    for (int i = 0; i < n; ++i) {
      const TimePoint start = sim.now();
      Reply r = co_await p.complete(request(10));
      out.push_back(sim.now() - start);
    }
  };
  spawn(sim, body());
  sim.run_until_idle();
  return out;
}

TEST(MockProviderDeterminism, SameSeedSameLatenciesAndAFaultDoesNotShiftLaterOnes) {
  const auto a = latencies(7, 50);
  ASSERT_EQ(a.size(), 50u);
  EXPECT_EQ(a, latencies(7, 50));
  EXPECT_NE(a, latencies(8, 50));
  // One draw per request whatever happens: a 5xx on request 3 leaves the others' latencies alone.
  const auto f = latencies(7, 50, 3);
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(f[i], a[i]) << "request " << i;
}

TEST_F(MockProviderTest, ContextWindowOverflowIsTheApisStructuredErrorForBothApis) {
  for (ProviderApi api : {ProviderApi::openai, ProviderApi::anthropic}) {
    SCOPED_TRACE(api_name(api));
    Simulator s;
    MockProvider p{s, {.name = "m", .api = api, .context_window = 1000}, Rng{1}};
    Calls<Reply> c{s};
    auto& fits = c.at(at(0s), [&] { return p.complete(request(1000)); });
    auto& over = c.at(at(1s), [&] { return p.complete(request(1001)); });
    s.run_until_idle();
    ASSERT_TRUE(*fits.result);
    ASSERT_FALSE(*over.result);
    const Error& e = over.result->error();
    EXPECT_EQ(e.code, ErrorCode::context_overflow);
    EXPECT_EQ(e.http_status, 400);
    EXPECT_EQ(e.provider, "m");
    EXPECT_FALSE(e.retryable());
    EXPECT_EQ(over.at, at(1s + 50ms));  // refused up front: a tenth of the 500ms latency
    if (api == ProviderApi::openai) {
      EXPECT_NE(e.message.find("maximum context length is 1000 tokens"), std::string::npos) << e.message;
    } else {
      EXPECT_EQ(e.message, "prompt is too long: 1001 tokens > 1000 maximum");
    }
    EXPECT_EQ(p.stats().failures_of(ErrorCode::context_overflow), 1u);
    EXPECT_EQ(p.stats().max_prompt_tokens, 1001);
    // The window and the prompt's size, as the body states them, reach the runtime.
    ASSERT_TRUE(e.stated_context.has_value());
    EXPECT_EQ(e.stated_context->window, 1000);
    EXPECT_EQ(e.stated_context->prompt_tokens, 1001);
  }
}

struct FaultCase {
  const char* what;
  InjectedFault fault;
  ErrorCode code;
  int openai_status;
  int anthropic_status;
  Duration answered_after;  // with a fixed 500ms latency
  std::optional<Duration> retry_after;
};

TEST(MockProviderFaults, EveryFaultKindIsClassifiedByTheRealClassifierForBothApis) {
  const std::vector<FaultCase> cases = {
      {"rate_limit with retry_after", {.kind = FaultKind::rate_limit, .retry_after = 7s}, ErrorCode::rate_limited, 429, 429, 50ms, 7s},
      {"rate_limit", {.kind = FaultKind::rate_limit}, ErrorCode::rate_limited, 429, 429, 50ms, std::nullopt},
      {"server_error 500", {.kind = FaultKind::server_error, .status = 500}, ErrorCode::server_error, 500, 500, 500ms, std::nullopt},
      {"server_error 502", {.kind = FaultKind::server_error, .status = 502}, ErrorCode::server_error, 502, 502, 500ms, std::nullopt},
      {"server_error default", {.kind = FaultKind::server_error}, ErrorCode::server_error, 503, 503, 500ms, std::nullopt},
      {"server_error 529", {.kind = FaultKind::server_error, .status = 529}, ErrorCode::server_error, 529, 529, 500ms, std::nullopt},
      {"context_overflow", {.kind = FaultKind::context_overflow}, ErrorCode::context_overflow, 400, 400, 50ms, std::nullopt},
      {"quota_exhausted", {.kind = FaultKind::quota_exhausted}, ErrorCode::quota_exhausted, 429, 400, 50ms, std::nullopt},
      {"auth_error", {.kind = FaultKind::auth_error}, ErrorCode::auth, 401, 401, 50ms, std::nullopt},
      {"network_reset", {.kind = FaultKind::network_reset}, ErrorCode::network, 0, 0, 250ms, std::nullopt},
      {"malformed_response", {.kind = FaultKind::malformed_response}, ErrorCode::malformed_response, 200, 200, 500ms, std::nullopt},
  };
  for (ProviderApi api : {ProviderApi::openai, ProviderApi::anthropic}) {
    for (const FaultCase& fc : cases) {
      SCOPED_TRACE(std::string(api_name(api)) + ": " + fc.what);
      Simulator sim;
      FaultScript faults;
      faults.always = fc.fault;
      MockProvider p{sim, {.name = "prov", .api = api}, Rng{3}, &faults};
      Calls<Reply> calls{sim};
      auto& r = calls.at(at(1s), [&] { return p.complete(request(100)); });
      sim.run_until_idle();
      ASSERT_TRUE(r.done());
      ASSERT_FALSE(*r.result);
      const Error& e = r.result->error();
      EXPECT_EQ(e.code, fc.code) << e;
      EXPECT_EQ(e.http_status, api == ProviderApi::openai ? fc.openai_status : fc.anthropic_status) << e;
      EXPECT_EQ(e.provider, "prov");
      EXPECT_EQ(e.retry_after, fc.retry_after);
      EXPECT_EQ(r.at, at(1s) + fc.answered_after);
      EXPECT_FALSE(e.message.empty());
      EXPECT_EQ(p.stats().failures_of(fc.code), 1u);
      EXPECT_EQ(p.stats().faults_injected, 1u);
      ASSERT_EQ(faults.calls.size(), 1u);
      EXPECT_EQ(faults.calls[0].target, "prov");
      EXPECT_EQ(faults.calls[0].now, at(1s));
      EXPECT_EQ(faults.calls[0].index, 0u);
    }
  }
}

TEST(MockProviderFaults, QuotaAndAuthAreNeverRetryableAndQuotaIsNeverAnOverflow) {
  for (ProviderApi api : {ProviderApi::openai, ProviderApi::anthropic}) {
    for (FaultKind k : {FaultKind::quota_exhausted, FaultKind::auth_error}) {
      Simulator sim;
      FaultScript faults;
      faults.always = InjectedFault{k};
      MockProvider p{sim, {.name = "prov", .api = api}, Rng{3}, &faults};
      Calls<Reply> calls{sim};
      auto& r = calls.at(at(0s), [&] { return p.complete(request(100)); });
      sim.run_until_idle();
      ASSERT_FALSE(*r.result);
      EXPECT_FALSE(r.result->error().retryable());
      EXPECT_NE(r.result->error().code, ErrorCode::context_overflow);
    }
  }
}

TEST_F(MockProviderTest, SlowAddsTheExtraLatencyToTheAnswer) {
  faults.by_index[0] = InjectedFault{.kind = FaultKind::slow, .extra_latency = LatencyModel::fixed(2s)};
  auto p = make({.name = "gpt", .latency = LatencyModel::fixed(500ms)});
  auto& slow = call(*p, at(0s), request(10));
  auto& normal = call(*p, at(10s), request(10));
  sim.run_until_idle();
  ASSERT_TRUE(*slow.result && *normal.result);
  EXPECT_EQ(slow.at, at(2500ms));
  EXPECT_EQ(normal.at, at(10500ms));
  EXPECT_EQ(p->stats().faults_injected, 1u);
}

TEST_F(MockProviderTest, AHangEndsOnlyByTheCallersTimeoutWhichReleasesItOnTime) {
  faults.always = InjectedFault{FaultKind::hang};
  auto p = make({.name = "gpt"});
  Calls<Reply> timed{sim};
  auto& r = timed.at(at(1s), [&] { return [](MockProvider& prov) -> Task<Reply> {
    co_return co_await with_timeout(prov.complete(request(10)), 30s);
  }(*p); });
  sim.run_until_idle();
  ASSERT_TRUE(r.done());
  ASSERT_FALSE(*r.result);
  EXPECT_EQ(r.result->error().code, ErrorCode::timeout);
  EXPECT_EQ(r.at, at(31s));
  // The hung request was cancelled in the same instant and counted as such.
  EXPECT_EQ(p->stats().failures_of(ErrorCode::cancelled), 1u);
  const RecordedEvent* resp = events.find("provider.response");
  ASSERT_NE(resp, nullptr);
  EXPECT_EQ(resp->time, at(31s));
  EXPECT_EQ(*resp->get<std::string>("code"), "cancelled");
  EXPECT_EQ(sim.pending(), 0u);
}

TEST_F(MockProviderTest, AHangWithoutATimeoutNeverAnswersUntilCancelled) {
  faults.always = InjectedFault{FaultKind::hang};
  auto p = make({.name = "gpt"});
  CancelSource stop;
  std::optional<Reply> got;
  spawn(sim, p->complete(request(10)), [&](Reply r) { got = std::move(r); }, {}, stop.token());
  EXPECT_EQ(sim.run_for(10h).status, RunStatus::idle);  // it waits on its cancellation only: no timer
  EXPECT_EQ(sim.now(), at(10h));
  EXPECT_FALSE(got.has_value());
  stop.cancel();
  sim.run_until_idle();
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->error().code, ErrorCode::cancelled);
  EXPECT_EQ(got->error().provider, "gpt");
  EXPECT_EQ(sim.now(), at(10h));
}

TEST_F(MockProviderTest, CancellationDuringTheLatencyEndsTheRequestAtOnce) {
  auto p = make({.name = "gpt", .latency = LatencyModel::fixed(500ms)});
  Calls<Reply> timed{sim};
  auto& r = timed.at(at(0s), [&] { return [](MockProvider& prov) -> Task<Reply> {
    co_return co_await with_timeout(prov.complete(request(10)), 100ms);
  }(*p); });
  sim.run_until_idle();
  EXPECT_EQ(r.result->error().code, ErrorCode::timeout);
  EXPECT_EQ(r.at, at(100ms));
  EXPECT_EQ(sim.now(), at(100ms));  // the provider's 500ms timer is gone
  EXPECT_EQ(p->stats().failures_of(ErrorCode::cancelled), 1u);
  EXPECT_EQ(p->stats().successes, 0u);
}

Duration retry_after_of(const Outcome<Reply>& o) {
  EXPECT_TRUE(o.done() && !*o.result);
  if (!o.done() || *o.result) return Duration::min();
  EXPECT_EQ(o.result->error().code, ErrorCode::rate_limited);
  EXPECT_EQ(o.result->error().http_status, 429);
  return o.result->error().retry_after.value_or(Duration::min());
}

TEST_F(MockProviderTest, RequestsPerMinuteRetryAfterIsExactToTheNanosecond) {
  // Zero latency: answers (and refusals) arrive when requests do.
  auto p = make({.name = "gpt", .latency = LatencyModel::fixed(0s), .requests_per_minute = 2});
  auto& a = call(*p, at(0s), request(10));
  auto& b = call(*p, at(10s), request(10));
  auto& refused = call(*p, at(20s), request(10));
  auto& early = call(*p, at(60s - 1ns), request(10));
  auto& on_time = call(*p, at(60s), request(10));
  auto& next = call(*p, at(60s), request(10));
  sim.run_until_idle();
  EXPECT_TRUE(*a.result && *b.result && *on_time.result);
  EXPECT_EQ(retry_after_of(refused), 40s);  // the 0s entry leaves the window at 60s
  EXPECT_EQ(retry_after_of(early), 1ns);
  EXPECT_EQ(retry_after_of(next), 10s);  // now the 10s entry is the oldest
  EXPECT_NE(refused.result->error().message.find("Limit 2"), std::string::npos) << refused.result->error();
  EXPECT_EQ(p->stats().failures_of(ErrorCode::rate_limited), 3u);
  EXPECT_EQ(p->stats().requests, 6u);
}

TEST_F(MockProviderTest, RetryAfterCountsFromWhenThe429ReachesTheCaller) {
  auto p = make({.name = "gpt", .latency = LatencyModel::fixed(500ms), .requests_per_minute = 1});
  auto& first = call(*p, at(0s), request(10));
  auto& refused = call(*p, at(20s), request(10));
  auto& one_ns_early = call(*p, at(60s - 1ns), request(10));
  auto& waited_exactly = call(*p, at(60s), request(10));
  sim.run_until_idle();
  ASSERT_TRUE(*first.result);
  EXPECT_EQ(refused.at, at(20s + 50ms));
  EXPECT_EQ(retry_after_of(refused), 39950ms);  // refused.at + retry_after == 60s
  EXPECT_EQ(refused.at + *refused.result->error().retry_after, at(60s));
  EXPECT_FALSE(*one_ns_early.result);
  EXPECT_TRUE(*waited_exactly.result);
}

TEST_F(MockProviderTest, TokensPerMinuteWaitsForEnoughOldEntriesToLeave) {
  // Each request costs prompt + 200 output tokens.
  auto p = make({.name = "gpt", .latency = LatencyModel::fixed(0s), .output_tokens = 200, .tokens_per_minute = 1000});
  auto& a = call(*p, at(0s), request(300));       // 500
  auto& b = call(*p, at(1s), request(300));       // 1000: full
  auto& small = call(*p, at(2s), request(100));   // 300: fits once `a` leaves (60s)
  auto& big = call(*p, at(3s), request(700));     // 900: needs `a` and `b` gone (61s)
  auto& never = call(*p, at(4s), request(900));   // 1100 > 1000: can never fit
  auto& later = call(*p, at(61s), request(700));
  sim.run_until_idle();
  EXPECT_TRUE(*a.result && *b.result && *later.result);
  EXPECT_EQ(retry_after_of(small), 58s);
  EXPECT_EQ(retry_after_of(big), 58s);
  ASSERT_FALSE(*never.result);
  EXPECT_EQ(never.result->error().code, ErrorCode::rate_limited);
  EXPECT_FALSE(never.result->error().retry_after.has_value());
  EXPECT_NE(never.result->error().message.find("Request too large"), std::string::npos);
}

TEST_F(MockProviderTest, RefusedAndOverflowingRequestsNeverEnterTheWindow) {
  auto p = make({.name = "gpt", .context_window = 1000, .latency = LatencyModel::fixed(0s), .requests_per_minute = 1});
  auto& overflow = call(*p, at(0s), request(5000));
  auto& first = call(*p, at(1s), request(10));
  auto& r1 = call(*p, at(30s), request(10));
  auto& r2 = call(*p, at(45s), request(10));
  auto& again = call(*p, at(61s), request(10));
  sim.run_until_idle();
  EXPECT_EQ(overflow.result->error().code, ErrorCode::context_overflow);
  EXPECT_TRUE(*first.result);
  EXPECT_EQ(retry_after_of(r1), 31s);
  EXPECT_EQ(retry_after_of(r2), 16s);
  EXPECT_TRUE(*again.result);  // had r1 or r2 entered the window, this would be refused
}

TEST_F(MockProviderTest, AnthropicRateLimitBodyIsClassifiedWithTheExactRetryAfter) {
  auto p = make({.name = "claude", .api = ProviderApi::anthropic, .latency = LatencyModel::fixed(0s),
                 .output_tokens = 10, .tokens_per_minute = 100});
  auto& a = call(*p, at(0s), request(50));  // 60 tokens
  auto& b = call(*p, at(5s), request(50));  // 120 > 100: fits once `a` leaves at 60s
  sim.run_until_idle();
  EXPECT_TRUE(*a.result);
  EXPECT_EQ(retry_after_of(b), 55s);
  EXPECT_NE(b.result->error().message.find("100 tokens per minute"), std::string::npos) << b.result->error();
}

TEST_F(MockProviderTest, EventsRecordEveryRequestAndAnswer) {
  faults.by_index[1] = InjectedFault{.kind = FaultKind::server_error, .status = 500};
  auto p = make({.name = "gpt", .latency = LatencyModel::fixed(500ms)});
  call(*p, at(0s), request(10));
  call(*p, at(1s), request(20));
  sim.run_until_idle();
  const auto reqs = events.find_all("provider.request");
  const auto resps = events.find_all("provider.response");
  ASSERT_EQ(reqs.size(), 2u);
  ASSERT_EQ(resps.size(), 2u);
  EXPECT_EQ(*reqs[1]->get<std::string>("target"), "gpt");
  EXPECT_EQ(reqs[1]->get_int("index"), 1);
  EXPECT_EQ(reqs[1]->get_int("prompt_tokens"), 20);
  EXPECT_EQ(*reqs[0]->get<std::string>("fault"), "");
  EXPECT_EQ(*reqs[1]->get<std::string>("fault"), "server_error");
  EXPECT_EQ(*resps[0]->get<bool>("ok"), true);
  EXPECT_EQ(resps[0]->get_int("latency"), std::chrono::nanoseconds(500ms).count());
  EXPECT_EQ(*resps[1]->get<bool>("ok"), false);
  EXPECT_EQ(*resps[1]->get<std::string>("code"), "server_error");
  EXPECT_EQ(resps[1]->get_int("status"), 500);
}

TEST_F(MockProviderTest, TheResponderScriptsToolCallsThenAFinalAnswer) {
  auto p = make({.name = "gpt"}, ScriptedResponder{{.tool_calls_per_step = 2, .tools = {"search", "fetch"}}});
  ChatRequest req = request(10);
  auto& step = call(*p, at(0s), req);
  sim.run_until_idle();
  ASSERT_TRUE(*step.result);
  const ChatResponse& asked = **step.result;
  EXPECT_EQ(asked.finish_reason, model::FinishReason::tool_calls);
  ASSERT_EQ(asked.message.tool_calls.size(), 2u);
  EXPECT_EQ(asked.message.tool_calls[0].name, "search");
  EXPECT_EQ(asked.message.tool_calls[1].name, "fetch");
  EXPECT_EQ(asked.message.tool_calls[0].id, "call_gpt_0_0");
  EXPECT_EQ(asked.message.tool_calls[1].arguments, R"({"call_id":"call_gpt_0_1"})");

  req.messages.push_back(asked.message);
  for (const auto& c : asked.message.tool_calls) req.messages.push_back(model::Message::tool_result(c.id, c.name, "{}"));
  auto& final_answer = call(*p, at(1s), req);
  sim.run_until_idle();
  ASSERT_TRUE(*final_answer.result);
  EXPECT_EQ((*final_answer.result)->finish_reason, model::FinishReason::stop);
  EXPECT_TRUE((*final_answer.result)->message.tool_calls.empty());
}

TEST(MockProviderConfigCheck, RejectsNonsense) {
  Simulator sim;
  EXPECT_THROW(MockProvider(sim, {.name = ""}, Rng{1}), std::invalid_argument);
  EXPECT_THROW(MockProvider(sim, {.name = "p", .context_window = 0}, Rng{1}), std::invalid_argument);
  EXPECT_THROW(MockProvider(sim, {.name = "p", .output_tokens = -1}, Rng{1}), std::invalid_argument);
  EXPECT_THROW(MockProvider(sim, {.name = "p", .requests_per_minute = 0}, Rng{1}), std::invalid_argument);
}

}  // namespace
}  // namespace keel::sim
