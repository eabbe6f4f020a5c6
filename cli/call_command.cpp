// `keel call`: one request (or --repeat N) through keel's runtime against a live endpoint, so a
// user can try keel's policies on their own provider or gateway from the shell (docs/call.md).
// This file parses and prints; the recording is keel::live::record_call (call_recorder.h).
#include "keel/live/asio.h"  // first: Boost 1.74 Asio needs <utility> before it

#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "commands.h"
#include "keel/core/sleep.h"
#include "keel/core/spawn.h"
#include "keel/live/asio_scheduler.h"
#include "keel/live/call_recorder.h"
#include "keel/live/credentials.h"
#include "keel/live/http_client.h"
#include "keel/live/http_transport.h"
#include "keel/model/token_counter.h"
#include "keel/config/duration.h"
#include "keel/scenarios/resolve_runtime.h"
#include "keel/scenarios/time_scale.h"
#include "scenario_args.h"

namespace keel::cli {

namespace {

// Documented bounds (keel call --help, docs/call.md).
constexpr std::size_t kMaxUrlBytes = 2048;
constexpr std::size_t kMaxModels = 16;
constexpr std::size_t kMaxModelBytes = 256;
constexpr std::size_t kMaxPromptBytes = 1u << 20;
constexpr std::uint64_t kMaxRepeat = 100000;
constexpr Duration kMaxEvery = std::chrono::hours{24};
constexpr int kMaxOutputTokens = 1000000;
// The transport's own limits are wide: the preset's timeouts decide (a hang still ends).
constexpr live::HttpTimeouts kTransportTimeouts{.connect = std::chrono::seconds{30},
                                                .first_byte = std::chrono::minutes{10},
                                                .idle = std::chrono::minutes{10},
                                                .total = std::chrono::minutes{30}};

constexpr const char* kCallFooter = R"(Sends PROMPT as one user message through keel's ModelManager (retries, breakers, timeouts,
fallback: the --preset's policies) to an OpenAI chat-completions or Anthropic Messages endpoint.
Repeated --model is the fallback chain on that endpoint, tried in order.
Keys: OPENAI_API_KEY (--api openai) or ANTHROPIC_API_KEY (--api anthropic); not needed for a
loopback base URL. Plain http:// only to loopback.
Output: the answer on stdout; a failure on stderr with its cause chain. --json prints one object
per request: {"answer","model","provider","usage","attempts":[{"model","start_ms","duration_ms",
"outcome","error"}],"error"} ("start_ms" first with --repeat). --repeat N sends N requests from
one runtime (breakers and retry budgets carry over), request i starting i x --every after the
first (or when the previous one ends, if later).
PROMPT "-" reads the prompt from stdin.
Bounds: base URL <= 2048 bytes; 1..16 distinct models of <= 256 bytes; PROMPT 1 byte..1 MiB;
--repeat 1..100000; --every 0..24h; --max-tokens 1..1000000; --time-scale 1e-6..1e6.
Exit status: 0 every request answered, 1 a request failed, 2 invalid arguments or missing key.)";

struct Args {
  std::string base_url;
  std::vector<std::string> models;
  std::string api = "openai";
  std::string preset;
  bool stream = false;
  bool json = false;
  std::uint64_t repeat = 1;
  std::string every = "0s";
  int max_tokens = 256;
  double time_scale = 1.0;
  std::string prompt;
};

// Everything `keel call` runs on: one runtime for every request.
struct Session {
  boost::asio::io_context io;
  live::AsioScheduler sched{io};
  live::HttpClient http{sched, {.timeouts = kTransportTimeouts}};
  live::AttemptRecorder recorder{sched.now()};
  std::vector<std::unique_ptr<live::HttpModelTransport>> transports;
  std::vector<std::unique_ptr<model::ModelTransport>> recorded;
  std::unique_ptr<model::ModelManager> manager;
};

// A usage error: printed, exit 2.
int invalid(const std::string& why) {
  std::cerr << "keel call: " << why << "\n";
  return kExitInvalid;
}

std::optional<std::string> check_models(const std::vector<std::string>& models) {
  if (models.empty() || models.size() > kMaxModels) return "expected 1 to 16 --model values";
  std::set<std::string> seen;
  for (const std::string& m : models) {
    if (m.empty() || m.size() > kMaxModelBytes) return "a --model must be 1 to 256 bytes";
    for (unsigned char c : m) {
      if (c <= ' ' || c == 0x7f) return "a --model may not contain spaces or control characters";
    }
    if (!seen.insert(m).second) return "--model " + m + " is given twice";
  }
  return std::nullopt;
}

void print_failure(const Error& e) {
  std::cerr << "keel call: failed: ";
  const char* lead = "";
  for (const Error* link = &e; link; link = link->cause.get()) {
    Error one = *link;
    one.cause.reset();
    std::cerr << lead << one.describe() << "\n";
    lead = "  caused by: ";
  }
}

Task<int> send_all(Session& s, const Args& args, Duration every, std::string label) {
  bool all_ok = true;
  for (std::uint64_t i = 0; i < args.repeat; ++i) {
    const TimePoint due = s.recorder.origin() + every * static_cast<std::int64_t>(i);
    if (Status slept = co_await sleep_until(due); !slept) break;
    model::ChatRequest request;
    request.messages = {model::Message::user(args.prompt)};
    // Counted as the agents count it, so failed attempts' usage includes their prompts.
    request.prompt_tokens = model::ApproxTokenCounter{}.count(request.messages);
    request.max_output_tokens = args.max_tokens;
    request.stream = args.stream;
    const live::CallRecord record = co_await live::record_call(*s.manager, s.recorder, std::move(request));
    if (args.json) std::cout << live::call_record_json(record, label, args.repeat > 1) << "\n";
    if (record.result) {
      if (!args.json) std::cout << record.result->message.content << "\n";
    } else {
      all_ok = false;
      print_failure(record.result.error());
    }
    std::cout.flush();
  }
  co_return all_ok ? kExitOk : kExitFailed;
}

// PROMPT "-": the prompt is stdin, up to the bound (one byte more tells it is over).
bool read_prompt(Args& args) {
  if (args.prompt != "-") return true;
  args.prompt.assign(kMaxPromptBytes + 1, '\0');
  std::cin.read(args.prompt.data(), static_cast<std::streamsize>(args.prompt.size()));
  args.prompt.resize(static_cast<std::size_t>(std::cin.gcount()));
  return !std::cin.bad();
}

int run(Args& args) {
  if (args.base_url.size() > kMaxUrlBytes) return invalid("--base-url is longer than 2048 bytes");
  Result<live::Url> url = live::Url::parse(args.base_url);
  if (!url) return invalid("--base-url: " + url.error().message);
  if (!url->tls && !url->is_loopback()) return invalid("--base-url: plain http:// is only allowed to a loopback host");
  if (auto why = check_models(args.models)) return invalid(*why);
  if (!read_prompt(args)) return invalid("cannot read the prompt from stdin");
  if (args.prompt.empty() || args.prompt.size() > kMaxPromptBytes) return invalid("PROMPT must be 1 byte to 1 MiB");
  std::string why;
  const std::optional<Duration> every = config::parse_duration(args.every, &why);
  if (!every) return invalid("--every: " + why);
  if (*every > kMaxEvery) return invalid("--every must be at most 24h");

  const bool anthropic = args.api == "anthropic";
  const char* key_var = anthropic ? "ANTHROPIC_API_KEY" : "OPENAI_API_KEY";
  Result<Secret> key = live::secret_from_env(key_var);
  if (!key && !url->is_loopback()) return invalid(std::string(key_var) + " is not set (needed for a non-loopback endpoint)");

  Session s;
  std::vector<model::ModelTransport*> chain;
  for (const std::string& m : args.models) {
    live::ProviderConfig p{.name = m,
                           .api = anthropic ? model::ProviderApi::anthropic : model::ProviderApi::openai,
                           .base_url = args.base_url,
                           .api_key = key ? *key : Secret{},
                           .model = m};
    s.transports.push_back(std::make_unique<live::HttpModelTransport>(s.http, std::move(p)));
    s.recorded.push_back(s.recorder.wrap(*s.transports.back()));
    chain.push_back(s.recorded.back().get());
  }
  scenarios::RuntimeConfig config =
      scenarios::preset_config(parse_preset(args.preset).value_or(scenarios::Preset::keel_default));
  if (args.time_scale != 1.0) scenarios::scale_durations(config, args.time_scale);
  s.manager = std::make_unique<model::ModelManager>(config.manager, chain, Rng{1}, &s.recorder);

  std::optional<int> status;
  spawn(s.sched, send_all(s, args, *every, url->authority()), [&](int st) { status = st; });
  s.io.run();
  return status.value_or(kExitInternal);
}

}  // namespace

