// `keel report`'s library: the timeline recorder (bucketing, counts, latencies, breaker
// transitions), the report data check (pointers), the page (self-contained, data escaped,
// deterministic) and the file entry point. The page in a real browser: tests/report/.
#include "keel/scenarios/report_page.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "keel/scenarios/loader.h"
#include "keel/scenarios/timeline.h"

namespace keel::scenarios {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

const std::string kSuite = std::string{KEEL_SOURCE_DIR} + "/scenarios/suite/";

Scenario load(const std::string& name) { return load_scenario_file(kSuite + name).value(); }

Scenario two_providers() {
  Scenario s = load("breaker_recovers.json");
  s.providers.resize(1);
  s.providers[0].name = "a";
  s.providers.push_back(s.providers[0]);
  s.providers[1].name = "b";
  s.faults.clear();
  return s;
}

std::int64_t sum(const json& series) {
  std::int64_t n = 0;
  for (const json& v : series) n += v.get<std::int64_t>();
  return n;
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (std::size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

TEST(TimelineBucketWidth, RoundWidthsWithinTheBucketLimit) {
  EXPECT_EQ(timeline_bucket_width(0ms), 1ms);
  EXPECT_EQ(timeline_bucket_width(200ms), 1ms);
  EXPECT_EQ(timeline_bucket_width(201ms), 2ms);
  EXPECT_EQ(timeline_bucket_width(1001ms), 10ms);
  EXPECT_EQ(timeline_bucket_width(std::chrono::hours{1}), 20s);  // 18 s is not round
  EXPECT_EQ(timeline_bucket_width(30min, 10), 200s);
}

TEST(TimelineRecorder, CountsRequestsFailuresRefusalsAndLatenciesPerBucket) {
  TimelineRecorder t{two_providers(), true};
  const auto ev = [&](Duration at, std::string_view kind, std::initializer_list<Attr> attrs) {
    emit(&t, TimePoint{at}, kind, attrs);
  };
  ev(0ms, "provider.request", {{"target", "a"}, {"index", 0}});
  ev(500ms, "provider.response", {{"target", "a"}, {"ok", true}, {"latency", 500ms}});
  ev(1s, "provider.request", {{"target", "a"}, {"index", 1}});
  ev(1100ms, "provider.response", {{"target", "a"}, {"ok", false}, {"code", ErrorCode::server_error}});
  ev(1200ms, "provider.request", {{"target", "a"}, {"index", 2}});
  ev(1300ms, "provider.response", {{"target", "a"}, {"ok", true}, {"latency", 100ms}});
  ev(1400ms, "provider.response", {{"target", "a"}, {"ok", true}, {"latency", 300ms}});
  ev(1500ms, "breaker.state", {{"target", "a"}, {"from", "closed"}, {"to", "open"}});
  ev(1600ms, "breaker.refused", {{"target", "a"}, {"state", "open"}});
  ev(1700ms, "provider.request", {{"target", "nobody"}, {"index", 0}});  // not a scenario provider
  const json j = t.to_json(1999ms);
  EXPECT_EQ(j["bucket_ms"], 10.0);  // 2 s in 200 buckets
  EXPECT_EQ(j["buckets"], 200);
  const json& a = j["providers"][0];
  EXPECT_EQ(a["name"], "a");
  EXPECT_EQ(a["requests"][0], 1);
  EXPECT_EQ(a["requests"][100], 1);
  EXPECT_EQ(a["requests"][120], 1);
  EXPECT_EQ(a["failures"][110], 1);
  EXPECT_EQ(a["refused"][160], 1);
  EXPECT_EQ(a["latency_ok_p50_ms"][50], 500.0);
  EXPECT_TRUE(a["latency_ok_p50_ms"][0].is_null());
  EXPECT_EQ(a["latency_ok_max_ms"][130], 100.0);
  EXPECT_EQ(a["failures_by_code"], json({{"server_error", 1}}));
  EXPECT_EQ(a["breaker_transitions"], json::parse(R"([{"at_ms":1500.0,"from":"closed","to":"open"}])"));
  const json& b = j["providers"][1];
  EXPECT_EQ(sum(b["requests"]), 0);
}

TEST(TimelineRecorder, EndGrowsToTheLastEvent) {
  TimelineRecorder t{two_providers(), false};
  emit(&t, TimePoint{5s}, "provider.request", {{"target", "b"}, {"index", 0}});
  const json j = t.to_json(1s);
  EXPECT_EQ(j["end_ms"], 5000.0);
  EXPECT_EQ(j["providers"][1]["requests"].back(), 1);
  EXPECT_EQ(j["providers"][1]["breaker"], false);
}

TEST(RunForReport, RequestsAddUpToTheReportedCallsAndFaultsAreListed) {
  const Scenario s = load("server_error_storm_breaker.json");
  Result<json> data = run_for_report(s, {.seed = 5});
  ASSERT_TRUE(data) << data.error().describe();
  EXPECT_TRUE(check_report_data(*data).empty());
  for (const json& p : (*data)["timeline"]["providers"]) {
    const std::string name = p["name"];
    EXPECT_EQ(sum(p["requests"]), (*data)["calls"][name].get<std::int64_t>()) << name;
  }
  ASSERT_EQ((*data)["timeline"]["faults"].size(), s.faults.size());
  EXPECT_EQ((*data)["timeline"]["faults"][0]["target"], s.faults[0].target);
  EXPECT_EQ((*data)["trace_hash"], to_json(run_scenario(s, {.seed = 5}).value())["trace_hash"]);  // recording changes nothing
}

TEST(CheckReportData, APlainRunJsonIsRefusedWithTheWayToWriteOne) {
  const json plain = to_json(run_scenario(load("breaker_recovers.json")).value());
  const std::vector<ValidationError> errors = check_report_data(plain);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].pointer, "/timeline");
  EXPECT_NE(errors[0].message.find("--report-data"), std::string::npos);
}

TEST(CheckReportData, EachBadFieldIsNamedByItsPointer) {
  json data = run_for_report(load("breaker_recovers.json")).value();
  data["timeline"]["providers"][0]["failures"].erase(0);
  data["timeline"]["faults"][0]["from_ms"] = "soon";
  data["recovery"] = json::array({{{"target", "p"}, {"from_ms", 0}, {"until_ms", 1}, {"detect_ms", "x"}}});
  std::vector<std::string> pointers;
  for (const ValidationError& e : check_report_data(data)) pointers.push_back(e.pointer);
  EXPECT_EQ(pointers, (std::vector<std::string>{"/timeline/providers/0/failures", "/timeline/faults/0/from_ms",
                                                "/recovery/0/detect_ms", "/recovery/0/restore_ms",
                                                "/recovery/0/back_on_primary_ms"}));
  data = run_for_report(load("breaker_recovers.json")).value();
  data["timeline"]["buckets"] = TimelineRecorder::kMaxBuckets + 1;
  ASSERT_FALSE(check_report_data(data).empty());
  EXPECT_EQ(check_report_data(data)[0].pointer, "/timeline/buckets");
  EXPECT_FALSE(check_report_data(json::array()).empty());
}

TEST(RenderReportPage, SelfContainedEscapedAndDeterministic) {
  json data = run_for_report(load("breaker_recovers.json")).value();
  data["scenario"] = "</script><script>alert(1)</script>";
  const std::string page = render_report_page(data);
  EXPECT_EQ(page, render_report_page(data));
  EXPECT_EQ(count_of(page, "</script>"), 2u);  // the data block's and the script's own: none injected
  EXPECT_NE(page.find("\\u003c/script>\\u003cscript>alert(1)"), std::string::npos);
  for (const char* outside : {"<link", "src=", "href=", "@import", "url("}) {
    EXPECT_EQ(page.find(outside), std::string::npos) << outside;
  }
  EXPECT_NE(page.find("data-render=\"pending\""), std::string::npos);
  EXPECT_NE(page.find("window.onerror"), std::string::npos);
}

TEST(ReportPageFromFile, ScenarioRunsReportDataIsReadAndErrorsAreClassified) {
  const ReportPage from_scenario = report_page_from_file(kSuite + "breaker_recovers.json", 3, std::nullopt);
  ASSERT_TRUE(from_scenario.html) << from_scenario.describe();

  const auto dir = std::filesystem::temp_directory_path() / "keel_report_page_test";
  std::filesystem::create_directories(dir);
  const auto run_json = dir / "run.json";
  std::ofstream{run_json} << run_for_report(load("breaker_recovers.json"), {.seed = 3}).value().dump();
  const ReportPage from_data = report_page_from_file(run_json, std::nullopt, std::nullopt);
  ASSERT_TRUE(from_data.html) << from_data.describe();
  EXPECT_EQ(*from_data.html, *from_scenario.html);

  const ReportPage seeded = report_page_from_file(run_json, 4, std::nullopt);
  EXPECT_FALSE(seeded.html);
  EXPECT_FALSE(seeded.internal);

  const ReportPage missing = report_page_from_file(dir / "none.json", std::nullopt, std::nullopt);
  ASSERT_EQ(missing.errors.size(), 1u);
  EXPECT_EQ(missing.errors[0].message, "cannot open the file");

  std::ofstream{dir / "bad.json"} << R"({"keel_scenario": 1, "name": 3})";
  const ReportPage bad = report_page_from_file(dir / "bad.json", std::nullopt, std::nullopt);
  EXPECT_FALSE(bad.html);
  ASSERT_FALSE(bad.errors.empty());
  EXPECT_EQ(bad.errors[0].pointer, "/name");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace keel::scenarios
