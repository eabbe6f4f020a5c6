// openai_fallback — one chat completion from an OpenAI-compatible endpoint, with Anthropic as
// the fallback, through keel's ModelManager (retries, breaker, timeouts, fallback) configured
// by keel_default — the preset the conformance suite tests — or by a runtime block file.
//
//   OPENAI_API_KEY=... [OPENAI_BASE_URL=https://api.openai.com/v1] [OPENAI_MODEL=gpt-4o-mini]
//   [ANTHROPIC_API_KEY=... ANTHROPIC_BASE_URL=... ANTHROPIC_MODEL=...]
//   [KEEL_RUNTIME_CONFIG=runtime.json]     # a `runtime` block: preset + overrides
//   openai_fallback "your prompt"
//
// Exit status: 0 answered, 1 every model failed, 2 configuration error (e.g. no key).
#include "keel/live/asio.h"  // first: Boost 1.74 Asio needs <utility> before it

#include <chrono>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "keel/config/config_file.h"
#include "keel/core/spawn.h"
#include "keel/live/asio_scheduler.h"
#include "keel/live/credentials.h"
#include "keel/live/http_transport.h"
#include "keel/model/model_manager.h"

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  const std::string prompt = argc > 1 ? argv[1] : "Say hello in five words.";

  keel::Result<keel::live::ProviderConfig> openai = keel::live::openai_from_env();
  if (!openai) {
    std::cerr << "openai_fallback: " << openai.error() << "\n";  // never prints a key
    return 2;
  }
  boost::asio::io_context io;
  keel::live::AsioScheduler scheduler{io};
  keel::live::HttpClient http{scheduler, {.timeouts = {.connect = 10s, .first_byte = 60s, .idle = 30s, .total = 5min}}};

  std::vector<std::unique_ptr<keel::live::HttpModelTransport>> transports;
  transports.push_back(std::make_unique<keel::live::HttpModelTransport>(http, std::move(*openai)));
  if (keel::Result<keel::live::ProviderConfig> anthropic = keel::live::anthropic_from_env()) {
    transports.push_back(std::make_unique<keel::live::HttpModelTransport>(http, std::move(*anthropic)));
  } else {
    std::cerr << "openai_fallback: no Anthropic fallback (" << anthropic.error() << ")\n";
  }
  std::vector<keel::model::ModelTransport*> chain;
  for (auto& t : transports) chain.push_back(t.get());

  // keel_default, or the file's preset and overrides (checked like `keel validate` does).
  keel::config::RuntimeConfig config = keel::config::keel_default();
  if (const char* file = std::getenv("KEEL_RUNTIME_CONFIG"); file && *file) {
    const keel::config::RuntimeBlockLoad loaded = keel::config::load_runtime_block_file(file);
    if (!loaded) {
      std::cerr << loaded.describe();
      return 2;
    }
    config = keel::config::resolve(loaded.value());
  }
  keel::model::ModelManager manager{config.manager, chain, keel::Rng{1}};

  keel::model::ChatRequest request;
  request.messages = {keel::model::Message::user(prompt)};
  request.max_output_tokens = 256;
  request.stream = true;

  std::optional<keel::Result<keel::model::ChatResponse>> answer;
  keel::spawn(scheduler, manager.complete(std::move(request)),
              [&](keel::Result<keel::model::ChatResponse> r) { answer.emplace(std::move(r)); });
  io.run();

  if (!answer || !*answer) {
    std::cerr << "openai_fallback: " << (answer ? (*answer).error().describe() : std::string("no answer")) << "\n";
    return 1;
  }
  const keel::model::ChatResponse& r = **answer;
  std::cout << r.message.content << "\n";
  std::cerr << "(" << r.provider << " " << r.model << ", " << r.usage.prompt_tokens << "+"
            << r.usage.completion_tokens << " tokens)\n";
  return 0;
}
