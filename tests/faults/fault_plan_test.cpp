// FaultPlan: windows, every_nth, first_n, seeded probability, first-match order, "*" vs tools,
// independence across targets and faults.
#include "keel/faults/fault_plan.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

namespace keel::faults {
namespace {

using namespace std::chrono_literals;
using sim::FaultKind;

TimePoint at(Duration d) { return time_point_at(d); }

// Which of `n` requests to `target` at time `t` were hit (by any fault).
std::vector<bool> hits(FaultPlan& plan, std::string_view target, int n, Duration t = 0s) {
  std::vector<bool> out;
  for (int i = 0; i < n; ++i) out.push_back(plan.decide(target, at(t), static_cast<std::uint64_t>(i)).has_value());
  return out;
}

TEST(FaultPlanTest, NoFaultsNeverHits) {
  FaultPlan plan{{}, 1, 1h};
  EXPECT_FALSE(plan.decide("gpt", at(0s), 0));
  EXPECT_FALSE(plan.next("tool:search", at(5s)));
}

TEST(FaultPlanTest, WindowIsHalfOpenAndDefaultsToTheHorizon) {
  FaultPlan plan{{{.target = "gpt", .kind = FaultKind::hang, .from = 10s, .until = 20s},
                  {.target = "claude", .kind = FaultKind::hang, .from = 30s}},
                 1, 60s};
  EXPECT_FALSE(plan.decide("gpt", at(10s - 1ns), 0));
  EXPECT_TRUE(plan.decide("gpt", at(10s), 1));
  EXPECT_TRUE(plan.decide("gpt", at(20s - 1ns), 2));
  EXPECT_FALSE(plan.decide("gpt", at(20s), 3));
  EXPECT_FALSE(plan.decide("claude", at(30s - 1ns), 0));
  EXPECT_TRUE(plan.decide("claude", at(59s), 1));
  EXPECT_FALSE(plan.decide("claude", at(60s), 2));  // until = horizon, exclusive
}

TEST(FaultPlanTest, InjectedFaultCarriesTheKindSpecificFields) {
  FaultPlan plan{{{.target = "a", .kind = FaultKind::rate_limit, .first_n = 1, .retry_after = 3s},
                  {.target = "a", .kind = FaultKind::server_error, .first_n = 2, .status = 529},
                  {.target = "a", .kind = FaultKind::slow, .extra_latency = sim::LatencyModel::fixed(2s)}},
                 1, 1h};
  auto r = plan.next("a", at(0s));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->fault_index, 0u);
  EXPECT_EQ(r->fault.kind, FaultKind::rate_limit);
  EXPECT_EQ(r->fault.retry_after, 3s);
  auto s = plan.next("a", at(0s));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->fault_index, 1u);
  EXPECT_EQ(s->fault.status, 529);
  auto w = plan.next("a", at(0s));
  ASSERT_TRUE(w);
  EXPECT_EQ(w->fault.kind, FaultKind::slow);
  EXPECT_EQ(w->fault.extra_latency, sim::LatencyModel::fixed(2s));
}

TEST(FaultPlanTest, EveryNthHitsTheNthThe2nthAndSoOnCountingOnlyInWindowRequests) {
  FaultPlan plan{{{.target = "gpt", .kind = FaultKind::server_error, .from = 10s, .every_nth = 3}}, 1, 1h};
  // Requests before the window are not counted.
  EXPECT_EQ(hits(plan, "gpt", 5, 0s), std::vector<bool>(5, false));
  EXPECT_EQ(hits(plan, "gpt", 7, 10s), (std::vector<bool>{false, false, true, false, false, true, false}));
}

TEST(FaultPlanTest, FirstNHitsOnlyTheFirstNInWindowRequests) {
  FaultPlan plan{{{.target = "gpt", .kind = FaultKind::rate_limit, .from = 1s, .first_n = 2}}, 1, 1h};
  EXPECT_FALSE(plan.decide("gpt", at(0s), 0));
  EXPECT_EQ(hits(plan, "gpt", 4, 1s), (std::vector<bool>{true, true, false, false}));
}

