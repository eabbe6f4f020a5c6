// Tests for keel/core/result.h.
#include "keel/core/result.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace keel {
namespace {

static_assert(std::is_nothrow_move_constructible_v<Result<int>>);
static_assert(std::is_nothrow_move_constructible_v<Result<std::string>>);
static_assert(std::is_nothrow_move_constructible_v<Result<std::unique_ptr<int>>>);
static_assert(std::is_nothrow_move_constructible_v<Status>);
static_assert(std::is_nothrow_move_assignable_v<Result<std::string>>);
static_assert(!std::is_copy_constructible_v<Result<std::unique_ptr<int>>>);

Result<int> parse_digit(char c) {
  if (c < '0' || c > '9') return Error{ErrorCode::invalid_request, "not a digit"};
  return c - '0';
}

TEST(ResultTest, ValueAndError) {
  Result<int> ok = parse_digit('7');
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(static_cast<bool>(ok));
  EXPECT_EQ(ok.value(), 7);
  EXPECT_EQ(*ok, 7);

  Result<int> bad = parse_digit('x');
  ASSERT_FALSE(bad.ok());
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::invalid_request);
  EXPECT_EQ(bad.value_or(-1), -1);
  EXPECT_EQ(ok.value_or(-1), 7);
}

TEST(ResultTest, MoveOnlyAndArrow) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(5);
  ASSERT_TRUE(r);
  EXPECT_EQ(**r, 5);
  std::unique_ptr<int> p = std::move(r).value();
  EXPECT_EQ(*p, 5);

  Result<std::string> s = std::string("hello");
  EXPECT_EQ(s->size(), 5u);
  Result<std::string> lit = "abc";  // converting construction
  EXPECT_EQ(*lit, "abc");
  Result<std::string> in_place{std::in_place, 3, 'z'};
  EXPECT_EQ(*in_place, "zzz");
}

TEST(ResultTest, ErrorCanBeMovedOut) {
  Result<int> r = Error{ErrorCode::timeout, "late"}.caused_by(Error{ErrorCode::network});
  Error e = std::move(r).error();
  EXPECT_EQ(e.code, ErrorCode::timeout);
  ASSERT_NE(e.cause, nullptr);
  EXPECT_EQ(e.cause->code, ErrorCode::network);
}

TEST(ResultTest, MapAndThen) {
  auto twice = [](int v) { return 2 * v; };
  EXPECT_EQ(parse_digit('4').map(twice).value(), 8);
  EXPECT_EQ(parse_digit('q').map(twice).error().code, ErrorCode::invalid_request);

  Result<std::string> str = parse_digit('3').map([](int v) { return std::string(static_cast<std::size_t>(v), '.'); });
  EXPECT_EQ(*str, "...");

  auto half = [](int v) -> Result<int> {
    if (v % 2) return Error{ErrorCode::invalid_request, "odd"};
    return v / 2;
  };
  EXPECT_EQ(parse_digit('8').and_then(half).value(), 4);
  EXPECT_EQ(parse_digit('7').and_then(half).error().message, "odd");
  EXPECT_EQ(parse_digit('z').and_then(half).error().message, "not a digit");

  int seen = 0;
  Status st = parse_digit('5').map([&](int v) { seen = v; });
  EXPECT_TRUE(st.ok());
  EXPECT_EQ(seen, 5);
}

TEST(StatusTest, SuccessAndFailure) {
  Status ok;
  EXPECT_TRUE(ok.ok());
  ok.value();  // checked, no-op
  Status also_ok = success();
  EXPECT_TRUE(also_ok);
  Status bad = Error{ErrorCode::bulkhead_full};
  EXPECT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::bulkhead_full);

  Result<int> chained = ok.and_then([]() -> Result<int> { return 3; });
  EXPECT_EQ(*chained, 3);
  Result<int> skipped = bad.map([] { return 3; });
  EXPECT_EQ(skipped.error().code, ErrorCode::bulkhead_full);
}

TEST(ResultDeathTest, MisuseAbortsWithTheError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  Result<int> bad = Error{ErrorCode::auth, "no key"};
  EXPECT_DEATH((void)bad.value(), "auth: no key");
  Result<int> good = 1;
  EXPECT_DEATH((void)good.error(), "error\\(\\) on a value");
  Status st = Error{ErrorCode::horizon};
  EXPECT_DEATH(st.value(), "horizon");
}

}  // namespace
}  // namespace keel
