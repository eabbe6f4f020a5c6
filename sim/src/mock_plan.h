// Internal to keel_sim: how a MockProvider answers one request, decided when it arrives
// (mock_provider.cpp for whole answers, mock_stream.cpp for streams).
#pragma once

#include <cstdint>
#include <optional>

#include "keel/sim/mock_provider.h"
#include "keel/sim/provider_errors.h"

namespace keel::sim {

// How one request will be answered, decided when it arrives.
struct MockProvider::Plan {
  enum class Kind : std::uint8_t { answer, http_failure, network_reset, body_cut, hang };
  Kind kind = Kind::answer;
  Duration delay{};
  HttpErrorResponse http;
  std::optional<Duration> retry_after;
};

}  // namespace keel::sim
