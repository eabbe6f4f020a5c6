// keel/core/secret.h — Secret: a credential that cannot be printed, logged or traced by accident.
//
// Purpose: "secrets never reach any sink" (docs/architecture.md) by construction rather than by care. API
// keys and Authorization header values travel through keel as `Secret`, which has no implicit
// conversion to any string type: the only way to the characters is `reveal()`, named so every
// use can be found with `grep -rn 'reveal()'` and reviewed (there should be one per transport,
// where the header is written on the wire).
//
// Contract:
//  - `operator<<` writes "[redacted]"; an event attribute made from a Secret (event.h) carries
//    "[redacted]". There is no fmt formatter, so `fmt::format("{}", secret)` does not compile.
//  - Equality compares the revealed values in time independent of where they first differ.
//  - Copyable and movable like a std::string (a moved-from Secret is empty). std only.
//
// Example:
//   Secret key{load_key_from_vault()};
//   emit(sink, now, "provider.configured", {{"provider", "openai"}, {"api_key", key}});  // [redacted]
//   std::cout << key;                                   // prints [redacted]
//   headers.set("Authorization", "Bearer " + key.reveal());   // the one reviewed use
#pragma once

#include <cstddef>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>

namespace keel {

class Secret {
 public:
  // What every printed or traced Secret shows instead of its value.
  static constexpr std::string_view kRedacted = "[redacted]";

  Secret() = default;
  explicit Secret(std::string value) noexcept : value_(std::move(value)) {}

  // The only accessor. Grep for it; never pass the result to a log, event or error message.
  const std::string& reveal() const noexcept { return value_; }
  bool empty() const noexcept { return value_.empty(); }

  friend bool operator==(const Secret& a, const Secret& b) noexcept {
    const std::string& x = a.value_;
    const std::string& y = b.value_;
    unsigned char diff = x.size() == y.size() ? 0 : 1;
    const std::size_t n = x.size() < y.size() ? x.size() : y.size();
    for (std::size_t i = 0; i < n; ++i)
      diff |= static_cast<unsigned char>(x[i] ^ y[i]);
    return diff == 0;
  }

  friend std::ostream& operator<<(std::ostream& os, const Secret&) { return os << kRedacted; }

 private:
  std::string value_;
};

}  // namespace keel
