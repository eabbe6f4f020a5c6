#include "keel/policy/hedging.h"

#include "keel/policy/retry_budget.h"

namespace keel::policy {

bool Hedging::grant_hedge(int index, TimePoint now, const TraceIds* ids) noexcept {
  if (!budget_) return true;
  if (budget_->try_acquire()) {
    budget_->release();  // the hedge starts right away: it is never pending
    return true;
  }
  ++counters_.hedges_refused_by_budget;
  emit(sink_, now, ev::hedge_refused, {{key::attempt, index}}, ids);
  return false;
}

void Hedging::note_started(int index, bool on_failure, TimePoint now, Duration elapsed, const TraceIds* ids) noexcept {
  ++counters_.hedges_started;
  emit(sink_, now, ev::hedge_start,
       {{key::attempt, index}, {key::trigger, on_failure ? "failure" : "delay"}, {key::elapsed, elapsed}}, ids);
}

void Hedging::note_won(int index, TimePoint now, Duration elapsed, const TraceIds* ids) noexcept {
  ++(index == 0 ? counters_.primary_won : counters_.hedge_won);
  if (!sink_) return;  // skip building the attributes: this is on every call's path
  emit(sink_, now, ev::hedge_won, {{key::attempt, index}, {key::elapsed, elapsed}}, ids);
}

void Hedging::note_all_failed(int attempts, ErrorCode code, TimePoint now, const TraceIds* ids) noexcept {
  ++counters_.all_failed;
  emit(sink_, now, ev::hedge_all_failed, {{key::attempts, attempts}, {key::code, code}}, ids);
}

void Hedging::note_cancelled(TimePoint now, const TraceIds* ids) noexcept {
  ++counters_.cancelled;
  emit(sink_, now, ev::hedge_cancelled, std::initializer_list<Attr>{}, ids);
}

}  // namespace keel::policy
