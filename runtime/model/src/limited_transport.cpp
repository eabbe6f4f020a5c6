// A provider's rate limiter and bulkhead in front of its transport (limited_transport.h).
#include "keel/model/limited_transport.h"

#include <string>
#include <utility>

namespace keel::model {

LimitedTransport::LimitedTransport(ModelTransport& inner, const ClientLimits& limits, EventSink* events)
    : inner_(inner) {
  if (limits.rate_limiter) limiter_.emplace(*limits.rate_limiter, events);
  if (limits.bulkhead) bulkhead_.emplace(*limits.bulkhead, events);
}

Task<Result<ChatResponse>> LimitedTransport::complete(ChatRequest request) {
  if (limiter_) {
    Status admitted = co_await limiter_->acquire(0, &request.trace);
    if (!admitted) {
      Error e = std::move(admitted).error();
      // The limiter's own refusal (`throttled`) is, to the chain, the provider's capacity
      // speaking from our side: `rate_limited` with the exact wait as its retry-after.
      if (e.code == ErrorCode::throttled) {
        e.code = ErrorCode::rate_limited;
        e.message = "client-side rate limiter: " + e.message;
      }
      co_return std::move(e).with_provider(inner_.info().name);
    }
  }
  policy::Bulkhead::Permit slot;
  if (bulkhead_) {
    Result<policy::Bulkhead::Permit> permit = co_await bulkhead_->acquire(&request.trace);
    if (!permit) co_return Error{permit.error()}.with_provider(inner_.info().name);
    slot = std::move(*permit);
  }
  co_return co_await inner_.complete(std::move(request));
}

}  // namespace keel::model