TEST(FaultPlanTest, FirstNAndEveryNthCombine) {
  // Both filters: in-window requests 1..6 -> every 2nd among the first 5: 2 and 4.
  FaultPlan plan{{{.target = "gpt", .kind = FaultKind::hang, .every_nth = 2, .first_n = 5}}, 1, 1h};
  EXPECT_EQ(hits(plan, "gpt", 7), (std::vector<bool>{false, true, false, true, false, false, false}));
}

TEST(FaultPlanTest, CountersArePerTarget) {
  FaultPlan plan{{{.target = "*", .kind = FaultKind::server_error, .every_nth = 2}}, 1, 1h};
  EXPECT_FALSE(plan.decide("a", at(0s), 0));
  EXPECT_FALSE(plan.decide("b", at(0s), 0));  // b's first request, not the plan's second
  EXPECT_TRUE(plan.decide("a", at(0s), 1));
  EXPECT_TRUE(plan.decide("b", at(0s), 1));
}

TEST(FaultPlanTest, ProbabilityIsSeededAndRoughlyP) {
  const std::vector<FaultSpec> specs{{.target = "gpt", .kind = FaultKind::server_error, .probability = 0.2}};
  FaultPlan a{specs, 42, 1h}, b{specs, 42, 1h}, c{specs, 43, 1h};
  const auto ha = hits(a, "gpt", 20000), hb = hits(b, "gpt", 20000), hc = hits(c, "gpt", 20000);
  EXPECT_EQ(ha, hb);  // same seed, same hits
  EXPECT_NE(ha, hc);  // another seed, other hits
  const auto count = [](const std::vector<bool>& v) { return std::count(v.begin(), v.end(), true); };
  // 20000 draws at p = 0.2: mean 4000, sd ~57; allow ~7 sd.
  EXPECT_NEAR(static_cast<double>(count(ha)), 4000.0, 400.0);
  EXPECT_NEAR(static_cast<double>(count(hc)), 4000.0, 400.0);
  EXPECT_EQ(a.hits(0), static_cast<std::uint64_t>(count(ha)));
}

TEST(FaultPlanTest, ProbabilityZeroAndOne) {
  FaultPlan plan{{{.target = "a", .kind = FaultKind::hang, .probability = 0.0},
                  {.target = "b", .kind = FaultKind::hang, .probability = 1.0}},
                 9, 1h};
  EXPECT_EQ(hits(plan, "a", 1000), std::vector<bool>(1000, false));
  EXPECT_EQ(hits(plan, "b", 1000), std::vector<bool>(1000, true));
}

TEST(FaultPlanTest, ProbabilityDrawsOnlyForRequestsPassingTheCountFilters) {
  // With every_nth = 2 the stream draws on requests 2, 4, 6, ...: the hits among them are the
  // same as those of a plan without the filter seeing only those requests.
  FaultPlan filtered{{{.target = "gpt", .kind = FaultKind::hang, .probability = 0.5, .every_nth = 2}}, 5, 1h};
  FaultPlan plain{{{.target = "gpt", .kind = FaultKind::hang, .probability = 0.5}}, 5, 1h};
  const auto f = hits(filtered, "gpt", 400);
  const auto p = hits(plain, "gpt", 200);
  for (int i = 0; i < 200; ++i) {
    EXPECT_FALSE(f[2 * i]) << i;
    EXPECT_EQ(f[2 * i + 1], p[i]) << i;
  }
}

