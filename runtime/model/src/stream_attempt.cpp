// ModelManager::stream_attempt: one streamed attempt under the stream policy (model_manager.h,
// "Streams"): the transport's events go through the shared decoder (stream.h) while a
// watchdog holds the attempt to its opening, first-token and idle limits.
#include <memory>
#include <string_view>

#include "keel/core/sleep.h"
#include "keel/core/when.h"
#include "keel/model/stream.h"
#include "stream_call.h"

namespace keel::model {

namespace {

// The sink the transport feeds, and the clock the watchdog reads. Shared: after a timeout the
// transport's task is cancelled but finishes on its own, after the attempt has returned.
class StreamWatch final : public StreamSink {
 public:
  StreamWatch(Scheduler& sched, ProviderApi api, TimePoint start, std::optional<Duration> open_limit,
              const StreamPolicy& policy)
      : sched_(sched), decoder_(make_stream_decoder(api)), start_(start), last_event_(start),
        open_limit_(open_limit), first_token_(policy.first_token), idle_(policy.idle) {}

  Status on_event(const StreamEvent& e) override {
    if (closed_) return Error{ErrorCode::cancelled, "the stream's attempt has ended"};
    last_event_ = sched_.now();
    return decoder_->on_event(e);
  }

  // When the stream fails for silence given what arrived so far; TimePoint::max() for never.
  TimePoint deadline() const noexcept {
    const StreamProgress& p = decoder_->progress();
    constexpr TimePoint never = TimePoint::max();
    if (!p.opened) {
      TimePoint d = open_limit_ ? saturating_add(start_, *open_limit_) : never;
      if (first_token_) d = std::min(d, saturating_add(start_, *first_token_));
      return d;
    }
    if (p.content_deltas == 0 && first_token_) return saturating_add(start_, *first_token_);
    return idle_ ? saturating_add(last_event_, *idle_) : never;
  }

  // Which limit a timeout now is: "attempt" (the stream did not open), "first_token", "idle".
  std::string_view timeout_limit() const noexcept {
    const StreamProgress& p = decoder_->progress();
    if (!p.opened && !(first_token_ && (!open_limit_ || *first_token_ < *open_limit_))) return "attempt";
    if (p.content_deltas == 0 && first_token_) return "first_token";
    return "idle";
  }
  Error timeout_error() const {
    const std::string_view limit = timeout_limit();
    if (limit == "attempt") return Error{ErrorCode::timeout, "no response within the attempt timeout"};
    if (limit == "first_token") return Error{ErrorCode::timeout, "no first token within the first-token timeout"};
    return Error{ErrorCode::timeout, "stream idle longer than the idle timeout"};
  }
  bool has_idle() const noexcept { return idle_.has_value(); }
  bool idle_timeout() const noexcept { return decoder_->progress().content_deltas > 0 || !first_token_; }

  TimePoint wake_by(TimePoint deadline, TimePoint now) const noexcept {
    return idle_ ? std::min(deadline, saturating_add(now, *idle_)) : deadline;
  }
  StreamDecoder& decoder() noexcept { return *decoder_; }
  void close() noexcept { closed_ = true; }

 private:
  Scheduler& sched_;
  std::unique_ptr<StreamDecoder> decoder_;
  TimePoint start_, last_event_;
  std::optional<Duration> open_limit_, first_token_, idle_;
  bool closed_ = false;
};

Task<Result<ChatResponse>> run_stream(ModelTransport* transport, ChatRequest request, std::shared_ptr<StreamWatch> watch) {
  Status s = co_await transport->stream(std::move(request), *watch);
  if (!s) co_return std::move(s).error();
  co_return watch->decoder().finish();
}

Task<Result<ChatResponse>> watchdog(std::shared_ptr<StreamWatch> watch) {
  Scheduler& sched = co_await this_task::scheduler();
  for (;;) {
    const TimePoint d = watch->deadline();
    if (d == TimePoint::max() && !watch->has_idle()) {
      Status s = co_await until_cancelled();
      co_return s ? Error{ErrorCode::cancelled, "cancelled"} : std::move(s).error();
    }
    if (sched.now() >= d) co_return watch->timeout_error();
    // An event can move the deadline earlier (the idle limit replaces the first-token or the
    // opening one): never sleep past one idle period, then look again.
    if (Status s = co_await sleep_until(watch->wake_by(d, sched.now())); !s) co_return std::move(s).error();
  }
}

}  // namespace

Task<Result<ChatResponse>> ModelManager::stream_attempt(Slot& slot, const ChatRequest& request, StreamOutcome* outcome) {
  Scheduler& sched = co_await this_task::scheduler();
  const TraceIds ids = request.trace;  // the attempt's (the request may change once it ended)
  ++counters_.stream_attempts;
  ModelTransport* transport = slot.transport;
  auto watch = std::make_shared<StreamWatch>(sched, transport->info().api, sched.now(), config_.attempt_timeout,
                                             config_.stream);
  std::vector<Task<Result<ChatResponse>>> racers;
  racers.push_back(run_stream(transport, request, watch));
  racers.push_back(watchdog(watch));
  WhenAnyResult<Result<ChatResponse>> first = co_await when_any(std::move(racers));
  watch->close();
  Result<ChatResponse> r = std::move(first.value);
  const StreamProgress& p = watch->decoder().progress();
  counters_.stream_events_skipped += static_cast<std::uint64_t>(p.skipped);
  *outcome = StreamOutcome{p.opened, p.content_deltas, {}, false};
  if (r) {
    r->provider = transport->info().name;
    if (r->model.empty()) r->model = request.model.empty() ? transport->info().model : request.model;
    co_return r;
  }
  Error& e = r.error();
  if (e.provider.empty()) e.provider = transport->info().name;
  if (first.index == 1 && e.code == ErrorCode::timeout) {
    outcome->timed_out = true;
    ++(watch->idle_timeout() ? counters_.idle_timeouts : counters_.first_token_timeouts);
    emit(events_, sched.now(), ev::model_stream_timeout,
         {{key::model, transport->info().name}, {key::limit, watch->timeout_limit()}}, &ids);
  }
  if (p.content_deltas > 0) outcome->partial = watch->decoder().partial_content();
  co_return r;
}

}  // namespace keel::model
