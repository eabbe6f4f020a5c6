// keel/agent/json_log_sink.h — JsonLogSink: the event stream as JSON lines through spdlog.
//
// Purpose: structured (JSON) logging was missing in the source design (docs/architecture.md). This sink
// turns every keel Event into one JSON object per line — the same stream the trace writer and
// metrics consume, so nothing needs a logging decorator — and keeps secrets out of it.
//
// Contract:
//  - One line per event: {"ts":<virtual/scheduler time, ns>,"kind":"...",<attributes in emission
//    order>}. Attribute keys that collide with "ts"/"kind" are written as "attr.ts"/"attr.kind".
//    Strings are JSON-escaped (invalid UTF-8 replaced); a non-finite double is written as null.
//  - Level from the kind: warn when it names an error, failure, timeout, rejection or
//    exhaustion ("error", "fail", "timeout", "timed_out", "rejected", "exhausted"), else info.
//  - Redaction, by construction: Secret attributes already arrive as "[redacted]" (event.h).
//    In addition, written as "[redacted]": any attribute whose key, case-insensitively, is
//    authorization, x-api-key, api_key, api-key, apikey, password, secret or token, or ends in
//    _key, -key, _token or -token (whatever its type); and inside every string value, any
//    credential-looking word — "Bearer <credential>" and "sk-..." words of 20+ characters.
//  - Thread-safe as the underlying spdlog logger is (the factories use _mt sinks). The logger
//    passed in should use the pattern "%v" for pure JSON lines (the factories set it).
//  - spdlog stays out of this header: dependents do not compile it.
//
// Example:
//   auto log = JsonLogSink::to_file("keel-events.jsonl");       // or to_ostream(std::clog)
//   FanoutSink events{&trace_writer, log.get()};
//   emit(&events, sched.now(), "retry.scheduled", {{"attempt", 2}, {"delay", 250ms}});
//   // {"ts":1250000000,"kind":"retry.scheduled","attempt":2,"delay":250000000}
#pragma once

#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>

#include "keel/core/event.h"

namespace spdlog {
class logger;
}

namespace keel::agent {

class JsonLogSink final : public EventSink {
 public:
  // Writes through `logger` (non-null), as is: its pattern, level and sinks are the caller's.
  explicit JsonLogSink(std::shared_ptr<spdlog::logger> logger);
  ~JsonLogSink() override;

  // A sink on a new (unregistered) logger writing to `os`, which must outlive the sink.
  static std::unique_ptr<JsonLogSink> to_ostream(std::ostream& os);
  // A sink on a new (unregistered) logger appending to the file at `path` (truncating it when
  // `truncate`). Throws spdlog::spdlog_ex if the file cannot be opened (configuration time).
  static std::unique_ptr<JsonLogSink> to_file(const std::string& path, bool truncate = false);

  void on_event(const Event& e) override;
  void flush();

  // The JSON line for `e`, redacted, without a newline (what on_event logs).
  static std::string format(const Event& e);
  // True if events of `kind` are logged at warn level (else info).
  static bool is_warning_kind(std::string_view kind);
  // True if an attribute named `key` is always redacted.
  static bool is_sensitive_key(std::string_view key) noexcept;
  // `value` with every credential-looking word replaced by "[redacted]".
  static std::string redact_credentials(std::string_view value);

 private:
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace keel::agent
