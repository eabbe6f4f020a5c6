// Model-based properties of RetryBudget (rc::state) over random sequences of successes,
// failures, retries (a failure then an acquire, as Retry does), hedges (an acquire without a
// failure), grants started or dropped, and stray release() calls:
//  - tokens, pending and counters match a small reference model in integer milli-tokens;
//  - pending never goes negative, tokens stay within [0, max_tokens];
//  - retries granted < max_tokens / 2 + token_ratio * successes, at every step. Derivation
//    (retry_budget.h): a retry is granted only if, right after its own failure,
//    tokens - pending > max/2 >= 0, so that failure was not clipped at 0 and removed a whole
//    token; hence at the last grant  max/2 < tokens <= max + ratio * successes - retries.
//    In milli-tokens: 2000 * retries < max_milli + 2 * ratio_milli * successes.
#include <algorithm>
#include <cstdint>
#include <ostream>
#include <vector>

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>
#include <rapidcheck/state.h>

#include "keel/policy/retry_budget.h"

namespace keel::policy {
namespace {

struct Model {
  std::int64_t max = 0, ratio = 0;  // milli-tokens
  std::int64_t tokens = 0, pending = 0;
  std::int64_t held = 0;  // live Grant objects in the Sut
  std::uint64_t granted = 0, refused = 0, successes = 0, failures = 0;
  std::uint64_t retries = 0;  // grants that followed their own failure

