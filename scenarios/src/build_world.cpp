// Stage 1 of a scenario run (run_world.h): build the world — the scheduler, the providers
// (mock or the environment's), tools, model chains, and the workload's agents or workforce —
// and spawn its root tasks.
#include <algorithm>
#include <stdexcept>
#include <utility>

#include "keel/core/sleep.h"
#include "keel/core/spawn.h"
#include "keel/model/stream.h"
#include "keel/scenarios/limits.h"
#include "keel/scenarios/time_scale.h"
#include "keel/sim/responder.h"
#include "keel/workforce/tool_worker.h"
#include "run_world.h"

namespace keel::scenarios::detail {

// camel_parity's defect, reproduced on purpose: the source design's token-limit markers
// matched "exceeded your current quota", so a provider's quota error was read as a context
// overflow (and handled by summarizing, not by falling back).
class QuotaMistakenForOverflow final : public model::ModelTransport {
 public:
  explicit QuotaMistakenForOverflow(model::ModelTransport& inner) : inner_(inner) {}
  const model::TransportInfo& info() const noexcept override { return inner_.info(); }
  Task<Result<model::ChatResponse>> complete(model::ChatRequest request) override {
    Result<model::ChatResponse> r = co_await inner_.complete(std::move(request));
    if (!r && r.error().code == ErrorCode::quota_exhausted) co_return mistaken(std::move(r).error());
    co_return r;
  }
  Task<Status> stream(model::ChatRequest request, model::StreamSink& sink) override {
    Status s = co_await inner_.stream(std::move(request), sink);
    if (!s && s.error().code == ErrorCode::quota_exhausted) co_return mistaken(std::move(s).error());
    co_return s;
  }

 private:
  static Error mistaken(Error e) {
    e.code = ErrorCode::context_overflow;
    e.message = "quota error matched a token-limit marker (camel_parity): " + e.message;
    return e;
  }
  model::ModelTransport& inner_;
};

World::World() = default;
World::~World() = default;

int to_int(std::int64_t v, std::string_view field) {
  if (!std::in_range<int>(v)) throw std::out_of_range(std::string(field) + " " + std::to_string(v) + " does not fit an int");
  return static_cast<int>(v);
}

namespace {

// What an exception that escaped a run's task says ("std::bad_alloc").
std::string what_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "an exception that is not a std::exception";
  }
}

// A workforce task's input, like an agent step's default prompt (FORMAT.md).
constexpr std::int64_t kWorkforcePromptTokens = 500;

std::string padded_input(std::int64_t agent, std::int64_t step, std::int64_t tokens) {
  // A Scenario built in code skips the loader's bound; refuse here rather than ask the allocator
  // for exabytes (which aborts under a sanitizer instead of throwing).
  if (tokens > limits::kMaxPromptTokens) {
    throw std::length_error("prompt_tokens " + std::to_string(tokens) + " is over the bound " +
                            std::to_string(limits::kMaxPromptTokens));
  }
  // The approximate counter charges a token per 4 bytes: make the input `tokens` tokens long.
  const std::size_t bytes = static_cast<std::size_t>(std::max<std::int64_t>(tokens, 1)) * 4;
  std::string text;
  text.reserve(std::max<std::size_t>(bytes, 64));  // one allocation
  text.append("agent ").append(std::to_string(agent)).append(" step ").append(std::to_string(step)).append(": ");
  if (text.size() < bytes) text.append(bytes - text.size(), 'x');
  return text;
}

// Agent start times from the workload's `start`.
std::vector<Duration> start_times(const AgentsWorkload& w, Rng rng) {
  std::vector<Duration> out;
  Duration t{};
  for (std::int64_t i = 0; i < w.count; ++i) {
    switch (w.start.kind) {
      case Start::Kind::at: out.push_back(w.start.at); break;
      case Start::Kind::every: out.push_back(w.start.every * i); break;
      case Start::Kind::poisson:
        t += rng.exponential(Duration{static_cast<std::int64_t>(1e9 / w.start.poisson_per_s)});
        out.push_back(t);
        break;
    }
  }
  return out;
}

// Spawns a root task of the run, counted in w.running while it runs. An exception that escapes
// it is recorded as the run's error (never std::terminate): `who` names the task.
template <class T>
void start(World& w, Task<T> task, std::string who) {
  ++w.running;
  spawn(
      *w.scheduler, std::move(task), [&w](auto&&...) { --w.running; },
      [&w, who = std::move(who)](std::exception_ptr e) {
        --w.running;
        w.task_errors.add(who + ": " + what_of(e));
      });
}

