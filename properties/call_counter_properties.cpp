// CallCounter (sim/call_counter.h) counts exactly like a std::map from id to executions, across
// growth, for ids that share prefixes, differ in one byte, are empty or contain NUL bytes.
#include "keel/sim/call_counter.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace keel::sim {
namespace {

// Ids from a small alphabet, so that repeats and near-misses are common.
rc::Gen<std::string> gen_id() {
  return rc::gen::oneOf(rc::gen::container<std::string>(rc::gen::element('a', 'b', '\0', '_')),
                        rc::gen::map(rc::gen::inRange(0, 5000), [](int i) { return "call_a_" + std::to_string(i) + "_0"; }));
}

RC_GTEST_PROP(CallCounterProperties, CountsLikeAMap, ()) {
  const auto ids = *rc::gen::container<std::vector<std::string>>(gen_id());
  CallCounter counter;
  std::map<std::string, std::uint64_t> model;
  for (const std::string& id : ids) RC_ASSERT(counter.add(id) == ++model[id]);
  RC_ASSERT(counter.size() == model.size());
  for (const auto& [id, n] : model) RC_ASSERT(counter.count(id) == n);
  const std::string absent = *gen_id();
  RC_ASSERT(counter.count(absent) == (model.contains(absent) ? model[absent] : 0u));
}

TEST(CallCounterTest, StaysExactPastManyGrowths) {
  CallCounter counter;
  EXPECT_EQ(counter.count("never"), 0u);
  for (int round = 1; round <= 3; ++round)
    for (int i = 0; i < 20000; ++i) ASSERT_EQ(counter.add("call_b_" + std::to_string(i) + "_1"), static_cast<std::uint64_t>(round));
  EXPECT_EQ(counter.size(), 20000u);
  EXPECT_EQ(counter.count("call_b_19999_1"), 3u);
  EXPECT_EQ(counter.count("call_b_20000_1"), 0u);
  EXPECT_EQ(counter.count("call_b_1999_1"), 3u);
}

}  // namespace
}  // namespace keel::sim
