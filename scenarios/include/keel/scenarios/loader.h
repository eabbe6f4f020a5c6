// keel/scenarios/loader.h — read and validate a scenario file; report every error at once.
//
// Purpose: turn scenario JSON into a valid `Scenario` (scenario.h) or into the complete list
// of what is wrong with it, each error located by an RFC 6901 JSON pointer and saying what was
// expected and what was found. `keel validate` / `keel run` print these and exit 2.
//
// Contract:
//  - Never throws and never crashes, whatever the input (fuzzed: scenarios/fuzz/).
//  - Success iff no error: `scenario` is engaged exactly when `errors` is empty.
//  - Errors come in document order of the checks: syntax first (then nothing else is
//    checked), then each field as the format lists it, then cross-references. A field whose
//    value is wrong does not stop the checks of its siblings.
//  - Rejected: invalid JSON (with line and column), duplicate object keys, wrong types,
//    unknown fields at any depth (with a "did you mean" when one is close), missing required
//    fields (pointer = where the field belongs), malformed durations (duration.h), unknown
//    enum strings and error codes, out-of-range numbers, unknown or duplicate names, fault
//    kinds or kind-specific fields that do not fit the target/kind, keel_scenario != 1.
//  - Messages read "expected <what>, found <JSON value>"; found strings are quoted and cut to
//    60 bytes (on a UTF-8 boundary); objects and arrays are named, not dumped.
//
// Example:
//   LoadResult r = load_scenario(text, "scenario.json");
//   if (!r) { std::cerr << r.describe(); return 2; }
//   //  scenario.json: /faults/2/kind: expected one of "rate_limit", ..., found "boom"
//   //  scenario.json: /providers/0/latency/fixed: expected a duration like "250ms", found "fast"
//   const Scenario& s = r.value();
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "keel/config/validation.h"
#include "keel/scenarios/scenario.h"

namespace keel::scenarios {

// Each problem found: JSON pointer, what was expected and found (keel/config/validation.h,
// shared with the runtime-block loader a service uses).
using config::ValidationError;

struct LoadResult {
  std::string source;                    // the source name given to the loader
  std::optional<Scenario> scenario;      // engaged iff errors.empty()
  std::vector<ValidationError> errors;

  bool ok() const noexcept { return scenario.has_value(); }
  explicit operator bool() const noexcept { return ok(); }
  // Requires ok() (std::bad_optional_access otherwise).
  const Scenario& value() const& { return scenario.value(); }
  Scenario&& value() && { return std::move(scenario).value(); }
  // One line per error, "<source>: <error.to_string()>\n".
  std::string describe() const;
  // Whether some error is at exactly `pointer`.
  bool has_error_at(std::string_view pointer) const noexcept;
};

// Parses and validates scenario JSON text. `source_name` only labels describe().
LoadResult load_scenario(std::string_view json_text, std::string_view source_name = "<scenario>");
// Reads the file at `path` and loads it (an unreadable file is one error at pointer "").
LoadResult load_scenario_file(const std::filesystem::path& path);
// Validates an already parsed document (no syntax or duplicate-key checks: the parser lost
// that information). For tools that edit the JSON tree, e.g. the shrinker.
LoadResult load_scenario_json(const nlohmann::ordered_json& document, std::string_view source_name = "<scenario>");

}  // namespace keel::scenarios
