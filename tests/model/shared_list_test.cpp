// SharedList: copies share elements until one is written (copy-on-write), value semantics hold.
#include "keel/model/shared_list.h"

#include <gtest/gtest.h>

#include <string>

#include "keel/model/message.h"

namespace keel::model {
namespace {

TEST(SharedList, CopiesShareUntilOneIsWritten) {
  SharedList<std::string> a{"x", "y"};
  EXPECT_FALSE(a.shared());
  SharedList<std::string> b = a;
  EXPECT_TRUE(a.shared());
  EXPECT_EQ(&a[0], &b[0]);  // const access reads the same storage

  b.push_back("z");
  EXPECT_FALSE(a.shared());
  EXPECT_EQ(a.size(), 2u);
  EXPECT_EQ(b.size(), 3u);
  EXPECT_NE(&a[0], &b[0]);
  EXPECT_FALSE(b.shared());
  EXPECT_THROW((void)b.edit(3), std::out_of_range);
}

TEST(SharedList, NonConstElementAccessCopiesFirst) {
  SharedList<std::string> a{"x"};
  const SharedList<std::string> b = a;
  a.edit(0) = "changed";
  EXPECT_EQ(b[0], "x");
  EXPECT_EQ(a[0], "changed");
  SharedList<std::string> c = a;
  c.edit(0) += "!";
  EXPECT_EQ(a.back(), "changed");
  EXPECT_EQ(c.back(), "changed!");
}

TEST(SharedList, EraseAndClearLeaveOtherCopiesWhole) {
  SharedList<int> a{1, 2, 3, 4, 5};
  SharedList<int> b = a;
  b.erase(1, 3);
  EXPECT_EQ(b, (SharedList<int>{1, 4, 5}));
  EXPECT_EQ(a, (SharedList<int>{1, 2, 3, 4, 5}));
  b.erase(2, 99);  // clamped
  EXPECT_EQ(b, (SharedList<int>{1, 4}));
  SharedList<int> c = a;
  c.clear();
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(a.size(), 5u);
  a.clear();  // not shared any more: clears in place
  EXPECT_TRUE(a.empty());
}

TEST(SharedList, EmptyListsAreCheapAndEqual) {
  SharedList<int> a, b;
  EXPECT_EQ(a.begin(), a.end());
  EXPECT_TRUE(a.span().empty());
  EXPECT_EQ(a, b);
  a.push_back(1);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.at(0), 1);
  EXPECT_THROW((void)a.at(1), std::out_of_range);
}

TEST(SharedList, RequestCopiesShareTheConversation) {
  ChatRequest req;
  req.messages = {Message::system("s"), Message::user("u")};
  ChatRequest attempt = req;
  EXPECT_TRUE(req.messages.shared());
  EXPECT_EQ(attempt.messages, req.messages);
  attempt.messages.push_back(Message::assistant("a"));
  EXPECT_EQ(req.messages.size(), 2u);
  EXPECT_EQ(attempt.messages.size(), 3u);
}

}  // namespace
}  // namespace keel::model
