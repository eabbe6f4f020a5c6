// FaultPlan: per-(fault, target) counters and seeded streams (fault_plan.h).
#include "keel/faults/fault_plan.h"

#include <cmath>
#include <stdexcept>
#include <utility>

namespace keel::faults {

namespace {

void check(const FaultSpec& f, std::size_t i) {
  const std::string where = "FaultPlan: fault " + std::to_string(i) + " (" + f.target + "): ";
  if (f.target.empty()) throw std::invalid_argument(where + "empty target");
  if (!fits_target(f.kind, f.target))
    throw std::invalid_argument(where + "kind " + std::string(fault_kind_name(f.kind)) + " does not fit the target");
  if (!(f.probability >= 0.0 && f.probability <= 1.0))
    throw std::invalid_argument(where + "probability outside [0, 1]");
  if (f.every_nth && *f.every_nth == 0) throw std::invalid_argument(where + "every_nth < 1");
  if (f.first_n && *f.first_n == 0) throw std::invalid_argument(where + "first_n < 1");
  if (f.from < Duration::zero()) throw std::invalid_argument(where + "negative from");
  if (f.until && *f.until <= f.from) throw std::invalid_argument(where + "until <= from");
  if (f.kind == sim::FaultKind::server_error && (f.status < 500 || f.status > 599))
    throw std::invalid_argument(where + "status outside 500..599");
  if ((f.kind == sim::FaultKind::slow || f.kind == sim::FaultKind::slow_first_token) && !f.extra_latency)
    throw std::invalid_argument(where + "slow and slow_first_token need extra_latency");
  if (f.after_tokens && (*f.after_tokens < 0 || *f.after_tokens > kMaxStreamTokens))
    throw std::invalid_argument(where + "after_tokens outside 0..kMaxStreamTokens");
  if (f.at_token < 1 || f.at_token > kMaxStreamTokens) throw std::invalid_argument(where + "at_token outside 1..kMaxStreamTokens");
  if (f.stall && *f.stall < Duration::zero()) throw std::invalid_argument(where + "negative stall");
}

}  // namespace

sim::InjectedFault to_injected(const FaultSpec& spec) {
  sim::InjectedFault out;
  out.kind = spec.kind;
  if (spec.kind == sim::FaultKind::rate_limit) out.retry_after = spec.retry_after;
  out.status = spec.kind == sim::FaultKind::server_error ? spec.status : 503;
  using K = sim::FaultKind;
  if (spec.kind == K::slow || spec.kind == K::slow_first_token) out.extra_latency = spec.extra_latency;
  if (spec.kind == K::stream_cut || spec.kind == K::stream_stall) out.after_tokens = spec.after_tokens;
  if (spec.kind == K::stream_stall) out.stall = spec.stall;
  if (spec.kind == K::malformed_chunk) out.at_token = spec.at_token;
  return out;
}

FaultPlan::FaultPlan(std::vector<FaultSpec> faults, std::uint64_t seed, Duration horizon)
    : faults_(std::move(faults)),
      seed_(seed),
      horizon_(horizon),
      root_(Rng{seed}.substream("faults")),
      applied_(faults_.size(), 0),
      hits_(faults_.size(), 0) {
  for (std::size_t i = 0; i < faults_.size(); ++i) check(faults_[i], i);
}

FaultPlan::TargetState& FaultPlan::state_for(std::string_view target) {
  if (auto it = targets_.find(target); it != targets_.end()) return it->second;
  TargetState st;
  for (std::size_t i = 0; i < faults_.size(); ++i) {
    if (targets(faults_[i], target)) st.streams.push_back({i, 0, root_.substream(i).substream(target)});
  }
  return targets_.emplace(std::string(target), std::move(st)).first->second;
}

std::optional<FaultDecision> FaultPlan::next(std::string_view target, TimePoint now) {
  TargetState& st = state_for(target);
  const Duration t = now.time_since_epoch();
  std::optional<FaultDecision> first;
  for (Stream& s : st.streams) {
    const FaultSpec& f = faults_[s.fault_index];
    const Duration until = f.until.value_or(horizon_);
    if (t < f.from || t >= until) continue;
    const std::uint64_t c = ++s.in_window;
    if (f.first_n && c > *f.first_n) continue;
    if (f.every_nth && c % *f.every_nth != 0) continue;
    if (!s.rng.bernoulli(f.probability)) continue;  // exactly one draw per filtered request
    ++hits_[s.fault_index];
    if (!first) {
      ++applied_[s.fault_index];
      first = FaultDecision{s.fault_index, to_injected(f)};
    }
  }
  return first;
}

std::optional<sim::InjectedFault> FaultPlan::decide(std::string_view target, TimePoint now,
                                                    std::uint64_t /*request_index*/) {
  std::optional<FaultDecision> d = next(target, now);
  if (!d) return std::nullopt;
  return std::move(d->fault);
}

std::uint64_t FaultPlan::applied(std::size_t fault_index) const noexcept {
  return fault_index < applied_.size() ? applied_[fault_index] : 0;
}

std::uint64_t FaultPlan::hits(std::size_t fault_index) const noexcept {
  return fault_index < hits_.size() ? hits_[fault_index] : 0;
}

void FaultPlan::reset() {
  targets_.clear();
  applied_.assign(faults_.size(), 0);
  hits_.assign(faults_.size(), 0);
}

}  // namespace keel::faults
