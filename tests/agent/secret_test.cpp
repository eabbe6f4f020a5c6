// Secret: no implicit way to a string, prints and traces as "[redacted]", one greppable accessor.
#include "keel/core/secret.h"

#include <sstream>
#include <string>
#include <string_view>
#include <type_traits>

#include <gtest/gtest.h>

#include "keel/core/event.h"

namespace keel {
namespace {

constexpr const char* kKey = "sk-live-0123456789abcdefghij";

static_assert(!std::is_convertible_v<Secret, std::string>);
static_assert(!std::is_convertible_v<Secret, std::string_view>);
static_assert(!std::is_convertible_v<Secret, const char*>);
static_assert(!std::is_convertible_v<std::string, Secret>, "construction must be explicit too");
static_assert(!std::is_constructible_v<std::string, Secret>);
static_assert(!std::is_constructible_v<std::string_view, Secret>);

TEST(Secret, RevealIsTheOnlyWayToTheValue) {
  const Secret s{kKey};
  EXPECT_EQ(s.reveal(), kKey);
  EXPECT_FALSE(s.empty());
  EXPECT_TRUE(Secret{}.empty());
}

TEST(Secret, StreamsAsRedacted) {
  std::ostringstream os;
  os << "key=" << Secret{kKey};
  EXPECT_EQ(os.str(), "key=[redacted]");
}

TEST(Secret, EqualityComparesValues) {
  EXPECT_EQ(Secret{"abc"}, Secret{"abc"});
  EXPECT_NE(Secret{"abc"}, Secret{"abd"});
  EXPECT_NE(Secret{"abc"}, Secret{"abcd"});
  EXPECT_NE(Secret{""}, Secret{"a"});
  EXPECT_EQ(Secret{}, Secret{""});
}

TEST(Secret, CopiesAndMovesKeepTheValue) {
  Secret a{kKey};
  Secret b = a;
  Secret c = std::move(a);
  EXPECT_EQ(b.reveal(), kKey);
  EXPECT_EQ(c.reveal(), kKey);
}

TEST(Secret, EventAttributeFromASecretIsRedacted) {
  RecordingSink rec;
  const Secret key{kKey};
  emit(&rec, TimePoint{}, "provider.configured", {{"provider", "openai"}, {"api_key", key}, {"credential", key}});
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(*rec.events()[0].get<std::string>("api_key"), "[redacted]");
  EXPECT_EQ(*rec.events()[0].get<std::string>("credential"), "[redacted]");
  for (const RecordedAttr& a : rec.events()[0].attrs) {
    if (const auto* s = std::get_if<std::string>(&a.value)) {
      EXPECT_EQ(s->find(kKey), std::string::npos);
    }
  }
}

}  // namespace
}  // namespace keel