TEST(FaultPlanTest, FirstMatchingFaultInFileOrderApplies) {
  FaultPlan plan{{{.target = "gpt", .kind = FaultKind::rate_limit, .first_n = 2},
                  {.target = "*", .kind = FaultKind::server_error, .status = 502},
                  {.target = "gpt", .kind = FaultKind::hang}},
                 1, 1h};
  std::vector<FaultKind> kinds;
  for (int i = 0; i < 4; ++i) kinds.push_back(plan.decide("gpt", at(0s), i)->kind);
  EXPECT_EQ(kinds, (std::vector<FaultKind>{FaultKind::rate_limit, FaultKind::rate_limit, FaultKind::server_error,
                                           FaultKind::server_error}));
  EXPECT_EQ(plan.applied(0), 2u);
  EXPECT_EQ(plan.applied(1), 2u);
  EXPECT_EQ(plan.hits(1), 4u);  // shadowed hits still count
  EXPECT_EQ(plan.applied(2), 0u);
  EXPECT_EQ(plan.hits(2), 4u);
}

TEST(FaultPlanTest, AMissedFaultLetsALaterOneApply) {
  FaultPlan plan{{{.target = "gpt", .kind = FaultKind::rate_limit, .every_nth = 2},
                  {.target = "gpt", .kind = FaultKind::network_reset}},
                 1, 1h};
  EXPECT_EQ(plan.decide("gpt", at(0s), 0)->kind, FaultKind::network_reset);
  EXPECT_EQ(plan.decide("gpt", at(0s), 1)->kind, FaultKind::rate_limit);
}

TEST(FaultPlanTest, StarMatchesEveryProviderButNoTool) {
  FaultPlan plan{{{.target = "*", .kind = FaultKind::hang}, {.target = "tool:search", .kind = FaultKind::tool_error}}, 1, 1h};
  EXPECT_EQ(plan.decide("gpt", at(0s), 0)->kind, FaultKind::hang);
  EXPECT_EQ(plan.decide("claude", at(0s), 0)->kind, FaultKind::hang);
  EXPECT_EQ(plan.decide("tool:search", at(0s), 0)->kind, FaultKind::tool_error);
  EXPECT_FALSE(plan.decide("tool:other", at(0s), 0));
}

TEST(FaultPlanTest, ATargetsHitsDoNotDependOnOtherTargetsTraffic) {
  const std::vector<FaultSpec> specs{{.target = "*", .kind = FaultKind::server_error, .probability = 0.3}};
  FaultPlan alone{specs, 11, 1h};
  FaultPlan mixed{specs, 11, 1h};
  std::vector<bool> a_alone = hits(alone, "a", 500);
  std::vector<bool> a_mixed;
  for (int i = 0; i < 500; ++i) {
    // Interleave traffic to other targets (and a new target part way through).
    mixed.decide("b", at(0s), i);
    if (i > 250) mixed.decide("c", at(0s), i);
    a_mixed.push_back(mixed.decide("a", at(0s), i).has_value());
  }
  EXPECT_EQ(a_alone, a_mixed);
}

TEST(FaultPlanTest, AFaultsHitsDoNotDependOnTheOtherFaults) {
  // Fault 1's stream is named by its index and target: what fault 0 is (and whether it hits,
  // shadowing fault 1) does not change which requests fault 1 hits.
  const FaultSpec mine{.target = "a", .kind = FaultKind::server_error, .probability = 0.4};
  FaultPlan x{{FaultSpec{.target = "a", .kind = FaultKind::hang, .probability = 0.5}, mine}, 3, 1h};
  FaultPlan y{{FaultSpec{.target = "zzz", .kind = FaultKind::hang}, mine}, 3, 1h};
  FaultPlan z{{FaultSpec{.target = "a", .kind = FaultKind::rate_limit, .probability = 0.9, .every_nth = 3}, mine}, 3, 1h};
  for (int i = 0; i < 300; ++i) {
    x.next("a", at(0s));
    y.next("a", at(0s));
    z.next("a", at(0s));
  }
  EXPECT_EQ(x.hits(1), y.hits(1));
  EXPECT_EQ(x.hits(1), z.hits(1));
  EXPECT_EQ(y.applied(1), y.hits(1));  // nothing shadows it in y
  EXPECT_LT(x.applied(1), x.hits(1));  // fault 0 shadows some of them in x
  EXPECT_NEAR(static_cast<double>(y.hits(1)), 120.0, 45.0);
}

