#include "keel/core/callback.h"

#include <memory>

#include <gtest/gtest.h>

namespace keel {
namespace {

TEST(Callback, InvokesTrivialCallable) {
  int hits = 0;
  Callback cb{[&hits] { ++hits; }};
  ASSERT_TRUE(cb);
  cb();
  cb();
  EXPECT_EQ(hits, 2);
}

TEST(Callback, MovesAndDestroysNonTrivialCallableExactlyOnce) {
  auto owned = std::make_shared<int>(5);
  std::weak_ptr<int> watch = owned;
  int seen = 0;
  {
    Callback a{[p = std::move(owned), &seen] { seen = *p; }};
    Callback b = std::move(a);
    EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): moved-from is empty by contract
    Callback c;
    c = std::move(b);
    c();
    EXPECT_FALSE(watch.expired());
  }
  EXPECT_EQ(seen, 5);
  EXPECT_TRUE(watch.expired());
}

TEST(Callback, ResetDestroysTheCallable) {
  auto owned = std::make_shared<int>(1);
  std::weak_ptr<int> watch = owned;
  Callback cb{[p = std::move(owned)] { (void)p; }};
  cb.reset();
  EXPECT_FALSE(cb);
  EXPECT_TRUE(watch.expired());
}

}  // namespace
}  // namespace keel
