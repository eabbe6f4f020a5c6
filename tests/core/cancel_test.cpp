#include "keel/core/cancel.h"

#include <vector>

#include <gtest/gtest.h>

namespace keel {
namespace {

TEST(Cancel, DefaultTokenIsNeverCancelled) {
  CancelToken t;
  EXPECT_FALSE(t.can_be_cancelled());
  EXPECT_FALSE(t.cancelled());
  int runs = 0;
  CancelCallback cb{t, [&] { ++runs; }};
  EXPECT_FALSE(cb.armed());
  EXPECT_EQ(runs, 0);
}

TEST(Cancel, CallbacksRunOnceInRegistrationOrder) {
  CancelSource src;
  std::vector<int> order;
  CancelCallback a{src.token(), [&] { order.push_back(1); }};
  CancelCallback b{src.token(), [&] { order.push_back(2); }};
  EXPECT_TRUE(src.cancel());
  EXPECT_FALSE(src.cancel());
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  EXPECT_TRUE(src.token().cancelled());
}

TEST(Cancel, DisarmedCallbackDoesNotRun) {
  CancelSource src;
  int runs = 0;
  CancelCallback a{src.token(), [&] { ++runs; }};
  a.disarm();
  {
    CancelCallback scoped{src.token(), [&] { ++runs; }};
  }  // destroyed: unregistered
  src.cancel();
  EXPECT_EQ(runs, 0);
}

TEST(Cancel, ArmingOnCancelledTokenRunsImmediately) {
  CancelSource src;
  src.cancel();
  int runs = 0;
  CancelCallback a{src.token(), [&] { ++runs; }};
  EXPECT_EQ(runs, 1);
  EXPECT_FALSE(a.armed());
}

TEST(Cancel, LinkedSourcesCancelTopDownOnly) {
  CancelSource root;
  CancelSource mid{root.token()};
  CancelSource leaf{mid.token()};
  CancelSource sibling{root.token()};
  leaf.cancel();
  EXPECT_FALSE(mid.cancelled());
  EXPECT_FALSE(root.cancelled());
  int leaf_runs = 0;
  CancelSource leaf2{mid.token()};
  CancelCallback cb{leaf2.token(), [&] { ++leaf_runs; }};
  root.cancel();
  EXPECT_TRUE(mid.cancelled());
  EXPECT_TRUE(sibling.cancelled());
  EXPECT_TRUE(leaf2.cancelled());
  EXPECT_EQ(leaf_runs, 1);
}

TEST(Cancel, ChildCreatedAfterParentCancelledStartsCancelled) {
  CancelSource root;
  root.cancel();
  CancelSource child{root.token()};
  EXPECT_TRUE(child.cancelled());
}

TEST(Cancel, CallbackMayDisarmALaterCallback) {
  CancelSource src;
  int runs = 0;
  CancelCallback second;
  CancelCallback first{src.token(), [&] { second.disarm(); }};
  second.arm(src.token(), [&] { ++runs; });
  src.cancel();
  EXPECT_EQ(runs, 0);
}

}  // namespace
}  // namespace keel
