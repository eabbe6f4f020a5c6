// keel/agent/tool_result.h — ToolResult: what the model gets back for one tool call.
//
// Purpose: a tool call never ends in an exception reaching the agent (docs/architecture.md: tool
// failures come back as a structured result). Whatever happened — success, the tool's own
// failure, a timeout, cancellation, an unknown tool or malformed arguments — the ToolRunner
// produces exactly one ToolResult, and `to_json()` is the tool message content the model sees.
//
// Contract:
//  - `ok` ⇔ `value` holds the tool's JSON text and `error` is empty; otherwise `error` holds the
//    code (tool_error, timeout, cancelled, invalid_request — or a code the tool itself returned)
//    and `error_message` a human-readable line (never a secret: tools must not put them there).
//  - `attempts` counts executions actually started (0 for an invalid request or a call
//    cancelled before it started). `duration` is scheduler time from the call to its result.
//  - `maybe_executed`: a non-idempotent tool that timed out or was cancelled after it started.
//    It may have had its side effects; it is never re-run.
//  - `to_json()`: `{"ok":true,"value":<value>}` where <value> is the tool's text as written
//    (minus surrounding whitespace) when it is valid JSON — checked by a parser, not
//    re-serialized, so numbers keep their digits — or else the raw text as a JSON string; or
//    `{"ok":false,"error":"<code>","message":"...","maybe_executed":true}` (the last key only
//    when true). Deterministic key order; strings written by keel's JSON escaper (json_escape.h).
//
// Example:
//   ToolResult r = co_await runner.run(call);
//   history.push_back(model::Message::tool_result(r.call_id, r.tool, r.to_json()));
//   if (!r.ok && r.maybe_executed) warn("side effects may have happened");
#pragma once

#include <optional>
#include <string>

#include "keel/core/error.h"
#include "keel/core/time.h"

namespace keel::agent {

struct ToolResult {
  std::string call_id, tool;
  bool ok = false;
  std::string value;                // JSON text when ok
  std::optional<ErrorCode> error;   // set iff !ok
  std::string error_message;
  int attempts = 0;
  Duration duration{};
  bool maybe_executed = false;      // non-idempotent, timed out/cancelled after starting

  std::string to_json() const;      // the tool message content the model sees
};

}  // namespace keel::agent
