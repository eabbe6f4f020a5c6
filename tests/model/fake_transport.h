// A scripted ModelTransport for tests: each call takes the next scripted step (latency + an
// answer, an error, or a hang); the last step repeats. Records what it received.
#pragma once

#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "keel/core/sleep.h"
#include "keel/model/transport.h"

namespace keel::model::testing {

struct Step {
  Duration latency{};
  std::optional<ErrorCode> error;  // nullopt: success
  bool hang = false;
  int status = 0;
  std::optional<Duration> retry_after;

  static Step ok(Duration latency) { return {latency, std::nullopt, false}; }
  static Step fail(ErrorCode c, Duration latency = {}, int status = 0) { return {latency, c, false, status}; }
  static Step hangs() { return {{}, std::nullopt, true}; }
};

class FakeTransport final : public ModelTransport {
 public:
  FakeTransport(std::string name, std::vector<Step> script, int window = 128000)
      : info_{std::move(name), ProviderApi::openai, window, "fake"}, script_(std::move(script)) {}

  const TransportInfo& info() const noexcept override { return info_; }

  Task<Result<ChatResponse>> complete(ChatRequest request) override {
    Scheduler& s = co_await this_task::scheduler();
    received.push_back(request.prompt_tokens);
    traces.push_back(request.trace);
    started_at.push_back(s.now());
    const Step step = script_[std::min(calls_++, script_.size() - 1)];
    if (step.hang) {
      Status st = co_await until_cancelled();
      ++cancelled;
      co_return st.error();
    }
    if (Status st = co_await sleep_for(step.latency); !st) {
      ++cancelled;
      co_return st.error();
    }
    if (step.error) {
      Error e{*step.error, "scripted"};
      e.provider = info_.name;
      e.http_status = step.status;
      e.retry_after = step.retry_after;
      co_return e;
    }
    ChatResponse r;
    r.message = Message::assistant("answer from " + info_.name);
    r.usage = {request.prompt_tokens, 10};
    co_return r;
  }

  std::vector<int> received;           // prompt tokens of each request that reached us
  std::vector<TraceIds> traces;        // ... and its trace ids
  std::vector<TimePoint> started_at;
  int cancelled = 0;

 private:
  TransportInfo info_;
  std::vector<Step> script_;
  std::size_t calls_ = 0;
};

}  // namespace keel::model::testing
