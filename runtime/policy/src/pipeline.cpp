#include "keel/policy/pipeline.h"

namespace keel::policy {

Pipeline::Pipeline(PipelineConfig config, Rng rng, EventSink* events, std::string_view target)
    : rng_(rng),
      overall_timeout_(config.overall_timeout),
      attempt_timeout_(config.attempt_timeout),
      fallback_on_(config.fallback_on) {
  if (config.budget) budget_.emplace(*config.budget);
  if (config.retry) {
    RetryConfig retry = *config.retry;
    retry.attempt_timeout.reset();  // the pipeline's own attempt timeout sits inside the breaker
    retry_.emplace(retry, rng_, budget_ ? &*budget_ : nullptr, events, target);
  }
  if (config.breaker) {
    CircuitBreakerConfig b = *config.breaker;
    if (b.name.empty()) b.name = std::string(target);
    breaker_.emplace(std::move(b), events);
  }
  if (config.bulkhead) bulkhead_.emplace(*config.bulkhead, events);
  if (config.rate_limiter) limiter_.emplace(*config.rate_limiter, events);
}

}  // namespace keel::policy
