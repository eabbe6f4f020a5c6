// bench_trace — the per-event and per-tool-call text work of a simulated run: hashing one event
// (TraceWriter without a file, as `keel run` without --trace), hashing and writing its canonical
// line (with --trace, into a discarding stream), and checking a tool's JSON (json_type)
// against nlohmann's SAX accept and DOM parse in the same binary (what the agent used before).
#include <benchmark/benchmark.h>

#include <chrono>
#include <ostream>
#include <streambuf>
#include <string>

#include <nlohmann/json.hpp>

#include "keel/core/json_check.h"
#include "keel/core/trace_writer.h"

namespace {

using namespace keel;
using namespace std::chrono_literals;

void emit_sample(TraceWriter& trace, TimePoint t) {
  emit(&trace, t, "provider.response",
       {{"target", "openai-primary"}, {"index", 12345}, {"ok", false}, {"code", ErrorCode::rate_limited},
        {"status", 429}, {"latency", 812ms}});
}

void BM_TraceWriterEvent(benchmark::State& state) {
  TraceWriter trace;  // hash only
  TimePoint t = time_point_at(1s);
  for (auto _ : state) emit_sample(trace, t += 1ms);
  benchmark::DoNotOptimize(trace.hash());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TraceWriterEvent);

// Accepts and drops everything written to it.
struct DiscardingBuffer final : std::streambuf {
  int overflow(int c) override { return c; }
  std::streamsize xsputn(const char*, std::streamsize n) override { return n; }
};

void BM_TraceWriterEventWritten(benchmark::State& state) {
  DiscardingBuffer buffer;
  std::ostream out{&buffer};
  TraceWriter trace{&out};
  TimePoint t = time_point_at(1s);
  for (auto _ : state) emit_sample(trace, t += 1ms);
  benchmark::DoNotOptimize(trace.hash());
  state.SetItemsProcessed(state.iterations());
  state.counters["bytes_per_event"] = static_cast<double>(trace.bytes()) / static_cast<double>(trace.lines());
}
BENCHMARK(BM_TraceWriterEventWritten);

// A typical tool result: a small object with strings, numbers and an array.
const std::string kToolResult =
    R"({"city":"Zürich","temperature_c":12.5,"conditions":"light rain","forecast":[{"day":"tue","high":14,)"
    R"("low":7},{"day":"wed","high":16,"low":9}],"source":"sim","call_id":"call_a_123_0"})";

void BM_JsonCheck_Keel(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(json_type(kToolResult));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kToolResult.size()));
}
BENCHMARK(BM_JsonCheck_Keel);

void BM_JsonCheck_NlohmannAccept(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(nlohmann::json::accept(kToolResult));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kToolResult.size()));
}
BENCHMARK(BM_JsonCheck_NlohmannAccept);

void BM_JsonCheck_NlohmannParse(benchmark::State& state) {
  for (auto _ : state) {
    nlohmann::json j = nlohmann::json::parse(kToolResult, nullptr, false);
    benchmark::DoNotOptimize(j.is_object());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(kToolResult.size()));
}
BENCHMARK(BM_JsonCheck_NlohmannParse);

}  // namespace

BENCHMARK_MAIN();