TEST(FaultPlanTest, LoweringTheProbabilityKeepsASubsetOfTheHits) {
  // Same stream, hit = draw < p: a smaller p hits a subset (what a shrinker wants).
  FaultPlan high{{{.target = "a", .kind = FaultKind::hang, .probability = 0.6}}, 4, 1h};
  FaultPlan low{{{.target = "a", .kind = FaultKind::hang, .probability = 0.2}}, 4, 1h};
  const auto h = hits(high, "a", 1000), l = hits(low, "a", 1000);
  for (std::size_t i = 0; i < h.size(); ++i) {
    if (l[i]) {
      EXPECT_TRUE(h[i]) << i;
    }
  }
}

TEST(FaultPlanTest, StateAdvancesOncePerCallAndResetRestarts) {
  FaultPlan plan{{{.target = "a", .kind = FaultKind::hang, .probability = 0.5}}, 8, 1h};
  const auto first = hits(plan, "a", 100);
  plan.reset();
  EXPECT_EQ(hits(plan, "a", 100), first);
  EXPECT_EQ(plan.seed(), 8u);
  EXPECT_EQ(plan.horizon(), 1h);
}

TEST(FaultPlanTest, RejectsSpecsTheLoaderWouldReject) {
  auto make = [](FaultSpec f) { return FaultPlan{{std::move(f)}, 1, 1h}; };
  EXPECT_THROW(make({.target = "a", .kind = FaultKind::hang, .probability = 1.5}), std::invalid_argument);
  EXPECT_THROW(make({.target = "a", .kind = FaultKind::hang, .every_nth = 0}), std::invalid_argument);
  EXPECT_THROW(make({.target = "a", .kind = FaultKind::hang, .first_n = 0}), std::invalid_argument);
  EXPECT_THROW(make({.target = "a", .kind = FaultKind::server_error, .status = 404}), std::invalid_argument);
  EXPECT_THROW(make({.target = "a", .kind = FaultKind::slow}), std::invalid_argument);
  EXPECT_THROW(make({.target = "a", .kind = FaultKind::tool_error}), std::invalid_argument);
  EXPECT_THROW(make({.target = "tool:x", .kind = FaultKind::rate_limit}), std::invalid_argument);
  EXPECT_THROW(make({.target = "*", .kind = FaultKind::tool_error}), std::invalid_argument);
  EXPECT_THROW(make({.target = "a", .kind = FaultKind::hang, .from = 5s, .until = 5s}), std::invalid_argument);
  EXPECT_NO_THROW(make({.target = "tool:x", .kind = FaultKind::slow, .extra_latency = sim::LatencyModel::fixed(1s)}));
}

TEST(FaultPlanTest, KindNamesAndTargetRules) {
  for (std::string_view n : kProviderFaultKinds) EXPECT_EQ(fault_kind_name(*fault_kind_from_string(n)), n);
  for (std::string_view n : kToolFaultKinds) EXPECT_EQ(fault_kind_name(*fault_kind_from_string(n)), n);
  EXPECT_EQ(fault_kind_from_string("error"), FaultKind::tool_error);
  EXPECT_FALSE(fault_kind_from_string("tool_error"));
  EXPECT_FALSE(fault_kind_from_string(""));
  EXPECT_TRUE(fits_target(FaultKind::hang, "tool:x"));
  EXPECT_TRUE(fits_target(FaultKind::hang, "gpt"));
  EXPECT_FALSE(fits_target(FaultKind::quota_exhausted, "tool:x"));
  EXPECT_EQ(tool_name_of("tool:search"), "search");
  EXPECT_EQ(tool_name_of("search"), "");
}

}  // namespace
}  // namespace keel::faults
