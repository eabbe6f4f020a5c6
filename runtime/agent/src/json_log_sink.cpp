#include "keel/agent/json_log_sink.h"

#include <array>
#include <cmath>
#include <stdexcept>
#include <type_traits>
#include <variant>

#include <nlohmann/json.hpp>
#include <spdlog/logger.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/ostream_sink.h>

namespace keel::agent {

namespace {

constexpr std::string_view kRedacted = Secret::kRedacted;

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string to_lower(std::string_view s) {
  std::string out{s};
  for (char& c : out) c = lower(c);
  return out;
}

bool ends_with(std::string_view s, std::string_view suffix) noexcept {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

bool is_alnum(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
// Characters of an API-key-like word (sk-..., URL/query values).
bool is_key_char(char c) noexcept { return is_alnum(c) || c == '-' || c == '_'; }
// Characters of a bearer credential (base64, base64url, JWT dots, opaque tokens).
bool is_credential_char(char c) noexcept {
  return is_key_char(c) || c == '.' || c == '~' || c == '+' || c == '/' || c == '=';
}
bool is_space(char c) noexcept { return c == ' ' || c == '\t'; }

// Length of the run of characters satisfying `pred` starting at `i`.
template <class Pred>
std::size_t run_length(std::string_view s, std::size_t i, Pred pred) noexcept {
  std::size_t n = 0;
  while (i + n < s.size() && pred(s[i + n])) ++n;
  return n;
}

bool warns_impl(std::string_view kind) {
  static constexpr std::array<std::string_view, 6> kMarkers = {"error", "fail", "timeout", "timed_out", "rejected",
                                                              "exhausted"};
  const std::string k = to_lower(kind);
  for (std::string_view m : kMarkers)
    if (k.find(m) != std::string::npos) return true;
  return false;
}

}  // namespace

JsonLogSink::JsonLogSink(std::shared_ptr<spdlog::logger> logger) : logger_(std::move(logger)) {
  if (!logger_) throw std::invalid_argument("JsonLogSink: null logger");
}

JsonLogSink::~JsonLogSink() = default;

std::unique_ptr<JsonLogSink> JsonLogSink::to_ostream(std::ostream& os) {
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(os, /*force_flush=*/true);
  auto logger = std::make_shared<spdlog::logger>("keel.events", std::move(sink));
  logger->set_pattern("%v");
  logger->set_level(spdlog::level::trace);
  return std::make_unique<JsonLogSink>(std::move(logger));
}

std::unique_ptr<JsonLogSink> JsonLogSink::to_file(const std::string& path, bool truncate) {
  auto sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path, truncate);
  auto logger = std::make_shared<spdlog::logger>("keel.events", std::move(sink));
  logger->set_pattern("%v");
  logger->set_level(spdlog::level::trace);
  logger->flush_on(spdlog::level::warn);
  return std::make_unique<JsonLogSink>(std::move(logger));
}

void JsonLogSink::on_event(const Event& e) {
  const std::string line = format(e);
  logger_->log(is_warning_kind(e.kind) ? spdlog::level::warn : spdlog::level::info, spdlog::string_view_t{line});
}

void JsonLogSink::flush() { logger_->flush(); }

bool JsonLogSink::is_warning_kind(std::string_view kind) { return warns_impl(kind); }

bool JsonLogSink::is_sensitive_key(std::string_view key) noexcept {
  static constexpr std::array<std::string_view, 8> kExact = {"authorization", "x-api-key", "api_key", "api-key",
                                                            "apikey",        "password",  "secret",  "token"};
  static constexpr std::array<std::string_view, 4> kSuffixes = {"_key", "-key", "_token", "-token"};
  if (key.size() > 64) return false;  // no credential key is that long
  std::array<char, 64> buf{};
  for (std::size_t i = 0; i < key.size(); ++i) buf[i] = lower(key[i]);
  const std::string_view k{buf.data(), key.size()};
  for (std::string_view x : kExact)
    if (k == x) return true;
  for (std::string_view s : kSuffixes)
    if (ends_with(k, s)) return true;
  return false;
}

std::string JsonLogSink::redact_credentials(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  std::size_t i = 0;
  while (i < v.size()) {
    const bool word_start = i == 0 || !is_key_char(v[i - 1]);
    // "Bearer <credential>": keep the scheme, hide the credential.
    if (word_start && v.size() - i > 6 && to_lower(v.substr(i, 6)) == "bearer" && is_space(v[i + 6])) {
      const std::size_t spaces = run_length(v, i + 6, is_space);
      const std::size_t cred = run_length(v, i + 6 + spaces, is_credential_char);
      if (cred > 0) {
        out.append(v.substr(i, 6 + spaces));
        out.append(kRedacted);
        i += 6 + spaces + cred;
        continue;
      }
    }
    // "sk-..." API keys (OpenAI, Anthropic "sk-ant-..."): whole words of 20+ characters.
    if (word_start && v.substr(i, 3) == "sk-") {
      const std::size_t len = run_length(v, i, is_key_char);
      if (len >= 20) {
        out.append(kRedacted);
        i += len;
        continue;
      }
    }
    // "<sensitive key>=<value>" as in a query string or an environment dump.
    if (v[i] == '=' && i > 0) {
      std::size_t start = i;
      while (start > 0 && is_key_char(v[start - 1])) --start;
      const std::size_t len = run_length(v, i + 1, [](char c) { return c != '&' && c != ' ' && c != '"' && c != '\'' && c != ',' && c != ';' && c != '\n'; });
      if (start < i && len > 0 && is_sensitive_key(v.substr(start, i - start))) {
        out.push_back('=');
        out.append(kRedacted);
        i += 1 + len;
        continue;
      }
    }
    out.push_back(v[i]);
    ++i;
  }
  return out;
}

std::string JsonLogSink::format(const Event& e) {
  nlohmann::ordered_json j;
  j["ts"] = e.time.time_since_epoch().count();
  j["kind"] = std::string{e.kind};
  for_each_attr(e, [&j](const Attr& a) {
    std::string key{a.key};
    if (key == "ts" || key == "kind") key = "attr." + key;
    if (is_sensitive_key(a.key)) {
      j[key] = std::string{kRedacted};
      return;
    }
    std::visit(
        [&](const auto& x) {
          using X = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<X, std::string_view>) {
            j[key] = redact_credentials(x);
          } else if constexpr (std::is_same_v<X, double>) {
            if (std::isfinite(x))
              j[key] = x;
            else
              j[key] = nullptr;
          } else {
            j[key] = x;
          }
        },
        a.value);
  });
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace keel::agent
