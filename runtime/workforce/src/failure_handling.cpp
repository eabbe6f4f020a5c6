#include "keel/workforce/failure_handling.h"

#include <array>

namespace keel::workforce {

std::string_view to_string(RecoveryStrategy s) noexcept { return enum_name(kRecoveryStrategyNames, s); }

std::string_view to_string(RecoveryAction a) noexcept { return enum_name(kRecoveryActionNames, a); }

Status reject_empty_result(const WorkItem&, std::string_view output) {
  for (char c : output) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return {};
  }
  return Error(ErrorCode::malformed_response, "empty result");
}

RecoveryDecision decide_recovery(RecoveryStrategy strategy, int max_retries, int attempts, ErrorCode code,
                                 bool stopping, std::optional<std::size_t> next_other_worker) noexcept {
  if (code == ErrorCode::cancelled) return {RecoveryAction::cancel, std::nullopt, "attempt cancelled"};
  if (stopping) return {RecoveryAction::fail, std::nullopt, "not retried: the workforce is stopping"};
  const bool retries_left = attempts - 1 < max_retries;
  switch (strategy) {
    case RecoveryStrategy::retry:
      if (retries_left) return {RecoveryAction::retry, std::nullopt, "retry on the same worker"};
      return {RecoveryAction::fail, std::nullopt, "retries exhausted"};
    case RecoveryStrategy::skip:
      if (retries_left) return {RecoveryAction::retry, std::nullopt, "retry on the same worker"};
      return {RecoveryAction::skip, std::nullopt, "retries exhausted: task skipped"};
    case RecoveryStrategy::terminate:
      if (retries_left) return {RecoveryAction::retry, std::nullopt, "retry on the same worker"};
      return {RecoveryAction::terminate, std::nullopt, "retries exhausted: workforce terminated"};
    case RecoveryStrategy::fallback:
      if (!retries_left) return {RecoveryAction::fail, std::nullopt, "retries exhausted"};
      if (!next_other_worker) return {RecoveryAction::fail, std::nullopt, "no fallback worker left"};
      return {RecoveryAction::fallback, next_other_worker, "next fallback worker"};
    case RecoveryStrategy::reassign:
      if (!retries_left) return {RecoveryAction::fail, std::nullopt, "retries exhausted"};
      if (!next_other_worker) return {RecoveryAction::fail, std::nullopt, "no capable worker left"};
      return {RecoveryAction::reassign, next_other_worker, "next capable worker"};
  }
  return {RecoveryAction::fail, std::nullopt, "unknown strategy"};
}

}  // namespace keel::workforce
