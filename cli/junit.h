// cli/junit.h — JUnit XML reports, the format CI systems (GitHub Actions reporters, GitLab,
// Jenkins) read test results from.
//
// Contract: one <testsuites> with one <testsuite>; each case has a name and classname and
// at most one of failure (the test ran and did not conform) or error (it could not run: a
// malformed file, an internal error). Text is XML-escaped; characters XML 1.0 forbids
// (control characters other than tab, newline, carriage return) are replaced by '?'.
//
// Example:
//   std::vector<JUnitCase> cases{{.name = "hanging_primary[keel_default,seed=1]", .classname = "scenarios/suite"}};
//   cases[0].failure = JUnitFailure{"expected to pass but failed", "success_rate_min: 9/10 ..."};
//   write_junit(file, "keel conformance", cases);
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace keel::cli {

struct JUnitFailure {
  std::string message;  // one line
  std::string text;     // details, any number of lines
};

struct JUnitCase {
  std::string name;
  std::string classname;
  double seconds = 0;
  std::optional<JUnitFailure> failure;  // ran, did not conform
  std::optional<JUnitFailure> error;    // could not run
  std::string system_out;
};

void write_junit(std::ostream& os, std::string_view suite_name, const std::vector<JUnitCase>& cases);

std::string xml_escape(std::string_view text);

}  // namespace keel::cli
