// agent_tools — a small agent with a tool and a fallback chain, configured from a runtime
// block file (the same `runtime` block a scenario carries: here the scenario `keel serve`
// plays, so CI tests exactly this configuration), talking HTTP to OpenAI-compatible endpoints.
//
//   keel serve examples/agent_tools/scenario.json        # prints "<name> openai <base URL>"
//   agent_tools examples/agent_tools/scenario.json primary=<URL> backup=<URL>
//
// The chain is the file's `runtime.models` (default: its providers, in order); each name is
// given its base URL on the command line. Every model request streams (SSE), under the
// preset's stream limits (first-token and idle timeouts, on_timeout, stream_recovery).
// Exit status: 0 answered, 1 the step failed, 2 configuration error.
#include "keel/live/asio.h"  // first: Boost 1.74 Asio needs <utility> before it

#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "keel/agent/chat_agent.h"
#include "keel/agent/function_tool.h"
#include "keel/agent/tool_runner.h"
#include "keel/agent/toolkit.h"
#include "keel/config/config_file.h"
#include "keel/core/spawn.h"
#include "keel/live/asio_scheduler.h"
#include "keel/live/http_transport.h"
#include "keel/model/limited_transport.h"
#include "keel/model/model_manager.h"
#include "keel/model/token_counter.h"

namespace {

// "name=url" arguments.
std::map<std::string, std::string> base_urls(int argc, char** argv) {
  std::map<std::string, std::string> urls;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (const auto eq = arg.find('='); eq != std::string::npos) urls[arg.substr(0, eq)] = arg.substr(eq + 1);
  }
  return urls;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: agent_tools RUNTIME_FILE NAME=BASE_URL...\n";
    return 2;
  }
  // The configuration: the file's preset and overrides, checked like `keel validate` does.
  const keel::config::RuntimeBlockLoad file = keel::config::load_runtime_block_file(argv[1]);
  if (!file) {
    std::cerr << file.describe();
    return 2;
  }
  const keel::config::RuntimeConfig cfg = keel::config::resolve(file.value(), std::nullopt, file.providers);
  const std::map<std::string, std::string> urls = base_urls(argc, argv);

  boost::asio::io_context io;
  keel::live::AsioScheduler scheduler{io};
  keel::live::HttpClient http{scheduler, {}};
  std::vector<std::unique_ptr<keel::model::ModelTransport>> transports;
  std::vector<keel::model::ModelTransport*> chain;
  for (const std::string& name : cfg.models) {
    const auto url = urls.find(name);
    if (url == urls.end()) {
      std::cerr << "agent_tools: no base URL for provider \"" << name << "\" (give " << name << "=URL)\n";
      return 2;
    }
    transports.push_back(std::make_unique<keel::live::HttpModelTransport>(
        http, keel::live::ProviderConfig{.name = name, .base_url = url->second, .api_key = keel::Secret{"unused"}, .model = "m"}));
    if (!cfg.limits.empty()) {  // the file's rate_limiter / bulkhead, per provider
      transports.push_back(std::make_unique<keel::model::LimitedTransport>(*transports.back(), cfg.limits));
    }
    chain.push_back(transports.back().get());
  }
  keel::model::ModelManager manager{cfg.manager, chain, keel::Rng{1}};

  // One tool; the model asks for it by name and gets its JSON result back.
  int lookups = 0;
  keel::agent::Toolkit toolkit;
  toolkit.add(std::make_unique<keel::agent::FunctionTool>(
      keel::model::ToolSpec{"lookup", "Looks a word up"},
      [&lookups](const nlohmann::json&) {
        ++lookups;
        return nlohmann::json{{"definition", "a keel is the backbone of a ship"}};
      },
      keel::agent::ToolOptions{.idempotent = true}));
  keel::agent::ToolRunner tools{toolkit, {.default_timeout = cfg.tool_timeout}, keel::Rng{2}};
  keel::model::ApproxTokenCounter counter;
  keel::agent::ChatAgentConfig agent_config = cfg.agent;
  agent_config.stream = true;  // what a chat UI does: tokens as they come
  keel::agent::ChatAgent agent{manager, &tools, counter, nullptr, agent_config};

  std::optional<keel::Result<keel::agent::StepResult>> step;
  keel::spawn(scheduler, agent.step("What is a keel?"),
              [&](keel::Result<keel::agent::StepResult> r) { step.emplace(std::move(r)); });
  io.run();

  if (!step || !*step) {
    std::cerr << "agent_tools: " << (step ? (*step).error().describe() : std::string("no answer")) << "\n";
    return 1;
  }
  std::cout << "answer: " << (*step)->answer.content.size() << " bytes\n"
            << "tool lookup ran " << lookups << " time(s)\n"
            << "model calls " << manager.counters().calls << ", fallbacks " << manager.counters().fallbacks
            << ", streamed attempts " << manager.counters().stream_attempts << "\n";
  return 0;
}
