// bench_json — keel's JSON text work, each piece alone: checking a tool's JSON (json_type, the
// validator), reading a provider answer (JsonDocument, the flat document builder), writing a
// string (the escaper, ASCII and with multi-byte UTF-8), and encoding a request with tools
// (provider_codec: the tool schemas go into every request body).
#include <benchmark/benchmark.h>

#include <string>

#include "keel/core/json_check.h"
#include "keel/core/json_document.h"
#include "keel/core/trace_writer.h"
#include "keel/live/provider_codec.h"

namespace {

using namespace keel;

// A typical tool result (the same text as bench_trace's json_type benchmark).
const std::string kToolResult =
    R"({"city":"Zürich","temperature_c":12.5,"conditions":"light rain","forecast":[{"day":"tue","high":14,)"
    R"("low":7},{"day":"wed","high":16,"low":9}],"source":"sim","call_id":"call_a_123_0"})";

// A typical OpenAI answer with a tool call (escaped arguments) and usage.
const std::string kAnswer =
    R"({"id":"chatcmpl-abc123","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini",)"
    R"("choices":[{"index":0,"message":{"role":"assistant","content":"Let me look that up for you.",)"
    R"("tool_calls":[{"id":"call_1","type":"function","function":{"name":"weather",)"
    R"("arguments":"{\"city\":\"Z\u00fcrich\",\"days\":2}"}}]},"logprobs":null,"finish_reason":"tool_calls"}],)"
    R"("usage":{"prompt_tokens":812,"completion_tokens":31,"total_tokens":843},"system_fingerprint":"fp_1"})";

void BM_JsonType(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(json_type(kToolResult));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kToolResult.size()));
}
BENCHMARK(BM_JsonType);

void BM_JsonDocumentParse(benchmark::State& state) {
  JsonDocument doc;  // reused, as the codecs' scratch document is
  for (auto _ : state) {
    benchmark::DoNotOptimize(doc.parse(kAnswer));
    benchmark::DoNotOptimize(doc.root().size);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kAnswer.size()));
}
BENCHMARK(BM_JsonDocumentParse);

void BM_JsonEscape(benchmark::State& state) {
  const std::string text = state.range(0) == 0
                               ? std::string("The weather in Zurich is light rain, 12.5 C; tomorrow \"dry\".\n")
                               : std::string("Das Wetter in Zürich: leichter Regen, 12,5 °C — morgen „trocken“.\n");
  std::string out;
  for (auto _ : state) {
    out.clear();
    append_json_string(out, text);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_JsonEscape)->Arg(0)->Arg(1)->ArgName("utf8");

// A short conversation and four tools, each with a realistic parameter schema.
model::ChatRequest request_with_tools() {
  model::ChatRequest r;
  r.messages = {model::Message::system("You are a helpful assistant."), model::Message::user("Weather in Zurich?")};
  for (const char* name : {"weather", "search", "calendar", "calculator"}) {
    r.tools.push_back({name, "Looks things up.",
                       R"({"type":"object","properties":{"city":{"type":"string","description":"City name"},)"
                       R"("days":{"type":"integer","minimum":1,"maximum":14},"units":{"type":"string",)"
                       R"("enum":["metric","imperial"]}},"required":["city"],"additionalProperties":false})"});
  }
  return r;
}

void BM_EncodeRequestWithTools(benchmark::State& state) {
  const model::ChatRequest r = request_with_tools();
  const auto api = state.range(0) == 0 ? model::ProviderApi::openai : model::ProviderApi::anthropic;
  for (auto _ : state) {
    Result<std::string> body = live::encode_request(api, r, "m");
    benchmark::DoNotOptimize(body->data());
  }
}
BENCHMARK(BM_EncodeRequestWithTools)->Arg(0)->Arg(1)->ArgName("anthropic");

}  // namespace

BENCHMARK_MAIN();
