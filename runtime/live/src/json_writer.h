// json_writer.h — appends JSON text to a std::string (private to runtime/live).
//
// Purpose: the provider codecs build request bodies straight into the output string instead of
// building an nlohmann DOM and dumping it (one allocation for the body instead of one per key
// and value).
//
// Contract:
//  - The caller writes a well-formed sequence (the writer inserts commas, not structure checks).
//  - Strings are written by keel's one JSON string escaper (keel/core/json_escape.h): as
//    nlohmann's dump does for valid UTF-8; each byte that is not valid UTF-8 becomes U+FFFD.
//
// Example:
//   std::string body;
//   JsonWriter w{body};
//   w.begin_object();
//   w.key("model"); w.string("gpt-4o");
//   w.key("max_tokens"); w.integer(256);
//   w.end_object();                      // body == R"({"model":"gpt-4o","max_tokens":256})"
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "keel/core/json_escape.h"

namespace keel::live {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }
  void key(std::string_view k) {
    separate();
    append_string(k);
    out_ += ':';
    after_key_ = true;
  }
  void string(std::string_view s) {
    separate();
    append_string(s);
  }
  void integer(std::int64_t n);
  void boolean(bool b) { raw(b ? "true" : "false"); }
  void null() { raw("null"); }
  // Already serialized JSON (e.g. nlohmann dump of a schema).
  void raw(std::string_view json) {
    separate();
    out_ += json;
  }

 private:
  void open(char c) {
    separate();
    out_ += c;
    first_ = true;
  }
  void close(char c) {
    out_ += c;
    first_ = false;
  }
  void separate() {
    if (after_key_) {
      after_key_ = false;
    } else if (!first_) {
      out_ += ',';
    }
    first_ = false;
  }
  void append_string(std::string_view s) { append_json_string(out_, s); }

  std::string& out_;
  bool first_ = true;      // nothing written yet at this level
  bool after_key_ = false;  // a key was just written: no comma before its value
};

}  // namespace keel::live