Task<void> run_agent(World& w, agent::ChatAgent& agent, std::size_t first_task, std::int64_t index,
                     std::int64_t steps, Duration start, std::int64_t prompt_tokens) {
  (void)co_await sleep_until(TimePoint{start});
  Scheduler& sched = co_await this_task::scheduler();
  for (std::int64_t s = 0; s < steps; ++s) {
    TaskRecord& t = w.tasks[first_task + static_cast<std::size_t>(s)];
    t.began = true;
    t.started = sched.now();
    std::optional<ErrorCode> error;
    try {  // an exception (say bad_alloc) fails this step with a reason; the agent goes on
      Result<agent::StepResult> r = co_await agent.step(padded_input(index, s, prompt_tokens));
      if (!r) error = r.error().code;
    } catch (const std::exception& e) {
      error = ErrorCode::internal;
      w.task_errors.add("agent " + std::to_string(index + 1) + " step " + std::to_string(s + 1) + ": " + e.what());
    }
    TaskRecord& done = w.tasks[first_task + static_cast<std::size_t>(s)];
    done.ended = true;
    done.ended_at = sched.now();
    done.error = error;
  }
}

// The `workload.stop` extension: at `at`, stop every agent (running steps end cancelled).
Task<void> stop_agents_at(World& w, Duration at) {
  (void)co_await sleep_until(TimePoint{at});
  for (const auto& agent : w.agents) agent->stop();
}

// The transports of a chain of provider names (with camel_parity's quota quirk when asked).
std::vector<model::ModelTransport*> chain_of(World& w, const Scenario& scenario, const RuntimeConfig& cfg,
                                             const std::vector<std::string>& names) {
  std::vector<model::ModelTransport*> chain;
  for (const std::string& name : names) {
    for (std::size_t i = 0; i < scenario.providers.size(); ++i) {
      if (scenario.providers[i].name != name) continue;
      if (cfg.quota_mistaken_for_overflow) {
        w.quirks.push_back(std::make_unique<QuotaMistakenForOverflow>(*w.transports[i]));
        chain.push_back(w.quirks.back().get());
      } else {
        chain.push_back(w.transports[i]);
      }
    }
  }
  return chain;
}

workforce::RecoveryStrategy strategy_of(FailureStrategy s) {
  switch (s) {
    case FailureStrategy::retry: return workforce::RecoveryStrategy::retry;
    case FailureStrategy::skip: return workforce::RecoveryStrategy::skip;
    case FailureStrategy::fallback: return workforce::RecoveryStrategy::fallback;
    case FailureStrategy::terminate: return workforce::RecoveryStrategy::terminate;
  }
  return workforce::RecoveryStrategy::retry;
}

workforce::Mode mode_of(WorkforceMode m) {
  switch (m) {
    case WorkforceMode::parallel: return workforce::Mode::parallel;
    case WorkforceMode::pipeline: return workforce::Mode::pipeline;
    case WorkforceMode::loop: return workforce::Mode::loop;
  }
  return workforce::Mode::parallel;
}

// scenarios/FORMAT.md: the n-th retry of a task waits U[c/2, c], c = min(max(30 s, d), d * 2^(n-1)).
// Live runs (`scale` != 1) shrink the delays like every other runtime duration.
workforce::FailureHandlingConfig failure_handling_of(const FailureHandling& h, double scale) {
  workforce::FailureHandlingConfig f;
  f.max_retries = to_int(h.max_retries, "failure_handling.max_retries");
  f.retry_delay = {.base = h.retry_delay,
                   .max = std::max<Duration>(h.retry_delay, std::chrono::seconds{30}),
                   .multiplier = 2.0,
                   .jitter = policy::Jitter::equal};
  if (scale != 1.0) f.retry_delay = scaled(f.retry_delay, scale);
  f.strategy = strategy_of(h.strategy);
  f.fallback_workers = h.fallback_workers;
  return f;
}

void make_scheduler(World& w, const RunSetup& setup) {
  if (setup.env) {
    w.scheduler = &setup.env->scheduler();
  } else {
    w.sim = std::make_unique<sim::Simulator>(sim::Simulator::Options{.seed = setup.seed});
    w.scheduler = w.sim.get();
  }
}

