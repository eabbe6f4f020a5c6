#include "keel/scenarios/runner.h"

#include "keel/model/stream.h"

#include <algorithm>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "keel/agent/chat_agent.h"
#include "keel/agent/tool_runner.h"
#include "keel/agent/toolkit.h"
#include "keel/core/sleep.h"
#include "keel/core/spawn.h"
#include "keel/core/trace_writer.h"
#include "keel/faults/fault_plan.h"
#include "keel/model/limited_transport.h"
#include "keel/model/model_manager.h"
#include "keel/model/stream.h"
#include "keel/model/token_counter.h"
#include "keel/scenarios/limits.h"
#include "keel/scenarios/recovery.h"
#include "keel/scenarios/resolve_runtime.h"
#include "keel/scenarios/run_environment.h"
#include "keel/scenarios/time_scale.h"
#include "keel/sim/mock_provider.h"
#include "keel/sim/mock_tool.h"
#include "keel/sim/responder.h"
#include "keel/sim/simulator.h"
#include "keel/workforce/agent_worker.h"
#include "keel/workforce/tool_worker.h"
#include "keel/workforce/workforce.h"

namespace keel::scenarios {
namespace {

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

// Every event of a run: into the trace, breaker openings noted for the report, the recovery
// meter, then the caller's extra sink. One virtual call per event where a FanoutSink made five.
class RunSink final : public EventSink {
 public:
  RunSink(TraceWriter& trace, RecoveryMeter& recovery, EventSink* extra) noexcept
      : trace_(trace), recovery_(recovery), extra_(extra) {}
  void on_event(const Event& e) override {
    trace_.on_event(e);  // TraceWriter and RecoveryMeter are final: direct calls
    if (e.kind == "breaker.state") note_breaker(e);
    if (e.kind == "model.stream.answer") note_stream_answer(e);
    recovery_.on_event(e);
    if (extra_) extra_->on_event(e);
  }
  // What only the event stream knows: provider -> when its breaker first opened.
  std::map<std::string, Duration, std::less<>> first_open;
  // Streamed answers the runtime accepted: (provider, response id, answer tokens received).
  struct StreamAnswer {
    std::string provider, id;
    std::int64_t tokens = 0;
  };
  std::vector<StreamAnswer> stream_answers;

