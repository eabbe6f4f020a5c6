// keel/scenarios/trace_file.h — recompute the trace hash of a written JSON-lines trace.
//
// Purpose: `keel run --trace FILE` prints a trace hash; this reads FILE back and recomputes it
// (keel trace hash v2, keel/core/trace_writer.h), so a trace kept from CI, a bug report or
// another machine can be checked against the hash that was printed with it (`keel trace-hash`).
//
// Contract:
//  - Each non-empty line must be a JSON object whose first member is "t" (an integer) and
//    whose second is "kind" (a string); every further member is an attribute whose value is a
//    string, number, boolean or null (what the trace writer writes). Anything else is an
//    `invalid_request` error naming the line.
//  - Values hash as they read back: integer tokens as integers, other numbers as doubles,
//    null as null; so the result equals the writer's hash for a file it wrote. (An event that
//    repeated an attribute key cannot be recomputed: JSON readers keep one of the two; keel's
//    runtime never emits one.)
//
// Example:
//   std::ifstream in{"trace.jsonl"};
//   Result<TraceFileHash> h = hash_trace_file(in);
//   if (h) std::cout << to_hex16(h->hash) << " " << h->events << " events\n";
#pragma once

#include <cstdint>
#include <iosfwd>

#include "keel/core/result.h"

namespace keel::scenarios {

struct TraceFileHash {
  std::uint64_t hash = 0;
  std::uint64_t events = 0;
};

Result<TraceFileHash> hash_trace_file(std::istream& in);

}  // namespace keel::scenarios
