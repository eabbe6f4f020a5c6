// libFuzzer target for the scenario loader (loader.h): any bytes must give a LoadResult —
// never a crash, an exception, a sanitizer report or a hang. When the input loads, it also
// checks the to_json round trip: writing the scenario and loading it again gives an equal
// Scenario, and writing that gives the same bytes.
//
// Not built by CMake; scripts/fuzz-scenarios builds and runs it (the source list is there: the
// loader's files, faults, and runtime/config's reader — the `runtime` block's reader is the
// runtime-block loader's own, so this fuzzes both).
//   mkdir -p /tmp/corpus && cp tests/scenarios/good/*.json tests/scenarios/bad/*.json /tmp/corpus
//   ./fuzz_scenario_loader -max_total_time=60 -dict=scenarios/fuzz/scenario.dict /tmp/corpus
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "keel/scenarios/loader.h"
#include "keel/scenarios/to_json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace keel::scenarios;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const LoadResult r = load_scenario(text, "fuzz");
  if (r.ok() != r.errors.empty()) std::abort();
  if (!r.ok()) {
    (void)r.describe();
    return 0;
  }
  const std::string written = to_json_text(r.value());
  const LoadResult again = load_scenario(written, "fuzz-written");
  if (!again.ok()) {
    std::fprintf(stderr, "round trip rejected:\n%s%s\n", again.describe().c_str(), written.c_str());
    std::abort();
  }
  if (!(again.value() == r.value())) {
    std::fprintf(stderr, "round trip changed the scenario:\n%s\n", written.c_str());
    std::abort();
  }
  if (to_json_text(again.value()) != written) std::abort();
  return 0;
}
