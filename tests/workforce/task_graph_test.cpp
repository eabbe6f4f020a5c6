// build_task_graph: stable topological order, and each kind of invalid list rejected with a
// message naming the tasks involved (a cycle is spelled out arrow by arrow).
#include "keel/workforce/task_graph.h"

#include <gtest/gtest.h>

namespace keel::workforce {
namespace {

std::string error_of(std::vector<TaskSpec> tasks) {
  Result<TaskGraph> g = build_task_graph(tasks);
  EXPECT_FALSE(g.ok());
  if (g) return "";
  EXPECT_EQ(g.error().code, ErrorCode::invalid_request);
  return g.error().message;
}

TEST(TaskGraphTest, StableTopologicalOrder) {
  std::vector<TaskSpec> tasks{{.id = "c", .depends_on = {"b"}}, {.id = "a"}, {.id = "b", .depends_on = {"a"}}, {.id = "d"}};
  Result<TaskGraph> g = build_task_graph(tasks);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->order, (std::vector<std::size_t>{1, 2, 0, 3}));
  EXPECT_EQ(g->deps[0], std::vector<std::size_t>{2});
}

TEST(TaskGraphTest, ListInDependencyOrderKeepsItsOrder) {
  std::vector<TaskSpec> tasks{{.id = "a"}, {.id = "b", .depends_on = {"a"}}, {.id = "c"}};
  EXPECT_EQ(build_task_graph(tasks)->order, (std::vector<std::size_t>{0, 1, 2}));
}

TEST(TaskGraphTest, RejectsWithPreciseMessages) {
  EXPECT_EQ(error_of({{.id = "a", .depends_on = {"b"}}, {.id = "b", .depends_on = {"a"}}}),
            "dependency cycle: \"a\" -> \"b\" -> \"a\" (each arrow: depends on)");
  EXPECT_EQ(error_of({{.id = "x"}, {.id = "a", .depends_on = {"c"}}, {.id = "b", .depends_on = {"a"}}, {.id = "c", .depends_on = {"b", "x"}}}),
            "dependency cycle: \"a\" -> \"c\" -> \"b\" -> \"a\" (each arrow: depends on)");
  EXPECT_EQ(error_of({{.id = "a", .depends_on = {"a"}}}), "task \"a\" depends on itself");
  EXPECT_EQ(error_of({{.id = "a", .depends_on = {"zz"}}}), "task \"a\" depends on unknown task \"zz\"");
  EXPECT_EQ(error_of({{.id = "a"}, {.id = "b", .depends_on = {"a", "a"}}}), "task \"b\" lists dependency \"a\" twice");
  EXPECT_EQ(error_of({{.id = ""}}), "task 0 has an empty id");
  EXPECT_EQ(error_of({{.id = "a"}, {.id = "a"}}), "duplicate task id \"a\"");
}

}  // namespace
}  // namespace keel::workforce