  bool grants() const { return 2 * (tokens - 1000 * pending) > max; }
  void success() {
    ++successes;
    tokens = std::min(max, tokens + ratio);
  }
  void failure() {
    ++failures;
    tokens = std::max<std::int64_t>(0, tokens - 1000);
  }
  bool acquire() {
    if (!grants()) {
      ++refused;
      return false;
    }
    ++pending;
    ++granted;
    ++held;
    return true;
  }
  void release() { pending = std::max<std::int64_t>(0, pending - 1); }
};

struct Sut {
  explicit Sut(const RetryBudgetConfig& c) : budget(c) {}
  RetryBudget budget;
  std::vector<RetryBudget::Grant> grants;  // declared after the budget: destroyed first
};

using Cmd = rc::state::Command<Model, Sut>;

void check_matches(const Model& m, const Sut& s) {
  const RetryBudget& b = s.budget;
  RC_ASSERT(b.tokens_milli() == m.tokens);
  RC_ASSERT(b.pending() == m.pending);
  RC_ASSERT(b.pending() >= 0);
  RC_ASSERT(b.tokens_milli() >= 0);
  RC_ASSERT(b.tokens_milli() <= b.max_tokens_milli());
  RC_ASSERT(b.counters().granted == m.granted);
  RC_ASSERT(b.counters().refused == m.refused);
  RC_ASSERT(b.counters().successes == m.successes);
  RC_ASSERT(b.counters().failures == m.failures);
  RC_ASSERT(static_cast<std::int64_t>(s.grants.size()) == m.held);
  RC_ASSERT(b.would_grant() == m.grants());
  // The A6 bound on retries.
  RC_ASSERT(2000 * static_cast<std::int64_t>(m.retries) <
            m.max + 2 * m.ratio * static_cast<std::int64_t>(m.successes) + (m.retries == 0 ? 1 : 0));
}

struct Success : Cmd {
  void apply(Model& m) const override { m.success(); }
  void run(const Model& m, Sut& s) const override {
    s.budget.on_success();
    Model next = m;
    apply(next);
    check_matches(next, s);
  }
  void show(std::ostream& os) const override { os << "success"; }
};

struct Failure : Cmd {
  void apply(Model& m) const override { m.failure(); }
  void run(const Model& m, Sut& s) const override {
    s.budget.on_failure();
    Model next = m;
    apply(next);
    check_matches(next, s);
  }
  void show(std::ostream& os) const override { os << "failure"; }
};

// An attempt failed and its caller asks for a retry (atomically, as Retry::execute does).
struct RetryAfterFailure : Cmd {
  void apply(Model& m) const override {
    m.failure();
    if (m.acquire()) ++m.retries;
  }
  void run(const Model& m, Sut& s) const override {
    s.budget.on_failure();
    if (RetryBudget::Grant g = s.budget.acquire()) s.grants.push_back(std::move(g));
    Model next = m;
    apply(next);
    check_matches(next, s);
  }
  void show(std::ostream& os) const override { os << "failure+acquire"; }
};

// A hedge asks without a failure.
struct Hedge : Cmd {
  void apply(Model& m) const override { m.acquire(); }
  void run(const Model& m, Sut& s) const override {
    if (RetryBudget::Grant g = s.budget.acquire()) s.grants.push_back(std::move(g));
    Model next = m;
    apply(next);
    check_matches(next, s);
  }
  void show(std::ostream& os) const override { os << "hedge acquire"; }
};

// A held grant's attempt starts (start()) or is abandoned (the Grant is destroyed).
struct EndGrant : Cmd {
  std::size_t index = 0;
  bool start = false;
  explicit EndGrant(const Model& m) {
    RC_PRE(m.held > 0);
    index = *rc::gen::inRange<std::size_t>(0, static_cast<std::size_t>(m.held));
    start = *rc::gen::arbitrary<bool>();
  }
  void apply(Model& m) const override {
    --m.held;
    m.release();
  }
  void run(const Model& m, Sut& s) const override {
    if (start) {
      s.grants[index].start();
      RC_ASSERT(!s.grants[index]);
    }
    s.grants.erase(s.grants.begin() +
                   static_cast<std::ptrdiff_t>(index));  // a started grant releases nothing more
    Model next = m;
    apply(next);
    check_matches(next, s);
  }
  void show(std::ostream& os) const override { os << (start ? "start grant " : "drop grant ") << index; }
};

// A stray release() (misuse): ignored when nothing is pending.
struct StrayRelease : Cmd {
  void apply(Model& m) const override { m.release(); }
  void run(const Model& m, Sut& s) const override {
    s.budget.release();
    Model next = m;
    apply(next);
    check_matches(next, s);
  }
  void show(std::ostream& os) const override { os << "stray release"; }
};

RC_GTEST_PROP(BudgetProperties, MatchesTheA6ModelAndBoundsRetriesBySuccesses, ()) {
  const std::int64_t max_milli = *rc::gen::oneOf(rc::gen::element<std::int64_t>(0, 1000, 2000, 10'000),
                                                 rc::gen::inRange<std::int64_t>(0, 20'001));
  const std::int64_t ratio_milli =
      *rc::gen::oneOf(rc::gen::element<std::int64_t>(0, 100, 1000), rc::gen::inRange<std::int64_t>(0, 3001));
  const RetryBudgetConfig cfg{static_cast<double>(max_milli) / 1000.0,
                              static_cast<double>(ratio_milli) / 1000.0};
  Model initial;
  initial.max = max_milli;
  initial.ratio = std::min(ratio_milli, max_milli);
  initial.tokens = max_milli;
  Sut sut{cfg};
  RC_ASSERT(sut.budget.max_tokens_milli() == initial.max);
  RC_ASSERT(sut.budget.token_ratio_milli() == initial.ratio);
  rc::state::check(initial, sut,
                   rc::state::gen::execOneOfWithArgs<Success, Failure, RetryAfterFailure, RetryAfterFailure,
                                                     Hedge, EndGrant, StrayRelease>());
}

// The same bound for plain sequences of outcomes, as the issue states it: a retry happens after
// each failure while the budget allows, and starts before the next outcome.
RC_GTEST_PROP(BudgetProperties, RetriesNeverExceedRatioTimesSuccessesPlusHalfTheTokens,
              (const std::vector<bool>& outcomes)) {
  const double max_tokens = *rc::gen::inRange(0, 21);
  const double ratio = *rc::gen::inRange(0, 1001) / 1000.0;
  RetryBudget b{{max_tokens, ratio}};
  std::uint64_t retries = 0, successes = 0;
  for (bool ok : outcomes) {
    if (ok) {
      b.on_success();
      ++successes;
      continue;
    }
    b.on_failure();
    RetryBudget::Grant g = b.acquire();
    if (g) ++retries;
    g.start();
    RC_ASSERT(b.pending() == 0);
  }
  RC_ASSERT(static_cast<double>(retries) < max_tokens / 2 + ratio * static_cast<double>(successes) + 1e-9 ||
            retries == 0);
}

}  // namespace
}  // namespace keel::policy
