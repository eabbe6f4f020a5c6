// keel/config/validation.h — one problem found in a scenario or configuration file.
//
// Purpose: the error type of every keel file reader (the scenario loader, the runtime-block
// loader): where the problem is, as an RFC 6901 JSON pointer, and what was expected and found.
//
// Contract: `pointer` is "" for the whole document (syntax errors, unreadable files); `line`
// and `column` are set only for JSON syntax errors. to_string() is what `keel validate` and
// `keel config` print after the file name.
//
// Example:
//   for (const ValidationError& e : result.errors) std::cerr << file << ": " << e.to_string() << "\n";
//   //  svc.json: /retry/max_attempts: expected an integer >= 1, found 0
#pragma once

#include <string>

namespace keel::config {

struct ValidationError {
  std::string pointer;  // RFC 6901, "" = the whole document; e.g. "/faults/2/kind"
  std::string message;  // what was expected and what was found
  int line = 0;         // 1-based, for JSON syntax errors only (0 otherwise)
  int column = 0;       // 1-based byte column, syntax errors only
  // "<pointer>: <message>", or "line L, column C: <message>" for syntax errors.
  std::string to_string() const;
  friend bool operator==(const ValidationError&, const ValidationError&) = default;
};

}  // namespace keel::config
