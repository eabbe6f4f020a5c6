#include "keel/live/sse_parser.h"

namespace keel::live {

Result<std::vector<SseEvent>> SseParser::feed(std::string_view bytes) {
  if (failed_) return Error{ErrorCode::malformed_response, "event stream: line too long"};
  std::vector<SseEvent> out;
  for (char c : bytes) {
    if (skip_lf_) {
      skip_lf_ = false;
      if (c == '\n') continue;
    }
    if (c == '\r' || c == '\n') {
      skip_lf_ = c == '\r';
      take_line(out);
      continue;
    }
    if (line_.size() >= max_line_) {
      failed_ = true;
      return Error{ErrorCode::malformed_response, "event stream: line too long"};
    }
    line_.push_back(c);
  }
  return out;
}

void SseParser::take_line(std::vector<SseEvent>& out) {
  std::string line;
  line.swap(line_);
  if (line.empty()) {  // blank line: dispatch
    if (has_data_) out.push_back(std::move(pending_));
    pending_ = SseEvent{};
    has_data_ = false;
    has_event_ = false;
    return;
  }
  if (line.front() == ':') return;  // comment
  const auto colon = line.find(':');
  std::string_view field = std::string_view(line).substr(0, colon);
  std::string_view value;
  if (colon != std::string::npos) {
    value = std::string_view(line).substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    if (has_data_) pending_.data.push_back('\n');
    pending_.data.append(value);
    has_data_ = true;
  } else if (field == "event") {
    pending_.event = value.empty() ? "message" : std::string(value);
    has_event_ = true;
  }
}

}  // namespace keel::live
