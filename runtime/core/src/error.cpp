// keel/core/error.cpp — code names, describe(), and Result's misuse handler.
#include "keel/core/error.h"

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <ostream>

#include "keel/core/result.h"

namespace keel {

std::optional<ErrorCode> error_code_from_string(std::string_view name) noexcept {
  for (const auto& i : kErrorCodes)
    if (i.name == name) return i.code;
  return std::nullopt;
}

std::ostream& operator<<(std::ostream& os, ErrorCode c) { return os << to_string(c); }

const Error& Error::root_cause() const noexcept {
  const Error* e = this;
  while (e->cause) e = e->cause.get();
  return *e;
}

const Error* Error::find(ErrorCode c) const noexcept {
  for (const Error* e = this; e; e = e->cause.get())
    if (e->code == c) return e;
  return nullptr;
}

namespace {

void append_int(std::string& out, long long v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// "1500ms" when whole milliseconds, else "<n>ns".
void append_duration(std::string& out, Duration d) {
  const auto ns = d.count();
  if (ns % 1'000'000 == 0) {
    append_int(out, ns / 1'000'000);
    out += "ms";
  } else {
    append_int(out, ns);
    out += "ns";
  }
}

void describe_one(std::string& out, const Error& e) {
  out += to_string(e.code);
  if (e.http_status != 0) {
    out += ' ';
    append_int(out, e.http_status);
  }
  if (!e.message.empty()) {
    out += ": ";
    out += e.message;
  }
  const bool has_provider = !e.provider.empty();
  if (has_provider || e.retry_after) {
    out += " (";
    if (has_provider) out += "provider=" + e.provider;
    if (e.retry_after) {
      if (has_provider) out += ", ";
      out += "retry_after=";
      append_duration(out, *e.retry_after);
    }
    out += ')';
  }
}

}  // namespace

std::string Error::describe() const {
  std::string out;
  for (const Error* e = this; e; e = e->cause.get()) {
    if (e != this) out += " <- ";
    describe_one(out, *e);
  }
  return out;
}

bool operator==(const Error& a, const Error& b) noexcept {
  if (a.code != b.code || a.http_status != b.http_status || a.provider != b.provider ||
      a.retry_after != b.retry_after || a.should_retry != b.should_retry || a.stated_context != b.stated_context ||
      a.message != b.message)
    return false;
  if (a.cause == b.cause) return true;  // same node, or both empty
  if (!a.cause || !b.cause) return false;
  return *a.cause == *b.cause;
}

std::ostream& operator<<(std::ostream& os, const Error& e) { return os << e.describe(); }

namespace detail {

void bad_result_access(const char* what, const Error* err) noexcept {
  if (err)
    std::fprintf(stderr, "keel: %s: %s\n", what, err->describe().c_str());
  else
    std::fprintf(stderr, "keel: %s\n", what);
  std::abort();
}

}  // namespace detail
}  // namespace keel
