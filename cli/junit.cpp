#include "junit.h"

#include <cstdio>

namespace keel::cli {

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\t':
      case '\n':
      case '\r': out += ch; break;
      default: out += c < 0x20 || c == 0x7f ? '?' : ch;
    }
  }
  return out;
}

namespace {

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s);
  return buf;
}

void write_problem(std::ostream& os, const char* tag, const JUnitFailure& f, const char* type) {
  os << "      <" << tag << " message=\"" << xml_escape(f.message) << "\" type=\"" << type << "\">"
     << xml_escape(f.text) << "</" << tag << ">\n";
}

}  // namespace

void write_junit(std::ostream& os, std::string_view suite_name, const std::vector<JUnitCase>& cases) {
  std::size_t failures = 0, errors = 0;
  double total = 0;
  for (const JUnitCase& c : cases) {
    failures += c.failure.has_value();
    errors += c.error.has_value();
    total += c.seconds;
  }
  const std::string name = xml_escape(suite_name);
  os << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  os << "<testsuites name=\"" << name << "\" tests=\"" << cases.size() << "\" failures=\"" << failures
     << "\" errors=\"" << errors << "\" time=\"" << seconds(total) << "\">\n";
  os << "  <testsuite name=\"" << name << "\" tests=\"" << cases.size() << "\" failures=\"" << failures
     << "\" errors=\"" << errors << "\" skipped=\"0\" time=\"" << seconds(total) << "\">\n";
  for (const JUnitCase& c : cases) {
    os << "    <testcase name=\"" << xml_escape(c.name) << "\" classname=\"" << xml_escape(c.classname)
       << "\" time=\"" << seconds(c.seconds) << "\"";
    if (!c.failure && !c.error && c.system_out.empty()) {
      os << "/>\n";
      continue;
    }
    os << ">\n";
    if (c.error) write_problem(os, "error", *c.error, "error");
    if (c.failure) write_problem(os, "failure", *c.failure, "nonconforming");
    if (!c.system_out.empty()) os << "      <system-out>" << xml_escape(c.system_out) << "</system-out>\n";
    os << "    </testcase>\n";
  }
  os << "  </testsuite>\n</testsuites>\n";
}

}  // namespace keel::cli