 private:
  void note_breaker(const Event& e) {
    const AttrValue* to = e.find("to");
    const AttrValue* target = e.find("target");
    if (!to || !target) return;
    const auto* to_name = std::get_if<std::string_view>(to);
    const auto* name = std::get_if<std::string_view>(target);
    if (!to_name || !name || *to_name != "open") return;
    first_open.try_emplace(std::string(*name), e.time.time_since_epoch());
  }
  void note_stream_answer(const Event& e) {
    const AttrValue* model = e.find("model");
    const AttrValue* id = e.find("id");
    const AttrValue* tokens = e.find("tokens");
    const auto* m = model ? std::get_if<std::string_view>(model) : nullptr;
    const auto* i = id ? std::get_if<std::string_view>(id) : nullptr;
    const auto* n = tokens ? std::get_if<std::int64_t>(tokens) : nullptr;
    if (m && i && n) stream_answers.push_back({std::string(*m), std::string(*i), *n});
  }
  TraceWriter& trace_;
  RecoveryMeter& recovery_;
  EventSink* extra_;
};

// Accepted streamed answers with fewer tokens than their provider produced (format v1.1,
// "truncated answer"). The mock's response id ends with its request index.
std::int64_t count_truncated(const RunSink& events, const std::vector<std::unique_ptr<sim::MockProvider>>& providers) {
  std::int64_t truncated = 0;
  for (const RunSink::StreamAnswer& a : events.stream_answers) {
    const auto digits = a.id.find_last_not_of("0123456789");
    if (digits == std::string::npos || digits + 1 >= a.id.size()) continue;
    const std::uint64_t index = std::stoull(a.id.substr(digits + 1));
    for (const auto& p : providers) {
      if (p->config().name != a.provider) continue;
      const int produced = p->streamed_tokens(index);
      if (produced >= 0 && a.tokens < produced) ++truncated;
    }
  }
  return truncated;
}

struct TaskRecord {
  TimePoint started{};
  bool began = false;
  bool ended = false;
  TimePoint ended_at{};
  std::optional<ErrorCode> error;  // agents: nullopt = succeeded
  std::optional<workforce::TaskState> state;  // workforce: the terminal state
  std::string cause;                          // workforce, failed: the final error code or reason
};

// A scenario value handed to an int field of the runtime. The loader's bounds (limits.h) make
// every loaded value fit; a Scenario built in code that does not is refused, never narrowed.
int to_int(std::int64_t v, std::string_view field) {
  if (!std::in_range<int>(v)) throw std::out_of_range(std::string(field) + " " + std::to_string(v) + " does not fit an int");
  return static_cast<int>(v);
}

// resolve_runtime (runtime/config/src/resolve.cpp) hands these to int and uint32 fields:
// refuse what does not fit.
void check_runtime_fits(const Runtime& rt) {
  auto fits = [](const std::optional<std::int64_t>& v, std::string_view field, std::int64_t min) {
    if (v && *v < min) throw std::out_of_range(std::string(field) + " " + std::to_string(*v) + " is below " + std::to_string(min));
    if (v) (void)to_int(*v, field);
  };
  fits(rt.retry.max_attempts, "retry.max_attempts", 1);
  fits(rt.context.token_limit, "context.token_limit", 1);
  if (rt.circuit_breaker.value) {
    fits(rt.circuit_breaker.value->size, "circuit_breaker.size", 1);
    fits(rt.circuit_breaker.value->min_calls, "circuit_breaker.min_calls", 1);
    fits(rt.circuit_breaker.value->half_open_calls, "circuit_breaker.half_open_calls", 1);
  }
  if (rt.hedging.value) fits(rt.hedging.value->max_extra, "hedging.max_extra", 1);
  if (rt.bulkhead.value) {
    fits(rt.bulkhead.value->max_concurrent, "bulkhead.max_concurrent", 1);
    fits(rt.bulkhead.value->max_queue, "bulkhead.max_queue", 0);
  }
}

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

Duration percentile(std::vector<Duration> sorted, double p) {
  if (sorted.empty()) return Duration::zero();
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
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

// Everything one run builds. Declared so that the simulator is destroyed first (it tears down
// suspended tasks while the runtime objects they point at are still alive).
struct World {
  std::vector<std::unique_ptr<sim::MockProvider>> providers;  // simulated runs
  std::vector<model::ModelTransport*> transports;             // scenario.providers order
  std::vector<std::unique_ptr<model::LimitedTransport>> limited;  // runtime.rate_limiter/bulkhead
  std::vector<std::unique_ptr<sim::MockTool>> tools;
  agent::Toolkit toolkit;
  std::unique_ptr<agent::ToolRunner> tool_runner;
  std::unique_ptr<model::ModelManager> manager;
  std::vector<std::unique_ptr<QuotaMistakenForOverflow>> quirks;
  model::ApproxTokenCounter counter;
  std::vector<std::unique_ptr<agent::ChatAgent>> agents;
  std::vector<TaskRecord> tasks;
  // Workforce workload: one model chain per chat-agent worker, the workers, the workforce.
  std::vector<std::unique_ptr<model::ModelManager>> worker_managers;
  std::vector<std::unique_ptr<workforce::Worker>> workers;
  std::vector<workforce::AgentWorker*> agent_workers;
  std::unique_ptr<workforce::Workforce> workforce;
  Scheduler* scheduler = nullptr;       // the simulator, or the environment's
  std::size_t running = 0;              // root tasks not finished yet
  TaskErrors task_errors;               // exceptions that escaped a task (each became a failure)
  std::unique_ptr<sim::Simulator> sim;  // last: destroyed first
};

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

// Builds the workers and the workforce of a `workforce` workload, and spawns its run.
void start_workforce(World& w, const Scenario& scenario, const WorkforceWorkload& wl, const RuntimeConfig& cfg,
                     const Rng& root, EventSink* events, double scale) {
  agent::ChatAgentConfig agent_cfg = cfg.agent;
  agent_cfg.keep_history = false;
  std::vector<workforce::Worker*> workers;
  for (const Worker& spec : wl.workers) {
    if (spec.tool) {
      w.workers.push_back(std::make_unique<workforce::ToolWorker>(spec.name, *w.tool_runner, *spec.tool));
    } else {
      w.worker_managers.push_back(std::make_unique<model::ModelManager>(
          cfg.manager, chain_of(w, scenario, cfg, spec.models), root.substream("worker." + spec.name), events));
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
                                    .failure = failure_handling_of(wl.failure_handling, scale)};
  if (wl.max_concurrency) wf_cfg.max_concurrency = static_cast<std::size_t>(*wl.max_concurrency);
  w.workforce = std::make_unique<workforce::Workforce>(std::move(workers), std::move(tasks), std::move(wf_cfg),
                                                       root.substream("workforce"), events);
  start(w, w.workforce->run(), "the workforce");
}

// The first provider of every model chain of the run (back_on_primary applies to those).
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

// The final cause of a failed task, as `failures` counts it.
std::string failure_cause(const TaskRecord& t) {
  if (!t.ended) return std::string(to_string(ErrorCode::horizon));
  if (t.state) return t.cause.empty() ? std::string(workforce::to_string(*t.state)) : t.cause;
  return t.error ? std::string(to_string(*t.error)) : std::string("unknown");
}

enum class Ending : std::uint8_t { unfinished, succeeded, failed, skipped, cancelled };

Ending ending_of(const TaskRecord& t) {
  if (!t.ended) return Ending::unfinished;
  if (t.state) {
    switch (*t.state) {
      case workforce::TaskState::done: return Ending::succeeded;
      case workforce::TaskState::skipped: return Ending::skipped;
      case workforce::TaskState::cancelled: return Ending::cancelled;
      default: return Ending::failed;
    }
  }
  if (!t.error) return Ending::succeeded;
  return *t.error == ErrorCode::cancelled ? Ending::cancelled : Ending::failed;
}

// Task counts, latencies (all tasks, successful ones), failure causes and the recovery meter's
// task view, from the run's task records (scenario time).
void tally_tasks(const std::vector<TaskRecord>& tasks, Duration horizon, RunReport& rep, RecoveryMeter& recovery) {
  std::vector<Duration> latencies, ok_latencies;
  std::map<std::string, std::int64_t> failures;
  Duration last_end{};
  for (const TaskRecord& t : tasks) {
    ++rep.tasks.total;
    const Ending ending = ending_of(t);
    switch (ending) {
      case Ending::unfinished: ++rep.unfinished; [[fallthrough]];
      case Ending::failed: ++rep.tasks.failed; ++failures[failure_cause(t)]; break;
      case Ending::succeeded: ++rep.tasks.succeeded; break;
      case Ending::skipped: ++rep.tasks.skipped; break;
      case Ending::cancelled: ++rep.tasks.cancelled; break;
    }
    if (t.ended) last_end = std::max(last_end, t.ended_at.time_since_epoch());
    if (!t.began) continue;
    const Duration latency = t.ended ? t.ended_at - t.started : horizon - t.started.time_since_epoch();
    latencies.push_back(latency);
    if (ending == Ending::succeeded) ok_latencies.push_back(latency);
    recovery.on_task(t.started.time_since_epoch(), t.ended, t.ended_at.time_since_epoch(), ending == Ending::succeeded);
  }
  rep.virtual_end = rep.unfinished ? horizon : last_end;
  std::sort(latencies.begin(), latencies.end());
  std::sort(ok_latencies.begin(), ok_latencies.end());
  rep.latency_p50 = percentile(latencies, 0.50);
  rep.latency_p99 = percentile(latencies, 0.99);
  rep.latency_max = latencies.empty() ? Duration::zero() : latencies.back();
  rep.latency_ok_p50 = percentile(ok_latencies, 0.50);
  rep.latency_ok_p99 = percentile(ok_latencies, 0.99);
  rep.latency_ok_max = ok_latencies.empty() ? Duration::zero() : ok_latencies.back();
  rep.failures.assign(failures.begin(), failures.end());
}

Result<RunReport> run_checked(const Scenario& scenario, const RunOptions& options) {
  const auto* agents_workload = std::get_if<AgentsWorkload>(&scenario.workload);
  const auto* workforce_workload = std::get_if<WorkforceWorkload>(&scenario.workload);
  const std::uint64_t seed = options.seed.value_or(scenario.seed);
  const Preset preset = effective_preset(scenario, options.preset);
  RunEnvironment* env = options.environment;
  const double scale = env ? env->time_scale() : 1.0;
  check_runtime_fits(scenario.runtime);
  RuntimeConfig cfg = resolve_runtime(scenario, options.preset);
  if (env) scale_durations(cfg, scale);
  const Rng root{seed};

  TraceWriter trace{options.trace};
  RecoveryMeter recovery{scenario.faults, scenario.horizon, chain_primaries(scenario, cfg), scale};
  RunSink events{trace, recovery, options.extra_sink};
  faults::FaultPlan plan{scenario.faults, seed, scenario.horizon};
  ScaledFaultHook scaled_plan{plan, scale};
  sim::FaultHook* tool_faults = env ? static_cast<sim::FaultHook*>(&scaled_plan) : &plan;

  World w;
  if (env) {
    w.scheduler = &env->scheduler();
  } else {
    w.sim = std::make_unique<sim::Simulator>(sim::Simulator::Options{.seed = seed});
    w.scheduler = w.sim.get();
  }
  Scheduler& sched = *w.scheduler;

  std::vector<std::string> tool_names;
  for (const Tool& t : scenario.tools) tool_names.push_back(t.name);
  const int tool_calls_per_step = agents_workload ? to_int(agents_workload->tool_calls_per_step, "tool_calls_per_step") : 0;
  const sim::ScriptedResponder responder{{tool_calls_per_step, tool_names}};
  for (std::size_t i = 0; i < scenario.providers.size(); ++i) {
    if (env) {  // the environment's transports stand for the providers
      w.transports.push_back(&env->provider(i));
      continue;
    }
    const Provider& p = scenario.providers[i];
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
    w.providers.push_back(std::make_unique<sim::MockProvider>(sched, pc, root.substream("provider." + p.name), &plan,
                                                              &events, responder));
    w.transports.push_back(w.providers.back().get());
  }
  if (!cfg.limits.empty()) {  // one rate limiter and bulkhead per provider, shared by every chain
    for (model::ModelTransport*& t : w.transports) {
      w.limited.push_back(std::make_unique<model::LimitedTransport>(*t, cfg.limits, &events));
      t = w.limited.back().get();
    }
  }
  for (const Tool& t : scenario.tools) {
    auto tool = std::make_unique<sim::MockTool>(
        sched, sim::MockToolConfig{.name = t.name, .latency = scaled(t.latency, scale), .idempotent = t.idempotent},
        root.substream("tool." + t.name), tool_faults, &events);
    w.toolkit.add(*tool);
    w.tools.push_back(std::move(tool));
  }
  agent::ToolRunnerConfig tool_cfg{.default_timeout = cfg.tool_timeout};
  if (env) tool_cfg.retry_backoff = scaled(tool_cfg.retry_backoff, scale);
  w.tool_runner = std::make_unique<agent::ToolRunner>(w.toolkit, tool_cfg, root.substream("tool_runner"), &events);

  if (agents_workload) {
    const AgentsWorkload& wl = *agents_workload;
    w.manager = std::make_unique<model::ModelManager>(cfg.manager, chain_of(w, scenario, cfg, cfg.models),
                                                      root.substream("model_manager"), &events);
    model::ChatModel* chat = w.manager.get();
    agent::ChatAgentConfig agent_cfg = cfg.agent;
    agent_cfg.keep_history = wl.history == History::keep;
    agent_cfg.stream = wl.stream;
    agent_cfg.max_iterations = to_int(std::max<std::int64_t>(10, wl.tool_calls_per_step + 2), "tool_calls_per_step");
    w.tasks.resize(static_cast<std::size_t>(wl.count * wl.steps));
    const std::vector<Duration> starts = start_times(wl, root.substream("workload.arrivals"));
    for (std::int64_t i = 0; i < wl.count; ++i) {
      agent_cfg.id = static_cast<std::uint64_t>(i + 1);  // `agent` in trace events
      w.agents.push_back(std::make_unique<agent::ChatAgent>(*chat, w.tools.empty() ? nullptr : w.tool_runner.get(),
                                                            w.counter, &events, agent_cfg));
      start(w, run_agent(w, *w.agents.back(), static_cast<std::size_t>(i * wl.steps), i, wl.steps,
                         scaled(starts[static_cast<std::size_t>(i)], scale), wl.prompt_tokens),
            "agent " + std::to_string(i + 1));
    }
    if (wl.stop) {
      spawn(sched, stop_agents_at(w, scaled(wl.stop->at, scale)), detail::IgnoreValue{},
            [&w](std::exception_ptr e) { w.task_errors.add("workload.stop: " + what_of(e)); });
    }
  } else if (workforce_workload) {
    try {
      start_workforce(w, scenario, *workforce_workload, cfg, root, &events, scale);
    } catch (const std::invalid_argument& e) {  // the loader checks the same; this is a safety net
      return Error(ErrorCode::internal, std::string("cannot build the workforce: ") + e.what());
    }
  }

  if (env) {
    env->run_until(TimePoint{scaled(scenario.horizon, scale)}, [&w] { return w.running == 0; });
  } else {
    const sim::RunResult run = w.sim->run_until(TimePoint{scenario.horizon});
    if (run.status == sim::RunStatus::budget_exhausted) {
      return Error(ErrorCode::internal, "simulation livelock: event budget exhausted before the horizon");
    }
  }

  // Workforce tasks in the same shape as agent steps (a task that never started has no latency).
  if (w.workforce) {
    for (const workforce::TaskOutcome& t : w.workforce->outcomes()) {
      TaskRecord& r = w.tasks.emplace_back();
      r.began = t.started.has_value();
      if (t.started) r.started = *t.started;
      r.ended = workforce::is_terminal(t.state);
      if (t.ended) r.ended_at = *t.ended;
      r.state = t.state;
      if (t.state == workforce::TaskState::failed) {
        r.cause = t.error ? std::string(to_string(t.error->code)) : t.reason;
      }
    }
  }
  if (env) {  // measured in run time: report scenario time
    auto unscale = [scale](TimePoint t) { return TimePoint{scaled(t.time_since_epoch(), 1.0 / scale)}; };
    for (TaskRecord& t : w.tasks) {
      t.started = unscale(t.started);
      t.ended_at = unscale(t.ended_at);
    }
    for (auto& [name, at] : events.first_open) at = scaled(at, 1.0 / scale);
  }

  RunReport rep;
  rep.scenario = scenario.name;
  rep.seed = seed;
  rep.preset = preset;
  rep.live = env != nullptr;
  tally_tasks(w.tasks, scenario.horizon, rep, recovery);
  rep.recovery = recovery.windows();

  std::vector<const model::ModelManager*> managers;
  if (w.manager) managers.push_back(w.manager.get());
  for (const auto& m : w.worker_managers) managers.push_back(m.get());
  for (std::size_t i = 0; i < scenario.providers.size(); ++i) {
    const std::string& name = scenario.providers[i].name;
    const ProviderTally tally =
        env ? env->provider_tally(i)
            : ProviderTally{static_cast<std::int64_t>(w.providers[i]->stats().requests),
                            static_cast<std::int64_t>(w.providers[i]->stats().max_prompt_tokens)};
    rep.calls.emplace_back(name, tally.requests);
    rep.max_prompt_tokens.emplace_back(name, tally.max_prompt_tokens);
    std::int64_t opens = 0;
    for (const model::ModelManager* manager : managers) {
      for (std::size_t m = 0; m < manager->size(); ++m) {
        if (manager->model(m).info().name != name) continue;
        if (const policy::CircuitBreaker* b = manager->breaker(m)) opens += static_cast<std::int64_t>(b->counters().to_open);
        rep.retries += static_cast<std::int64_t>(manager->retry_counters(m).count(policy::RetryReason::retry));
      }
    }
    rep.breaker_opens.emplace_back(name, opens);
    auto first = events.first_open.find(name);
    rep.first_open.emplace_back(name, first == events.first_open.end() ? std::nullopt : std::optional{first->second});
  }
  for (const model::ModelManager* manager : managers) rep.fallbacks += static_cast<std::int64_t>(manager->counters().fallbacks);
  for (const auto& a : w.agents) rep.summarizations += static_cast<std::int64_t>(a->context().counters().summarizations);
  for (const workforce::AgentWorker* worker : w.agent_workers) {
    for (const auto& a : worker->agents()) rep.summarizations += static_cast<std::int64_t>(a->context().counters().summarizations);
  }
  rep.truncated_answers = count_truncated(events, w.providers);
  for (const auto& t : w.tools) {
    rep.tools.emplace_back(t->config().name, ToolStats{static_cast<std::int64_t>(t->stats().executions),
                                                       static_cast<std::int64_t>(t->stats().max_per_call())});
  }
  if (w.workforce) {
    const workforce::WorkforceCounters& c = w.workforce->counters();
    rep.workforce = WorkforceStats{.attempts = static_cast<std::int64_t>(c.attempts),
                                   .retries = static_cast<std::int64_t>(c.retries),
                                   .fallbacks = static_cast<std::int64_t>(c.fallbacks),
                                   .terminated = w.workforce->terminated()};
  }
  if (env) rep.time_tolerance = scaled(kLiveTimeTolerance, 1.0 / scale);
  rep.task_errors = std::move(w.task_errors);
  rep.expectations = evaluate_expectations(scenario.expect, rep);
  rep.passed = std::all_of(rep.expectations.begin(), rep.expectations.end(), [](const auto& e) { return e.passed; });

  // Tear down suspended work before the runtime objects go.
  if (env) env->finish();
  w.sim.reset();
  rep.trace_hash = trace.hash_hex();
  rep.trace_events = trace.lines();
  return rep;
}

}  // namespace

void TaskErrors::add(std::string what) {
  ++count;
  if (first.size() < kKept) first.push_back(std::move(what));
}

Result<RunReport> run_scenario(const Scenario& scenario, const RunOptions& options) {
  try {
    return run_checked(scenario, options);
  } catch (const std::exception& e) {  // building the run failed (a value out of range, no memory)
    return Error(ErrorCode::internal, std::string("cannot run the scenario: ") + e.what());
  }
}

nlohmann::json to_json(const RunReport& r) {
  auto ms = [](Duration d) { return static_cast<double>(d.count()) / 1e6; };
  nlohmann::json j;
  j["scenario"] = r.scenario;
  j["seed"] = r.seed;
  j["preset"] = std::string(to_string(r.preset));
  j["passed"] = r.passed;
  j["trace_hash"] = r.trace_hash;
  j["reproducible"] = !r.live;  // a live run's trace hash identifies its trace file, not a replay
  j["trace_events"] = r.trace_events;
  j["virtual_end_ms"] = ms(r.virtual_end);
  j["tasks"] = {{"total", r.tasks.total}, {"succeeded", r.tasks.succeeded}, {"failed", r.tasks.failed},
                {"skipped", r.tasks.skipped}, {"cancelled", r.tasks.cancelled}};
  j["unfinished"] = r.unfinished;
  j["latency_ms"] = {{"p50", ms(r.latency_p50)}, {"p99", ms(r.latency_p99)}, {"max", ms(r.latency_max)}};
  j["latency_ok_ms"] = {{"p50", ms(r.latency_ok_p50)}, {"p99", ms(r.latency_ok_p99)}, {"max", ms(r.latency_ok_max)}};
  j["failures"] = nlohmann::json::object();
  for (const auto& [k, v] : r.failures) j["failures"][k] = v;
  j["recovery"] = nlohmann::json::array();
  auto ms_or_null = [&ms](const std::optional<Duration>& d) { return d ? nlohmann::json(ms(*d)) : nlohmann::json(nullptr); };
  for (const RecoveryWindow& w : r.recovery) {
    j["recovery"].push_back({{"fault", w.fault}, {"target", w.target}, {"from_ms", ms(w.from)}, {"until_ms", ms(w.until)},
                             {"detect_ms", ms_or_null(w.detect)}, {"restore_ms", ms_or_null(w.restore)},
                             {"back_on_primary_ms", ms_or_null(w.back_on_primary)}});
  }
  j["calls"] = nlohmann::json::object();
  for (const auto& [k, v] : r.calls) j["calls"][k] = v;
  j["retries"] = r.retries;
  j["fallbacks"] = r.fallbacks;
  j["breaker_opens"] = nlohmann::json::object();
  for (const auto& [k, v] : r.breaker_opens) j["breaker_opens"][k] = v;
  j["first_open_ms"] = nlohmann::json::object();
  for (const auto& [k, v] : r.first_open) j["first_open_ms"][k] = v ? nlohmann::json(ms(*v)) : nlohmann::json(nullptr);
  j["summarizations"] = r.summarizations;
  j["truncated_answers"] = r.truncated_answers;
  j["tools"] = nlohmann::json::object();
  for (const auto& [k, v] : r.tools) j["tools"][k] = {{"executions", v.executions}, {"max_per_call", v.max_per_call}};
  j["max_prompt_tokens"] = nlohmann::json::object();
  for (const auto& [k, v] : r.max_prompt_tokens) j["max_prompt_tokens"][k] = v;
  if (r.time_tolerance > Duration::zero()) j["time_tolerance_ms"] = ms(r.time_tolerance);
  if (r.workforce) {
    j["workforce"] = {{"attempts", r.workforce->attempts}, {"retries", r.workforce->retries},
                      {"fallbacks", r.workforce->fallbacks}, {"terminated", r.workforce->terminated}};
  }
  if (r.task_errors.count) {
    j["task_errors"] = {{"count", r.task_errors.count}, {"first", r.task_errors.first}};
  }
  j["vacuous"] = r.expectations.empty();  // no expectations: the run passes by default
  j["expectations"] = nlohmann::json::array();
  for (const auto& e : r.expectations) j["expectations"].push_back({{"name", e.name}, {"passed", e.passed}, {"detail", e.detail}});
  return j;
}

}  // namespace keel::scenarios