Command add_call(CLI::App& app) {
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("call", "Send one request through keel's runtime to a live endpoint");
  cmd->footer(kCallFooter);
  cmd->add_option("--base-url", args->base_url, "Endpoint base URL (e.g. https://api.openai.com/v1)")->required();
  cmd->add_option("--model", args->models, "Model id; repeat for the fallback chain")->required();
  cmd->add_option("--api", args->api, "Wire format")->check(CLI::IsMember({"openai", "anthropic"}))->capture_default_str();
  add_preset_option(cmd, args->preset);
  cmd->add_flag("--stream", args->stream, "Stream the answer (SSE)");
  cmd->add_flag("--json", args->json, "Print one JSON object per request");
  cmd->add_option("--repeat", args->repeat, "Send the request N times from one runtime")
      ->check(CLI::Range(std::uint64_t{1}, kMaxRepeat));
  cmd->add_option("--every", args->every, "With --repeat: time between request starts (e.g. 500ms, 2s)")
      ->capture_default_str();
  cmd->add_option("--max-tokens", args->max_tokens, "Most output tokens to ask for")
      ->check(CLI::Range(1, kMaxOutputTokens))
      ->capture_default_str();
  cmd->add_option("--time-scale", args->time_scale,
                  "Multiply every duration of the preset (timeouts, backoff, breaker) by this factor, to meet "
                  "a `keel serve --time-scale` run on its own clock")
      ->check(CLI::Range(1e-6, 1e6))
      ->capture_default_str();
  cmd->add_option("PROMPT", args->prompt, "The user message; - reads it from stdin")->required();
  return [cmd, args]() -> int {
    if (!cmd->parsed()) return -1;
    return run(*args);
  };
}

}  // namespace keel::cli
