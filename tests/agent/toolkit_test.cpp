// Toolkit: unique names checked at configuration time, owned and borrowed tools, specs in
// registration order.
#include "keel/agent/toolkit.h"

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "keel/agent/function_tool.h"

namespace keel::agent {
namespace {

using Json = nlohmann::json;

std::unique_ptr<FunctionTool> tool(std::string name) {
  return std::make_unique<FunctionTool>(model::ToolSpec{std::move(name), "test tool"}, [](const Json&) { return 1; });
}

TEST(Toolkit, FindsOwnedAndBorrowedToolsByName) {
  FunctionTool borrowed{{"borrowed", "lives outside"}, [](const Json&) { return 2; }};
  Toolkit kit;
  EXPECT_TRUE(kit.empty());
  Tool& owned = kit.add(tool("owned"));
  Tool& b = kit.add(borrowed);
  EXPECT_EQ(&b, &borrowed);
  EXPECT_EQ(kit.find("owned"), &owned);
  EXPECT_EQ(kit.find("borrowed"), &borrowed);
  EXPECT_EQ(kit.find("absent"), nullptr);
  EXPECT_TRUE(kit.contains("owned"));
  EXPECT_FALSE(kit.contains("Owned"));  // names are exact
  EXPECT_EQ(kit.size(), 2u);
}

TEST(Toolkit, DuplicateNamesAreRejectedAtConfigurationTime) {
  FunctionTool twin{{"search", ""}, [](const Json&) { return 0; }};
  Toolkit kit;
  kit.add(tool("search"));
  EXPECT_THROW(kit.add(tool("search")), std::invalid_argument);
  EXPECT_THROW(kit.add(twin), std::invalid_argument);
  EXPECT_THROW(kit.emplace<FunctionTool>(model::ToolSpec{"search", ""}, [](const Json&) { return 0; }),
               std::invalid_argument);
  EXPECT_EQ(kit.size(), 1u);
  EXPECT_EQ(kit.specs().size(), 1u);
}

// A tool whose spec has no name (FunctionTool refuses to exist without one).
class Nameless final : public Tool {
 public:
  const model::ToolSpec& spec() const noexcept override { return spec_; }
  const ToolOptions& options() const noexcept override { return options_; }
  Task<Result<std::string>> invoke(std::string) override { co_return std::string{"{}"}; }

 private:
  model::ToolSpec spec_;
  ToolOptions options_;
};

TEST(Toolkit, NullAndNamelessToolsAreRejected) {
  Toolkit kit;
  Nameless nameless;
  EXPECT_THROW(kit.add(std::unique_ptr<Tool>{}), std::invalid_argument);
  EXPECT_THROW(kit.add(nameless), std::invalid_argument);
  EXPECT_THROW(kit.add(std::make_unique<Nameless>()), std::invalid_argument);
  EXPECT_TRUE(kit.empty());
}

TEST(Toolkit, SpecsAndNamesAreInRegistrationOrder) {
  Toolkit kit;
  for (const char* n : {"zeta", "alpha", "mid"}) kit.add(tool(n));
  EXPECT_EQ(kit.names(), (std::vector<std::string>{"zeta", "alpha", "mid"}));
  const auto specs = kit.specs();
  ASSERT_EQ(specs.size(), 3u);
  EXPECT_EQ(specs[0].name, "zeta");
  EXPECT_EQ(specs[1].name, "alpha");
  EXPECT_EQ(specs[2].name, "mid");
  EXPECT_EQ(specs[0].description, "test tool");
}

TEST(Toolkit, EmplaceReturnsTheConcreteTool) {
  Toolkit kit;
  FunctionTool& t = kit.emplace<FunctionTool>(model::ToolSpec{"t", ""}, [](const Json&) { return 3; },
                                              ToolOptions{.idempotent = true});
  EXPECT_TRUE(t.options().idempotent);
  EXPECT_EQ(kit.find("t"), &t);
}

TEST(Toolkit, MovingKeepsToolAddresses) {
  Toolkit a;
  Tool& t = a.add(tool("x"));
  Toolkit b = std::move(a);
  EXPECT_EQ(b.find("x"), &t);
}

}  // namespace
}  // namespace keel::agent
