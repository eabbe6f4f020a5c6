// keel/model/limited_transport.h — a provider's client-side limits: a rate limiter and a
// bulkhead in front of its transport, shared by every chain and agent that uses the provider.
//
// Purpose: stay under a provider's request rate and concurrency from our own side (the
// scenario format's `runtime.rate_limiter` and `runtime.bulkhead`, one of each per provider).
// Wrapping the transport, not the ModelManager, makes the limits per provider: every manager
// (one per agent chain or workforce worker) that sends to the provider goes through the same
// bucket and the same slots.
//
// Contract (`co_await limited.complete(request)`):
//  - Rate limiter first (policy::RateLimiter, one request per call, delay mode): a request
//    waits for its token; one that would wait longer than `max_delay` (or past the caller's
//    deadline) fails at once with `rate_limited`, retry_after = the wait, provider = this
//    provider's name — it never reaches the provider.
//  - Then the bulkhead (policy::Bulkhead): at most `max_concurrent` requests in flight to the
//    provider, then up to `max_queue` waiting in FIFO order; beyond the queue a request fails at
//    once with `bulkhead_full`. A queued request waits until a slot frees or the caller's
//    deadline (the attempt timeout) passes (`timeout`). The slot is held until the answer.
//  - Without limits it forwards unchanged (no event, no allocation). info() is the inner one.
//  - Events: the policies' "ratelimit.decision" and "bulkhead.decision", with the request's
//    trace ids (`request.trace`).
//  - Single-threaded; the inner transport must outlive this one.
//
// Example:
//   LimitedTransport openai{http_openai, {.rate_limiter = {{.requests_per_minute = 600,
//                           .request_burst = 20, .max_delay = 5s}}, .bulkhead = {{.max_concurrent = 8}}}, &sink};
//   ModelManager chain{cfg.manager, {&openai, &anthropic}, rng, &sink};
#pragma once

#include <optional>

#include "keel/core/event.h"
#include "keel/model/transport.h"
#include "keel/policy/bulkhead.h"
#include "keel/policy/rate_limiter.h"

namespace keel::model {

struct ClientLimits {
  std::optional<policy::RateLimiterConfig> rate_limiter;  // none: requests are not paced
  std::optional<policy::BulkheadConfig> bulkhead;         // none: concurrency is not limited
  bool empty() const noexcept { return !rate_limiter && !bulkhead; }
};

class LimitedTransport final : public ModelTransport {
 public:
  // Throws std::invalid_argument for a rate limiter config RateLimiter rejects.
  LimitedTransport(ModelTransport& inner, const ClientLimits& limits, EventSink* events = nullptr);
  LimitedTransport(const LimitedTransport&) = delete;
  LimitedTransport& operator=(const LimitedTransport&) = delete;

  const TransportInfo& info() const noexcept override { return inner_.info(); }
  Task<Result<ChatResponse>> complete(ChatRequest request) override;

  const policy::RateLimiter* rate_limiter() const noexcept { return limiter_ ? &*limiter_ : nullptr; }
  const policy::Bulkhead* bulkhead() const noexcept { return bulkhead_ ? &*bulkhead_ : nullptr; }

 private:
  ModelTransport& inner_;
  std::optional<policy::RateLimiter> limiter_;
  std::optional<policy::Bulkhead> bulkhead_;
};

}  // namespace keel::model
