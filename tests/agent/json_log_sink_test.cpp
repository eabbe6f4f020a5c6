// JsonLogSink: one JSON object per event through spdlog, levels from the kind, and secrets
// redacted by construction: an API key emitted in many shapes never appears in the log text.
#include "keel/agent/json_log_sink.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "keel/core/secret.h"

namespace keel::agent {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kKey = "sk-proj-AbCdEf0123456789XyZ";  // 27 characters
constexpr std::string_view kTokenTail = "eyJhbGciOiJIUzI1NiJ9.payload.sig";

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(JsonLogSink, WritesOneJsonObjectPerEventWithTimeKindAndAttributesInOrder) {
  std::ostringstream os;
  auto sink = JsonLogSink::to_ostream(os);
  emit(sink.get(), TimePoint{} + 1500ms, "retry.scheduled",
       {{"attempt", 2}, {"delay", 250ms}, {"code", ErrorCode::rate_limited}, {"jitter", 0.5}, {"ok", false},
        {"note", "say \"hi\"\n"}});
  emit(sink.get(), TimePoint{} + 2s, "tool.end", {{"tool", "search"}});
  const auto lines = lines_of(os.str());
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0],
            R"({"ts":1500000000,"kind":"retry.scheduled","attempt":2,"delay":250000000,"code":"rate_limited",)"
            R"("jitter":0.5,"ok":false,"note":"say \"hi\"\n"})");
  const auto j = nlohmann::json::parse(lines[1]);
  EXPECT_EQ(j["kind"], "tool.end");
  EXPECT_EQ(j["tool"], "search");
}

TEST(JsonLogSink, ReservedKeysAndOddValuesStayValidJson) {
  Event e{TimePoint{}, "odd", {}};
  const Attr attrs[] = {{"ts", 1}, {"kind", "x"}, {"nan", std::numeric_limits<double>::quiet_NaN()},
                        {"bytes", std::string_view{"\xff\xfe", 2}}};
  e.attrs = attrs;
  const std::string line = JsonLogSink::format(e);
  const auto j = nlohmann::json::parse(line);  // does not throw
  EXPECT_EQ(j["kind"], "odd");
  EXPECT_EQ(j["attr.ts"], 1);
  EXPECT_EQ(j["attr.kind"], "x");
  EXPECT_TRUE(j["nan"].is_null());
}

TEST(JsonLogSink, LevelComesFromTheKind) {
  for (const char* k : {"model.error", "tool.failed", "attempt.timeout", "step.timed_out", "bulkhead.rejected",
                        "budget.exhausted", "provider.ERROR"})
    EXPECT_TRUE(JsonLogSink::is_warning_kind(k)) << k;
  for (const char* k : {"tool.start", "tool.end", "retry.scheduled", "breaker.closed"})
    EXPECT_FALSE(JsonLogSink::is_warning_kind(k)) << k;
}

TEST(JsonLogSink, SensitiveKeys) {
  for (const char* k : {"authorization", "Authorization", "X-Api-Key", "api_key", "API-KEY", "apikey", "password",
                        "secret", "token", "OPENAI_API_KEY", "anthropic-key", "session_token", "refresh-token"})
    EXPECT_TRUE(JsonLogSink::is_sensitive_key(k)) << k;
  for (const char* k : {"prompt_tokens", "max_tokens", "tokens", "key_count", "model", "keyboard", "tool"})
    EXPECT_FALSE(JsonLogSink::is_sensitive_key(k)) << k;
}