sim::MockProviderConfig mock_config(const Provider& p) {
  sim::MockProviderConfig pc{.name = p.name,
                             .api = p.api == Api::anthropic ? model::ProviderApi::anthropic : model::ProviderApi::openai,
                             .context_window = to_int(p.context_window, "context_window"),
                             .latency = p.latency,
                             .output_tokens = to_int(p.output_tokens, "output_tokens"),
                             .token_interval = p.token_interval,
                             .supports_prefill = p.supports_prefill};
  if (p.limits) {
    if (p.limits->requests_per_minute) pc.requests_per_minute = to_int(*p.limits->requests_per_minute, "requests_per_minute");
    if (p.limits->tokens_per_minute) pc.tokens_per_minute = to_int(*p.limits->tokens_per_minute, "tokens_per_minute");
  }
  return pc;
}

// One transport per scenario provider: a mock on the simulator, the environment's on a live
// run; behind each a rate limiter and bulkhead when the runtime asks for them.
void add_providers(World& w, const RunSetup& setup, const RunSinks& sinks) {
  const Scenario& scenario = setup.scenario;
  const auto* agents_workload = std::get_if<AgentsWorkload>(&scenario.workload);
  std::vector<std::string> tool_names;
  for (const Tool& t : scenario.tools) tool_names.push_back(t.name);
  const int tool_calls_per_step = agents_workload ? to_int(agents_workload->tool_calls_per_step, "tool_calls_per_step") : 0;
  const sim::ScriptedResponder responder{{tool_calls_per_step, tool_names}};
  for (std::size_t i = 0; i < scenario.providers.size(); ++i) {
    if (setup.env) {  // the environment's transports stand for the providers
      w.transports.push_back(&setup.env->provider(i));
      continue;
    }
    const Provider& p = scenario.providers[i];
    w.providers.push_back(std::make_unique<sim::MockProvider>(*w.scheduler, mock_config(p),
                                                              setup.root.substream("provider." + p.name),
                                                              &sinks.provider_faults, &sinks.events, responder));
    w.transports.push_back(w.providers.back().get());
  }
  if (!setup.cfg.limits.empty()) {  // one rate limiter and bulkhead per provider, shared by every chain
    for (model::ModelTransport*& t : w.transports) {
      w.limited.push_back(std::make_unique<model::LimitedTransport>(*t, setup.cfg.limits, &sinks.events));
      t = w.limited.back().get();
    }
  }
}

// The scenario's tools and the ToolRunner every agent and tool worker shares.
void add_tools(World& w, const RunSetup& setup, const RunSinks& sinks) {
  for (const Tool& t : setup.scenario.tools) {
    auto tool = std::make_unique<sim::MockTool>(
        *w.scheduler,
        sim::MockToolConfig{.name = t.name, .latency = scaled(t.latency, setup.scale), .idempotent = t.idempotent},
        setup.root.substream("tool." + t.name), &sinks.tool_faults, &sinks.events);
    w.toolkit.add(*tool);
    w.tools.push_back(std::move(tool));
  }
  agent::ToolRunnerConfig tool_cfg{.default_timeout = setup.cfg.tool_timeout};
  if (setup.env) tool_cfg.retry_backoff = scaled(tool_cfg.retry_backoff, setup.scale);
  w.tool_runner =
      std::make_unique<agent::ToolRunner>(w.toolkit, tool_cfg, setup.root.substream("tool_runner"), &sinks.events);
}

// An `agents` workload: one model chain, `count` ChatAgents each running `steps` steps from
// its start time, and the `stop` extension's task.
void start_agents(World& w, const AgentsWorkload& wl, const RunSetup& setup, RunSink& events) {
  const RuntimeConfig& cfg = setup.cfg;
  w.manager = std::make_unique<model::ModelManager>(cfg.manager, chain_of(w, setup.scenario, cfg, cfg.models),
                                                    setup.root.substream("model_manager"), &events);
  model::ChatModel* chat = w.manager.get();
  agent::ChatAgentConfig agent_cfg = cfg.agent;
  agent_cfg.keep_history = wl.history == History::keep;
  agent_cfg.stream = wl.stream;
  agent_cfg.max_iterations = to_int(std::max<std::int64_t>(10, wl.tool_calls_per_step + 2), "tool_calls_per_step");
  w.tasks.resize(static_cast<std::size_t>(wl.count * wl.steps));
  const std::vector<Duration> starts = start_times(wl, setup.root.substream("workload.arrivals"));
  for (std::int64_t i = 0; i < wl.count; ++i) {
    agent_cfg.id = static_cast<std::uint64_t>(i + 1);  // `agent` in trace events
    w.agents.push_back(std::make_unique<agent::ChatAgent>(*chat, w.tools.empty() ? nullptr : w.tool_runner.get(),
                                                          w.counter, &events, agent_cfg));
    start(w, run_agent(w, *w.agents.back(), static_cast<std::size_t>(i * wl.steps), i, wl.steps,
                       scaled(starts[static_cast<std::size_t>(i)], setup.scale), wl.prompt_tokens),
          "agent " + std::to_string(i + 1));
  }
  if (wl.stop) {
    spawn(*w.scheduler, stop_agents_at(w, scaled(wl.stop->at, setup.scale)), keel::detail::IgnoreValue{},
          [&w](std::exception_ptr e) { w.task_errors.add("workload.stop: " + what_of(e)); });
  }
}

