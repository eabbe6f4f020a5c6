#include "keel/live/serve/live_run.h"

#include <chrono>
#include <memory>
#include <stdexcept>
#include <vector>

#include "keel/live/asio.h"
#include "keel/live/asio_scheduler.h"
#include "keel/live/http_client.h"
#include "keel/live/http_transport.h"
#include "keel/live/serve/fault_server.h"
#include "keel/scenarios/run_environment.h"

namespace keel::live::serve {
namespace {

// Asks every request to stream (LiveRunOptions::stream).
class StreamingTransport final : public model::ModelTransport {
 public:
  explicit StreamingTransport(model::ModelTransport& inner) : inner_(inner) {}
  const model::TransportInfo& info() const noexcept override { return inner_.info(); }
  Task<Result<model::ChatResponse>> complete(model::ChatRequest request) override {
    request.stream = true;
    return inner_.complete(std::move(request));
  }
  Task<Status> stream(model::ChatRequest request, model::StreamSink& sink) override {
    return inner_.stream(std::move(request), sink);
  }

 private:
  model::ModelTransport& inner_;
};

// The transport's base URL: the POST URL without its endpoint path.
std::string transport_base_url(const ProviderEndpoint& e) {
  const std::string_view suffix = e.api == model::ProviderApi::anthropic ? "/messages" : "/chat/completions";
  if (e.url.size() > suffix.size() && e.url.compare(e.url.size() - suffix.size(), suffix.size(), suffix) == 0) {
    return e.url.substr(0, e.url.size() - suffix.size());
  }
  return e.base_url;
}

class LiveWorld final : public scenarios::RunEnvironment {
 public:
  LiveWorld(const scenarios::Scenario& scenario, std::uint64_t seed, LiveRunOptions live)
      : scale_(live.time_scale),
        server_(io_, scenario, ServeOptions{.time_scale = live.time_scale, .seed = seed}),
        sched_(io_),
        http_(sched_) {
    for (const scenarios::Provider& p : scenario.providers) {
      const ProviderEndpoint* endpoint = nullptr;
      for (const ProviderEndpoint& e : server_.endpoints()) {
        if (e.name == p.name) endpoint = &e;
      }
      if (!endpoint) throw std::logic_error("keel serve has no endpoint for provider " + p.name);
      names_.push_back(p.name);
      http_transports_.push_back(std::make_unique<HttpModelTransport>(
          http_, ProviderConfig{.name = p.name,
                                .api = endpoint->api,
                                .base_url = transport_base_url(*endpoint),
                                .api_key = Secret{"keel-live-run"},
                                .model = p.name,
                                .context_window = static_cast<int>(p.context_window)}));
      transports_.push_back(http_transports_.back().get());
      if (live.stream) {
        streaming_.push_back(std::make_unique<StreamingTransport>(*http_transports_.back()));
        transports_.back() = streaming_.back().get();
      }
    }
  }
  ~LiveWorld() override {
    sched_.destroy_detached_tasks();
    server_.stop();
    io_.poll();
  }

  Scheduler& scheduler() override { return sched_; }
  double time_scale() const override { return scale_; }
  model::ModelTransport& provider(std::size_t index) override { return *transports_.at(index); }
  scenarios::ProviderTally provider_tally(std::size_t index) const override {
    const ProviderCounters& c = server_.counters(names_.at(index));
    return {static_cast<std::int64_t>(c.requests), static_cast<std::int64_t>(c.max_prompt_tokens)};
  }
  void run_until(TimePoint until, const std::function<bool()>& done) override {
    while (!done() && sched_.now() < until) {
      io_.run_for(std::chrono::milliseconds{2});
      if (io_.stopped()) io_.restart();
    }
  }
  void finish() override { sched_.destroy_detached_tasks(); }

 private:
  double scale_;
  boost::asio::io_context io_;
  FaultServer server_;
  AsioScheduler sched_;
  HttpClient http_;
  std::vector<std::string> names_;
  std::vector<std::unique_ptr<HttpModelTransport>> http_transports_;
  std::vector<std::unique_ptr<StreamingTransport>> streaming_;
  std::vector<model::ModelTransport*> transports_;
};

}  // namespace

Result<scenarios::RunReport> run_scenario_live(const scenarios::Scenario& scenario, scenarios::RunOptions options,
                                               LiveRunOptions live) {
  if (!(live.time_scale > 0)) return Error(ErrorCode::invalid_request, "--time-scale must be > 0");
  std::unique_ptr<LiveWorld> world;
  try {
    world = std::make_unique<LiveWorld>(scenario, options.seed.value_or(scenario.seed), live);
  } catch (const std::exception& e) {
    return Error(ErrorCode::internal, std::string("cannot start the live world: ") + e.what());
  }
  options.environment = world.get();
  return scenarios::run_scenario(scenario, options);
}

}  // namespace keel::live::serve
