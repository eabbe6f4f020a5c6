// keel/core/json_check.h — is this text one valid JSON value, and of which type? No DOM built.
//
// Purpose: the agent checks every tool call's arguments (must be a JSON object) and every tool
// result (spliced into the tool message when it is JSON) — twice per simulated step. Building
// a DOM for a yes/no answer cost more than the rest of the tool path; this is one pass over
// the bytes, allocation-free unless containers nest more than 15 deep. It is the validating
// sink of keel's one JSON scanner (detail/json_scanner.h), whose other sink builds
// JsonDocument (json_document.h): the same grammar accepts for both.
//
// Contract:
//  - `json_type(text)` is the type of the single JSON value `text` holds (RFC 8259: optional
//    whitespace around it, nothing else), or nullopt if it is not valid JSON. Strings must be
//    valid UTF-8 (no overlongs, no surrogates) with valid escapes, including \u surrogate
//    pairs; control bytes must be escaped; numbers follow the RFC grammar.
//  - It accepts exactly what nlohmann::json::accept accepts (a property test checks this),
//    including rejecting a number whose magnitude overflows a double (1e400), except that a
//    leading UTF-8 byte-order mark and any NUL byte (nlohmann reads one as the end of the
//    input, so it accepts "1\0garbage") are rejected here.
//
// Example:
//   if (json_type(arguments) != JsonType::object) reject("arguments must be a JSON object");
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "keel/core/enum_names.h"

namespace keel {

// The names are nlohmann's type_name words. keel/core/enum_names.h.
#define KEEL_JSON_TYPE(X) \
  X(null, "null") X(boolean, "boolean") X(number, "number") X(string, "string") X(array, "array") X(object, "object")
KEEL_ENUM_WITH_NAMES(JsonType, kJsonTypeNames, KEEL_JSON_TYPE);

constexpr std::string_view to_string(JsonType t) noexcept { return enum_name(kJsonTypeNames, t); }

std::optional<JsonType> json_type(std::string_view text) noexcept;

inline bool is_json(std::string_view text) noexcept { return json_type(text).has_value(); }

}  // namespace keel
