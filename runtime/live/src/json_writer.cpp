#include "json_writer.h"

#include <charconv>

namespace keel::live {

void JsonWriter::integer(std::int64_t n) {
  separate();
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, n);
  out_.append(buf, r.ptr);
}

}  // namespace keel::live
