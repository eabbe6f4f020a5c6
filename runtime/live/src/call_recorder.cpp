#include "keel/live/call_recorder.h"

#include <algorithm>
#include <cstdio>

#include "json_writer.h"
#include "keel/core/sleep.h"

namespace keel::live {

namespace {

// Forwards to the wrapped transport and records each request as one attempt.
class RecordingTransport final : public model::ModelTransport {
 public:
  RecordingTransport(AttemptRecorder& recorder, model::ModelTransport& inner) : recorder_(recorder), inner_(inner) {}

  const model::TransportInfo& info() const noexcept override { return inner_.info(); }

  Task<Result<model::ChatResponse>> complete(model::ChatRequest request) override {
    return recorded(inner_.complete(std::move(request)));
  }

  // A streamed attempt: recorded as the transport saw it (the body ended cleanly, or how it
  // failed). An answer the ModelManager then refuses as incomplete shows as ok here and as
  // the call's error.
  Task<Status> stream(model::ChatRequest request, model::StreamSink& sink) override {
    return recorded(inner_.stream(std::move(request), sink));
  }

 private:
  // One attempt (a task not started yet: tasks start when awaited) as one record.
  template <class R>
  Task<R> recorded(Task<R> attempt) {
    Scheduler& sched = co_await this_task::scheduler();
    const Deadline deadline = co_await this_task::deadline();
    const std::size_t index = recorder_.begin(inner_.info().name, sched.now());
    R r = co_await std::move(attempt);
    recorder_.end(index, sched.now(), outcome(r ? std::nullopt : std::optional<Error>(r.error()), deadline, sched.now()));
    co_return r;
  }

  // Cancelled because its deadline passed: the runtime counted a timeout, so do we.
  std::optional<Error> outcome(std::optional<Error> error, const Deadline& deadline, TimePoint now) const {
    if (error && error->code == ErrorCode::cancelled && deadline.passed(now)) {
      return Error{ErrorCode::timeout, "abandoned at its deadline"}.with_provider(inner_.info().name);
    }
    return error;
  }

  AttemptRecorder& recorder_;
  model::ModelTransport& inner_;
};

std::string milliseconds(Duration d) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(d.count()) / 1e6);
  return buf;
}

void write_error(JsonWriter& w, const std::optional<Error>& e) {
  if (!e) {
    w.null();
    return;
  }
  w.begin_object();
  w.key("code");
  w.string(to_string(e->code));
  w.key("message");
  w.string(e->describe());
  w.end_object();
}

void write_attempt(JsonWriter& w, const AttemptRecord& a) {
  w.begin_object();
  w.key("model");
  w.string(a.model);
  w.key("start_ms");
  w.raw(milliseconds(a.start));
  w.key("duration_ms");
  w.raw(milliseconds(a.duration));
  w.key("outcome");
  w.string(a.outcome());
  w.key("error");
  write_error(w, a.error);
  w.end_object();
}

void write_usage(JsonWriter& w, const model::Usage& u) {
  w.begin_object();
  w.key("prompt_tokens");
  w.integer(u.prompt_tokens);
  w.key("completion_tokens");
  w.integer(u.completion_tokens);
  w.end_object();
}

void write_answer(JsonWriter& w, const model::ChatResponse& r, std::string_view provider_label) {
  w.key("answer");
  w.string(r.message.content);
  w.key("model");
  w.string(r.model);
  w.key("provider");
  w.string(provider_label.empty() ? std::string_view{r.provider} : provider_label);
  w.key("usage");
  write_usage(w, r.usage);
}

}  // namespace

std::string_view AttemptRecord::outcome() const noexcept { return error ? to_string(error->code) : "ok"; }

std::unique_ptr<model::ModelTransport> AttemptRecorder::wrap(model::ModelTransport& inner) {
  return std::make_unique<RecordingTransport>(*this, inner);
}

void AttemptRecorder::on_event(const Event& e) {
  if (e.kind == ev::breaker_refused) {
    const std::size_t i = begin(std::string{e.text(key::target)}, e.time);
    end(i, e.time, Error{ErrorCode::circuit_open, "the model's circuit breaker is open: no request was sent"});
  } else if (e.kind == ev::model_stream_timeout) {
    stream_timed_out(e.text(key::model), e.text(key::limit), e.time);
  }
}

