// keel/live/call_recorder.h — what one ModelManager call did, attempt by attempt (`keel call`).
//
// Purpose: `keel call` shows a user how keel's policies treated their endpoint: which models
// were tried, when, for how long, and how each attempt ended. The recording is runtime-level
// (a transport decorator and an event sink), so it works on any Scheduler: the simulator in
// the unit tests, the AsioScheduler in `keel call`.
//
// Contract:
//  - AttemptRecorder::wrap(t) returns a transport that forwards to `t` and appends one
//    AttemptRecord per `complete` or `stream` call (a request that reached the transport; a
//    stream is recorded as the transport saw its body end): its model (the
//    transport's name), start and duration (from the recorder's origin, on the awaiting
//    task's scheduler) and its end: answered, or its Error. An attempt abandoned at its
//    deadline (the runtime's attempt, call or first-token/idle timeout cancelled it) is
//    recorded as `timeout`, as the runtime counted it; so is a stream the runtime's watchdog
//    gave up on (a `model.stream.timeout` event: the stream did not open, its first token or
//    its next event did not come in time), ended at that event; one cancelled for any other
//    reason (a hedge that lost, the caller's cancellation) as `cancelled`.
//  - As an EventSink (pass it to the ModelManager), a `breaker.refused` event appends a
//    zero-length attempt with outcome `circuit_open`: the model was skipped without a request.
//  - `record_call(manager, recorder, request)` runs one call and returns its CallRecord: its
//    start, its result, and the attempts it made in start order. An attempt the call
//    abandoned is waited for (it ends within the current instant on cancellation; at most
//    `settle` of scheduler time), so every record is finished when it is returned.
//  - `call_record_json`: one JSON object, `{"answer", "model", "provider", "usage",
//    "attempts": [{"model", "start_ms", "duration_ms", "outcome", "error"}], "error"}`, plus
//    `"start_ms"` first when `with_start`. answer/model/provider/usage are null on failure;
//    error is null on success, else `{"code", "message"}` (message: the whole cause chain,
//    Error::describe()). `provider` is `provider_label` when it is not empty (the endpoint),
//    else the transport that answered. Times are milliseconds with 3 decimals.
//  - Single-threaded; the recorder must outlive every wrapped transport's calls.
//
// Example:
//   AttemptRecorder rec{sched.now()};
//   auto a = rec.wrap(openai_primary), b = rec.wrap(openai_backup);
//   model::ModelManager chain{config, {a.get(), b.get()}, Rng{1}, &rec};
//   CallRecord r = co_await record_call(chain, rec, std::move(request));
//   std::cout << call_record_json(r, "api.openai.com", false) << "\n";
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keel/core/event.h"
#include "keel/core/result.h"
#include "keel/core/task.h"
#include "keel/model/model_manager.h"
#include "keel/model/transport.h"

namespace keel::live {

struct AttemptRecord {
  std::string model;
  Duration start{};              // since the recorder's origin
  Duration duration{};
  std::optional<Error> error;    // nullopt: answered
  bool finished = false;

  // "ok", or the error's code name ("timeout", "network", "circuit_open", ...).
  std::string_view outcome() const noexcept;
};

class AttemptRecorder final : public EventSink {
 public:
  explicit AttemptRecorder(TimePoint origin) noexcept : origin_(origin) {}

  std::unique_ptr<model::ModelTransport> wrap(model::ModelTransport& inner);
  void on_event(const Event& e) override;

  const std::vector<AttemptRecord>& attempts() const noexcept { return attempts_; }
  TimePoint origin() const noexcept { return origin_; }
  // True when every attempt from index `from` on has ended.
  bool finished_since(std::size_t from) const noexcept;

  // Used by the wrapping transport: opens a record, closes it.
  std::size_t begin(std::string model, TimePoint now);
  void end(std::size_t index, TimePoint now, std::optional<Error> error);

 private:
  void stream_timed_out(std::string_view model, std::string_view limit, TimePoint now);

  TimePoint origin_;
  std::vector<AttemptRecord> attempts_;
};

struct CallRecord {
  Duration start{};  // since the recorder's origin
  Result<model::ChatResponse> result = Error{ErrorCode::internal, "not run"};
  std::vector<AttemptRecord> attempts;
  // Tokens spent by this call's failed streamed attempts (billed, not in the answer's usage):
  // the prompt of each attempt whose stream opened, and the content tokens it delivered.
  model::Usage failed_attempts_usage;
};

// Runs one call through `manager` (whose transports `recorder` wrapped).
Task<CallRecord> record_call(model::ModelManager& manager, AttemptRecorder& recorder, model::ChatRequest request,
                             Duration settle = std::chrono::seconds{1});

std::string call_record_json(const CallRecord& record, std::string_view provider_label, bool with_start);

}  // namespace keel::live
