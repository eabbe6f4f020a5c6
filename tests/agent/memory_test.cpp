// Memory: the system message survives everything but set_system; tokens() always equals the
// counter's count of messages(), with each message counted exactly once.
#include "keel/agent/memory.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "keel/core/rng.h"

namespace keel::agent {
namespace {

using model::ApproxTokenCounter;
using model::Message;
using model::Role;
using model::ToolCall;

// Counts how often a message is counted (to prove caching).
class CountingCounter final : public model::TokenCounter {
 public:
  int count(const Message& m) const override {
    ++calls;
    return inner.count(m);
  }
  using TokenCounter::count;
  mutable int calls = 0;
  ApproxTokenCounter inner;
};

TEST(MemoryTest, StartsWithOnlyTheSystemMessage) {
  ApproxTokenCounter counter;
  Memory memory{counter, "You are terse."};
  ASSERT_TRUE(memory.has_system());
  EXPECT_EQ(memory.system()->role, Role::system);
  EXPECT_EQ(memory.system()->content, "You are terse.");
  EXPECT_TRUE(memory.empty());
  EXPECT_EQ(memory.messages().size(), 1u);
  EXPECT_EQ(memory.tokens(), counter.count(memory.messages()));
}

TEST(MemoryTest, EmptySystemTextMeansNoSystemMessage) {
  ApproxTokenCounter counter;
  Memory memory{counter};
  EXPECT_FALSE(memory.has_system());
  EXPECT_EQ(memory.system(), nullptr);
  EXPECT_EQ(memory.tokens(), ApproxTokenCounter::kPerRequest);
  EXPECT_TRUE(memory.messages().empty());
}

TEST(MemoryTest, ClearKeepsTheSystemMessage) {
  ApproxTokenCounter counter;
  Memory memory{counter, "sys"};
  memory.add(Message::user("hello"));
  memory.add(Message::assistant("hi"));
  memory.clear();
  EXPECT_TRUE(memory.empty());
  ASSERT_TRUE(memory.has_system());
  EXPECT_EQ(memory.system()->content, "sys");
  EXPECT_EQ(memory.tokens(), counter.count(memory.messages()));
}

TEST(MemoryTest, AddingASystemMessageToTheHistoryThrows) {
  ApproxTokenCounter counter;
  Memory memory{counter, "sys"};
  EXPECT_THROW(memory.add(Message::system("again")), std::invalid_argument);
  EXPECT_THROW(memory.replace_history({Message::system("again")}), std::invalid_argument);
  EXPECT_TRUE(memory.empty());
}

TEST(MemoryTest, MessagesAreSystemThenHistoryInOrder) {
  ApproxTokenCounter counter;
  Memory memory{counter, "sys"};
  memory.add(Message::user("a"));
  memory.add(Message::assistant("", {ToolCall{"c1", "search", "{}"}}));
  memory.add(Message::tool_result("c1", "search", "{}"));
  const auto all = memory.messages();
  ASSERT_EQ(all.size(), 4u);
  EXPECT_EQ(all[0].role, Role::system);
  EXPECT_EQ(all[1].role, Role::user);
  EXPECT_EQ(all[2].role, Role::assistant);
  EXPECT_EQ(all[3].role, Role::tool);
  EXPECT_EQ(memory.last_index_of(Role::user), 0u);
  EXPECT_EQ(memory.last_index_of(Role::tool), 2u);
  EXPECT_FALSE(memory.last_index_of(Role::system).has_value());
}

TEST(MemoryTest, EachMessageIsCountedOnce) {
  CountingCounter counter;
  Memory memory{counter, "sys"};
  const int after_construction = counter.calls;
  for (int i = 0; i < 100; ++i) memory.add(Message::user("message " + std::to_string(i)));
  EXPECT_EQ(counter.calls, after_construction + 100);
  for (int i = 0; i < 1000; ++i) (void)memory.tokens();
  memory.erase(0, 10);
  const std::vector<std::size_t> drop{0, 5, 7};
  memory.erase_indices(drop);
  EXPECT_EQ(counter.calls, after_construction + 100);  // reads and erasures never recount
  EXPECT_EQ(memory.tokens(), counter.inner.count(memory.messages()));
}

TEST(MemoryTest, EraseRangeIsClamped) {
  ApproxTokenCounter counter;
  Memory memory{counter, "sys"};
  for (int i = 0; i < 5; ++i) memory.add(Message::user(std::to_string(i)));
  memory.erase(3, 100);
  ASSERT_EQ(memory.size(), 3u);
  memory.erase(7, 9);
  EXPECT_EQ(memory.size(), 3u);
  memory.erase(1, 2);
  ASSERT_EQ(memory.size(), 2u);
  EXPECT_EQ(memory.at(0).content, "0");
  EXPECT_EQ(memory.at(1).content, "2");
  EXPECT_EQ(memory.tokens(), counter.count(memory.messages()));
}

TEST(MemoryTest, EraseIndicesRemovesExactlyThose) {
  ApproxTokenCounter counter;
  Memory memory{counter};
  for (int i = 0; i < 6; ++i) memory.add(Message::user(std::to_string(i)));
  const std::vector<std::size_t> drop{0, 2, 5};
  memory.erase_indices(drop);
  ASSERT_EQ(memory.size(), 3u);
  EXPECT_EQ(memory.at(0).content, "1");
  EXPECT_EQ(memory.at(1).content, "3");
  EXPECT_EQ(memory.at(2).content, "4");
  const std::vector<std::size_t> bad{1, 1};
  EXPECT_THROW(memory.erase_indices(bad), std::invalid_argument);
  const std::vector<std::size_t> out_of_range{3};
  EXPECT_THROW(memory.erase_indices(out_of_range), std::invalid_argument);
  EXPECT_EQ(memory.size(), 3u);
}

TEST(MemoryTest, VersionChangesOnEveryModification) {
  ApproxTokenCounter counter;
  Memory memory{counter, "sys"};
  auto v = memory.version();
  auto changed = [&] {
    const bool c = memory.version() != v;
    v = memory.version();
    return c;
  };
  memory.add(Message::user("a"));
  EXPECT_TRUE(changed());
  memory.replace_history({Message::user("b"), Message::assistant("c")});
  EXPECT_TRUE(changed());
  memory.erase(0, 1);
  EXPECT_TRUE(changed());
  memory.clear();
  EXPECT_TRUE(changed());
  memory.set_system("new");
  EXPECT_TRUE(changed());
  (void)memory.tokens();
  (void)memory.messages();
  EXPECT_FALSE(changed());
}

TEST(MemoryTest, TokensEqualTheCounterAfterRandomEdits) {
  ApproxTokenCounter counter;
  Memory memory{counter, "system prompt"};
  Rng rng{7};
  for (int round = 0; round < 2000; ++round) {
    const auto op = rng.uniform_int(0, 9);
    if (op < 6) {
      std::string text(static_cast<std::size_t>(rng.uniform_int(0, 200)), 'x');
      if (op == 5) memory.add(Message::assistant(text, {ToolCall{"id", "tool", text}}));
      else memory.add(Message::user(text));
    } else if (op < 8 && !memory.empty()) {
      const auto first = static_cast<std::size_t>(rng.uniform_int(0, static_cast<std::int64_t>(memory.size()) - 1));
      memory.erase(first, first + 2);
    } else if (op == 8) {
      memory.replace_history({Message::user("summary"), Message::user("latest")});
    } else {
      memory.clear();
    }
    ASSERT_EQ(memory.tokens(), counter.count(memory.messages())) << "round " << round;
  }
}

TEST(MemoryTest, ARequestKeepsWhatItWasBuiltFromWhileTheMemoryMovesOn) {
  ApproxTokenCounter counter;
  Memory memory{counter, "sys"};
  memory.add(Message::user("one"));
  memory.add(Message::assistant("two"));
  const model::SharedList<Message> sent = memory.messages();  // shares, copies nothing
  EXPECT_TRUE(sent.shared());

  memory.add(Message::user("three"));
  memory.erase(0, 1);
  memory.set_system("new sys");
  ASSERT_EQ(sent.size(), 3u);
  EXPECT_EQ(sent[0], Message::system("sys"));
  EXPECT_EQ(sent[1], Message::user("one"));
  EXPECT_EQ(sent[2], Message::assistant("two"));

  ASSERT_EQ(memory.messages().size(), 3u);
  EXPECT_EQ(memory.messages()[0], Message::system("new sys"));
  EXPECT_EQ(memory.at(0), Message::assistant("two"));
  EXPECT_EQ(memory.at(1), Message::user("three"));
  EXPECT_THROW((void)memory.at(2), std::out_of_range);
  EXPECT_EQ(memory.tokens(), counter.count(memory.messages()));
  memory.set_system("");
  EXPECT_FALSE(memory.has_system());
  EXPECT_EQ(memory.messages().size(), 2u);
  EXPECT_EQ(memory.tokens(), counter.count(memory.messages()));
}

}  // namespace
}  // namespace keel::agent