// The runtime gave up on the model's latest stream: whether the transport's task has already
// ended (cancelled) or ends later, the attempt is a timeout, ended now.
void AttemptRecorder::stream_timed_out(std::string_view model, std::string_view limit, TimePoint now) {
  for (std::size_t i = attempts_.size(); i-- > 0;) {
    AttemptRecord& a = attempts_[i];
    if (a.model != model) continue;
    if (a.finished && !(a.error && a.error->code == ErrorCode::cancelled)) return;
    a.finished = false;
    end(i, now, Error{ErrorCode::timeout, "the runtime's " + std::string{limit} + " timeout ended the stream"}
                    .with_provider(std::string{model}));
    return;
  }
}

bool AttemptRecorder::finished_since(std::size_t from) const noexcept {
  return std::all_of(attempts_.begin() + static_cast<std::ptrdiff_t>(std::min(from, attempts_.size())), attempts_.end(),
                     [](const AttemptRecord& a) { return a.finished; });
}

std::size_t AttemptRecorder::begin(std::string model, TimePoint now) {
  attempts_.push_back(AttemptRecord{.model = std::move(model), .start = now - origin_});
  return attempts_.size() - 1;
}

void AttemptRecorder::end(std::size_t index, TimePoint now, std::optional<Error> error) {
  AttemptRecord& a = attempts_.at(index);
  if (a.finished) return;
  a.duration = std::max(Duration::zero(), (now - origin_) - a.start);
  a.error = std::move(error);
  a.finished = true;
}

Task<CallRecord> record_call(model::ModelManager& manager, AttemptRecorder& recorder, model::ChatRequest request,
                             Duration settle) {
  Scheduler& sched = co_await this_task::scheduler();
  const std::size_t first = recorder.attempts().size();
  CallRecord out;
  out.start = sched.now() - recorder.origin();
  const model::Usage failed_before = manager.counters().failed_attempts_usage;
  out.result = co_await manager.complete(std::move(request));
  const model::Usage& failed_after = manager.counters().failed_attempts_usage;
  out.failed_attempts_usage.prompt_tokens = failed_after.prompt_tokens - failed_before.prompt_tokens;
  out.failed_attempts_usage.completion_tokens = failed_after.completion_tokens - failed_before.completion_tokens;
  // Attempts the call abandoned end as soon as their cancellation is delivered; wait for that.
  const TimePoint ended = sched.now();
  for (int yields = 0; !recorder.finished_since(first) && yields < 16; ++yields) co_await yield_now();
  while (!recorder.finished_since(first) && sched.now() - ended < settle) {
    if (Status s = co_await sleep_for(std::chrono::milliseconds{1}); !s) break;
  }
  const auto& all = recorder.attempts();
  out.attempts.assign(all.begin() + static_cast<std::ptrdiff_t>(first), all.end());
  for (std::size_t i = 0; i < out.attempts.size(); ++i) {
    AttemptRecord& a = out.attempts[i];
    if (a.finished) continue;
    a.duration = (sched.now() - recorder.origin()) - a.start;
    a.error = Error{ErrorCode::cancelled, "still running when the call returned"}.with_provider(a.model);
    a.finished = true;
    recorder.end(first + i, sched.now(), a.error);  // a late end must not reopen it
  }
  std::stable_sort(out.attempts.begin(), out.attempts.end(),
                   [](const AttemptRecord& a, const AttemptRecord& b) { return a.start < b.start; });
  co_return out;
}

std::string call_record_json(const CallRecord& record, std::string_view provider_label, bool with_start) {
  std::string out;
  JsonWriter w{out};
  w.begin_object();
  if (with_start) {
    w.key("start_ms");
    w.raw(milliseconds(record.start));
  }
  if (record.result) {
    write_answer(w, *record.result, provider_label);
  } else {
    for (const char* k : {"answer", "model", "provider", "usage"}) {
      w.key(k);
      w.null();
    }
  }
  w.key("failed_attempts_usage");
  write_usage(w, record.failed_attempts_usage);
  w.key("attempts");
  w.begin_array();
  for (const AttemptRecord& a : record.attempts) write_attempt(w, a);
  w.end_array();
  w.key("error");
  write_error(w, record.result ? std::nullopt : std::optional<Error>{record.result.error()});
  w.end_object();
  return out;
}

}  // namespace keel::live