TEST(JsonLogSink, CredentialLookingWordsAreRedactedInsideValues) {
  EXPECT_EQ(JsonLogSink::redact_credentials("Bearer abc.def-ghi"), "Bearer [redacted]");
  EXPECT_EQ(JsonLogSink::redact_credentials("header was 'bearer  xyz', retrying"), "header was 'bearer  [redacted]', retrying");
  EXPECT_EQ(JsonLogSink::redact_credentials(std::string{"key "} + std::string{kKey} + " rejected"),
            "key [redacted] rejected");
  EXPECT_EQ(JsonLogSink::redact_credentials("https://h/v1?api_key=abc123&model=x"), "https://h/v1?api_key=[redacted]&model=x");
  // Not credentials: short sk- words, words merely containing "sk-", the word "bearer" alone.
  EXPECT_EQ(JsonLogSink::redact_credentials("sk-short"), "sk-short");
  EXPECT_EQ(JsonLogSink::redact_credentials("task-0123456789abcdefghijkl"), "task-0123456789abcdefghijkl");
  EXPECT_EQ(JsonLogSink::redact_credentials("max_tokens=100"), "max_tokens=100");
  // Erring on the safe side: any word after "bearer" is treated as a credential.
  EXPECT_EQ(JsonLogSink::redact_credentials("the bearer of news"), "the bearer [redacted] news");
}

// docs/architecture.md: secrets (API keys, Authorization headers) never reach any sink.
TEST(JsonLogSink, AnApiKeyEmittedInManyWaysNeverReachesTheLogText) {
  std::ostringstream os;
  auto sink = JsonLogSink::to_ostream(os);
  const Secret secret{std::string{kKey}};
  const std::string key{kKey};
  const std::string bearer = "Bearer " + key;
  const std::string jwt_bearer = "Bearer " + std::string{kTokenTail};
  const std::string message = "401 from provider: invalid key " + key + " (check your settings)";
  const std::string url = "https://api.example.com/v1/chat?api_key=" + key + "&stream=false";
  const std::string body = R"({"error":{"message":"Incorrect API key provided: )" + key + R"("}})";
  const TimePoint t{};
  emit(sink.get(), t, "provider.configured", {{"provider", "openai"}, {"credential", secret}});
  emit(sink.get(), t, "request.sent", {{"Authorization", bearer}, {"x-api-key", key}, {"api_key", key}});
  emit(sink.get(), t, "request.sent", {{"headers", "Authorization: " + bearer}, {"OPENAI_API_KEY", key}});
  emit(sink.get(), t, "model.error", {{"message", message}, {"url", url}, {"body", body}});
  emit(sink.get(), t, "auth.refresh", {{"session_token", std::string{kTokenTail}}, {"header", jwt_bearer}});
  emit(sink.get(), t, "misc", {{"password", 12345}, {"secret", true}});
  sink->flush();

  const std::string text = os.str();
  EXPECT_EQ(lines_of(text).size(), 6u);
  EXPECT_EQ(text.find(kKey), std::string::npos) << text;
  EXPECT_EQ(text.find(kKey.substr(3)), std::string::npos) << text;  // not even its tail
  EXPECT_EQ(text.find(kTokenTail), std::string::npos) << text;
  EXPECT_EQ(text.find("12345"), std::string::npos) << text;
  EXPECT_NE(text.find("[redacted]"), std::string::npos);
  for (const std::string& line : lines_of(text)) EXPECT_TRUE(nlohmann::json::accept(line)) << line;
  // What is not secret survives.
  EXPECT_NE(text.find("401 from provider"), std::string::npos);
  EXPECT_NE(text.find("stream=false"), std::string::npos);
}

TEST(JsonLogSink, WritesToAFile) {
  const std::filesystem::path path = std::filesystem::temp_directory_path() / "keel-JsonLogSink-WritesToAFile.jsonl";
  std::filesystem::remove(path);
  {
    auto sink = JsonLogSink::to_file(path.string(), /*truncate=*/true);
    emit(sink.get(), TimePoint{} + 1ns, "a.b", {{"n", 1}});
    emit(sink.get(), TimePoint{} + 2ns, "a.error", {{"n", 2}});
    sink->flush();
  }
  std::ifstream in{path};
  std::stringstream content;
  content << in.rdbuf();
  EXPECT_EQ(content.str(), "{\"ts\":1,\"kind\":\"a.b\",\"n\":1}\n{\"ts\":2,\"kind\":\"a.error\",\"n\":2}\n");
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace keel::agent