// A `workforce` workload: the workers and the workforce, and its run spawned.
void start_workforce(World& w, const WorkforceWorkload& wl, const RunSetup& setup, EventSink* events) {
  const RuntimeConfig& cfg = setup.cfg;
  agent::ChatAgentConfig agent_cfg = cfg.agent;
  agent_cfg.keep_history = false;
  std::vector<workforce::Worker*> workers;
  for (const Worker& spec : wl.workers) {
    if (spec.tool) {
      w.workers.push_back(std::make_unique<workforce::ToolWorker>(spec.name, *w.tool_runner, *spec.tool));
    } else {
      w.worker_managers.push_back(std::make_unique<model::ModelManager>(
          cfg.manager, chain_of(w, setup.scenario, cfg, spec.models), setup.root.substream("worker." + spec.name),
          events));
      agent_cfg.stream = spec.stream.value_or(wl.stream);
      auto agent_worker = std::make_unique<workforce::AgentWorker>(spec.name, *w.worker_managers.back(), nullptr,
                                                                   w.counter, events, agent_cfg);
      w.agent_workers.push_back(agent_worker.get());
      w.workers.push_back(std::move(agent_worker));
    }
    workers.push_back(w.workers.back().get());
  }
  std::vector<workforce::TaskSpec> tasks;
  const std::vector<TaskSpec> list = wl.task_list();
  for (std::size_t i = 0; i < list.size(); ++i) {
    tasks.push_back({.id = list[i].id,
                     .input = padded_input(0, static_cast<std::int64_t>(i), kWorkforcePromptTokens),
                     .worker = list[i].worker,
                     .depends_on = list[i].depends_on});
  }
  workforce::WorkforceConfig wf_cfg{.mode = mode_of(wl.mode),
                                    .rounds = to_int(wl.rounds, "rounds"),
                                    .failure = failure_handling_of(wl.failure_handling, setup.scale)};
  if (wl.max_concurrency) wf_cfg.max_concurrency = static_cast<std::size_t>(*wl.max_concurrency);
  w.workforce = std::make_unique<workforce::Workforce>(std::move(workers), std::move(tasks), std::move(wf_cfg),
                                                       setup.root.substream("workforce"), events);
  start(w, w.workforce->run(), "the workforce");
}

}  // namespace

std::vector<std::string> chain_primaries(const Scenario& scenario, const RuntimeConfig& cfg) {
  std::vector<std::string> out;
  if (const auto* wf = std::get_if<WorkforceWorkload>(&scenario.workload)) {
    for (const Worker& worker : wf->workers) {
      if (!worker.models.empty()) out.push_back(worker.models.front());
    }
  } else if (!cfg.models.empty()) {
    out.push_back(cfg.models.front());
  }
  return out;
}

Status build_world(World& w, const RunSetup& setup, const RunSinks& sinks) {
  make_scheduler(w, setup);
  add_providers(w, setup, sinks);
  add_tools(w, setup, sinks);
  if (const auto* agents = std::get_if<AgentsWorkload>(&setup.scenario.workload)) {
    start_agents(w, *agents, setup, sinks.events);
  } else if (const auto* wf = std::get_if<WorkforceWorkload>(&setup.scenario.workload)) {
    try {
      start_workforce(w, *wf, setup, &sinks.events);
    } catch (const std::invalid_argument& e) {  // the loader checks the same; this is a safety net
      return Error(ErrorCode::internal, std::string("cannot build the workforce: ") + e.what());
    }
  }
  return {};
}

}  // namespace keel::scenarios::detail
