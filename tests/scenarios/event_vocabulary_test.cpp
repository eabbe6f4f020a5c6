// docs/events.md against what runs emit: every suite scenario runs under both presets and
// every event kind and attribute seen must be on the page; every kind and attribute of the
// page's first table ("Events in simulated runs") must be seen in some run. And every event of
// an agent step names it ("Following one agent step"): the agent's and context manager's
// events their agent and step; the model manager's, the policies' and the provider's also the
// model call, and those of one attempt the attempt.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "keel/core/event.h"
#include "keel/scenarios/loader.h"
#include "keel/scenarios/runner.h"

namespace keel::scenarios {
namespace {

using Vocabulary = std::map<std::string, std::set<std::string>, std::less<>>;  // kind -> attributes

struct Documented {
  Vocabulary required;  // "Events in simulated runs": emitted by the suite
  Vocabulary allowed;   // "Events not emitted by the suite"
  Vocabulary demo;      // "Events of `keel demo`"
};

// The rows "| `kind` | `attr`, `attr` (...) | ..." of the page's two event tables.
Documented read_page() {
  std::ifstream in{std::string{KEEL_SOURCE_DIR} + "/docs/events.md"};
  EXPECT_TRUE(in) << "docs/events.md is missing";
  Documented out;
  Vocabulary* table = nullptr;
  const std::regex row{R"(^\| `([a-z_.]+)` \| ([^|]*) \|)"};
  const std::regex name{R"(`([a-z_]+)`)"};
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("## ")) {
      table = line == "## Events in simulated runs"         ? &out.required
              : line == "## Events not emitted by the suite" ? &out.allowed
              : line == "## Events of `keel demo`"           ? &out.demo
                                                               : nullptr;
      continue;
    }
    std::smatch m;
    if (!table || !std::regex_search(line, m, row)) continue;
    std::set<std::string>& attrs = (*table)[m[1]];
    const std::string cell = m[2];
    for (auto it = std::sregex_iterator(cell.begin(), cell.end(), name); it != std::sregex_iterator(); ++it) {
      attrs.insert((*it)[1]);
    }
  }
  return out;
}

// The ids an event of `kind` must carry: every suite workload sends its model calls from agents.
std::vector<std::string_view> required_ids(std::string_view kind) {
  if (kind.starts_with("agent.") || kind.starts_with("context.")) return {key::agent, key::step};
  if (kind == ev::model_attempt || kind == ev::model_stream_timeout || kind.starts_with("breaker.") ||
      kind.starts_with("provider.") || kind.starts_with("retry.") || kind == ev::ratelimit_decision ||
      kind == ev::bulkhead_decision) {
    return {key::agent, key::step, key::call, key::attempt};
  }
  if (kind.starts_with("model.") || kind.starts_with("hedge.")) return {key::agent, key::step, key::call};
  return {};
}

// Every kind and attribute emitted, and the events of agent steps that lack their ids.
class VocabularySink final : public EventSink {
 public:
  Vocabulary seen;
  std::vector<std::string> missing_ids;  // events of agent steps without their ids

  void on_event(const Event& e) override {
    std::set<std::string>& attrs = seen[std::string{e.kind}];
    for_each_attr(e, [&attrs](const Attr& a) { attrs.insert(std::string{a.key}); });
    for (const std::string_view id : required_ids(e.kind)) {
      if (!e.find(id) && missing_ids.size() < 10) {
        missing_ids.push_back(std::string{e.kind} + " without " + std::string{id});
      }
    }
  }
};

std::vector<std::filesystem::path> suite() {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator{std::string{KEEL_SOURCE_DIR} + "/scenarios/suite"}) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(EventVocabulary, WhatTheSuiteEmitsIsWhatDocsEventsMdLists) {
  const Documented page = read_page();
  ASSERT_GT(page.required.size(), 20u) << "the page's first table was not found";
  VocabularySink sink;
  const std::vector<std::filesystem::path> files = suite();
  ASSERT_GT(files.size(), 10u);
  for (const auto& file : files) {
    const LoadResult loaded = load_scenario_file(file);
    ASSERT_TRUE(loaded) << loaded.describe();
    for (const Preset preset : {Preset::keel_default, Preset::camel_parity}) {
      ASSERT_TRUE(run_scenario(loaded.value(), {.preset = preset, .extra_sink = &sink}).ok()) << file;
    }
  }

  for (const auto& [kind, attrs] : sink.seen) {
    const auto doc = page.required.contains(kind) ? page.required.find(kind) : page.allowed.find(kind);
    if (doc == page.allowed.end()) {
      ADD_FAILURE() << "emitted but not in docs/events.md: " << kind;
      continue;
    }
    for (const std::string& a : attrs) {
      EXPECT_TRUE(doc->second.contains(a)) << "docs/events.md does not list attribute `" << a << "` of " << kind;
    }
  }
  for (const auto& [kind, attrs] : page.required) {
    const auto seen = sink.seen.find(kind);
    if (seen == sink.seen.end()) {
      ADD_FAILURE() << "docs/events.md lists " << kind << " as emitted by the suite, but no suite run emitted it";
      continue;
    }
    for (const std::string& a : attrs) {
      EXPECT_TRUE(seen->second.contains(a)) << "docs/events.md lists `" << a << "` on " << kind
                                            << ", but no suite run emitted it";
    }
  }
  EXPECT_TRUE(sink.missing_ids.empty()) << ::testing::PrintToString(sink.missing_ids);
}

// keel/core/vocabulary.h and the page: the same kinds, and the same attribute keys.
TEST(EventVocabulary, TheCodesNamedKindsAndKeysAreThePagesKindsAndKeys) {
  const Documented page = read_page();
  std::set<std::string> page_kinds, page_keys;
  for (const Vocabulary* table : {&page.required, &page.allowed, &page.demo}) {
    for (const auto& [kind, attrs] : *table) {
      page_kinds.insert(kind);
      page_keys.insert(attrs.begin(), attrs.end());
    }
  }
  const std::set<std::string> code_kinds(ev::kAll.begin(), ev::kAll.end());
  const std::set<std::string> code_keys(key::kAll.begin(), key::kAll.end());
  for (const std::string& k : code_kinds) EXPECT_TRUE(page_kinds.contains(k)) << "ev:: names " << k << ", the page does not";
  for (const std::string& k : page_kinds) EXPECT_TRUE(code_kinds.contains(k)) << "the page lists " << k << ", ev:: does not";
  for (const std::string& k : code_keys) EXPECT_TRUE(page_keys.contains(k)) << "key:: names " << k << ", the page does not";
  for (const std::string& k : page_keys) EXPECT_TRUE(code_keys.contains(k)) << "the page lists `" << k << "`, key:: does not";
  EXPECT_EQ(code_kinds.size(), ev::kCount);  // no duplicates (also a static_assert)
}

}  // namespace
}  // namespace keel::scenarios
