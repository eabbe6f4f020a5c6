// keel/live/sse_parser.h — SseParser: server-sent events from a byte stream, incrementally.
//
// Purpose: streamed chat completions arrive as SSE (`event:`/`data:` lines, blank line ends an
// event) split across TCP reads at arbitrary byte positions; this reassembles the events.
//
// Contract (the WHATWG event-stream rules that the provider APIs use):
//  - Lines end with LF, CRLF or CR, even when a CRLF is split across two `feed` calls.
//  - `data:` lines of one event are joined with '\n'; one leading space after the colon is
//    dropped; `event:` sets the type (default "message"); lines starting with ':' are comments;
//    `id:`, `retry:` and unknown fields are ignored. A blank line dispatches the event if it
//    has data (an event with no data lines is dropped, as in browsers).
//  - Bytes after the last blank line stay buffered until more arrive; `finish()` reports
//    whether an incomplete event was left over.
//  - A line longer than `max_line_bytes` is malformed_response (a broken server must not make
//    us buffer forever). Pure: no I/O, no Asio; safe to fuzz.
//
// Example:
//   SseParser sse;
//   for (SseEvent& e : sse.feed("event: ping\ndata: {}\n\ndata: [DO")) handle(e);   // one event
//   for (SseEvent& e : sse.feed("NE]\n\n")) handle(e);                              // data "[DONE]"
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "keel/core/result.h"
#include "keel/model/stream.h"

namespace keel::live {

// One event: keel::model's StreamEvent (the stream decoder's input, model/stream.h).
using SseEvent = model::StreamEvent;

class SseParser {
 public:
  explicit SseParser(std::size_t max_line_bytes = 16u << 20) : max_line_(max_line_bytes) {}

  // The events completed by these bytes, in order; an error once a line is too long (the
  // parser then stays failed).
  Result<std::vector<SseEvent>> feed(std::string_view bytes);
  // True when nothing but whole events has been fed (no partial line or undelivered fields).
  bool at_boundary() const noexcept { return line_.empty() && !has_data_ && !has_event_; }

 private:
  void take_line(std::vector<SseEvent>& out);

  std::size_t max_line_;
  std::string line_;
  bool skip_lf_ = false;  // the previous chunk ended with CR: a leading LF belongs to it
  bool failed_ = false;
  SseEvent pending_;
  bool has_data_ = false;
  bool has_event_ = false;
};

}  // namespace keel::live
