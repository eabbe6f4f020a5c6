// keel/core/enum_names.h: one X-macro list gives an enum and its names; a value outside the
// list (only a cast makes one) reads as "unknown".
#include <gtest/gtest.h>

#include "keel/core/enum_names.h"
#include "keel/core/json_check.h"

namespace keel {
namespace {

#define KEEL_TEST_COLOR(X) X(red, "red") X(dark_green, "dark-green") X(continue_, "continue")
KEEL_ENUM_WITH_NAMES(Color, kColorNames, KEEL_TEST_COLOR);

static_assert(kColorNames.size() == 3);
static_assert(enum_name(kColorNames, Color::dark_green) == "dark-green");
static_assert(enum_name(kColorNames, Color::continue_) == "continue");
static_assert(detail::names_are_distinct(std::array<std::string_view, 2>{"a", "b"}));
static_assert(!detail::names_are_distinct(std::array<std::string_view, 2>{"a", "a"}));
static_assert(!detail::names_are_distinct(std::array<std::string_view, 1>{""}));

TEST(EnumNames, ValuesFollowTheListOrder) {
  EXPECT_EQ(static_cast<int>(Color::red), 0);
  EXPECT_EQ(static_cast<int>(Color::dark_green), 1);
  EXPECT_EQ(static_cast<int>(Color::continue_), 2);
  for (std::size_t i = 0; i < kColorNames.size(); ++i) {
    EXPECT_EQ(enum_name(kColorNames, static_cast<Color>(i)), kColorNames[i]);
  }
}

TEST(EnumNames, AValueOutsideTheListIsUnknown) {
  EXPECT_EQ(enum_name(kColorNames, static_cast<Color>(3)), "unknown");
  EXPECT_EQ(enum_name(kColorNames, static_cast<Color>(255)), "unknown");
  EXPECT_EQ(to_string(static_cast<JsonType>(6)), "unknown");
}

TEST(EnumNames, JsonTypeNamesAreNlohmannsWords) {
  EXPECT_EQ(to_string(JsonType::null), "null");
  EXPECT_EQ(to_string(JsonType::object), "object");
  EXPECT_EQ(kJsonTypeNames.size(), 6u);
}

}  // namespace
}  // namespace keel
