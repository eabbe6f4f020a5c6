// keel/core/scrub_secret.cpp — see the header.
#include "keel/core/scrub_secret.h"

#include <algorithm>

namespace keel {
namespace {

bool token_char(char c) noexcept {
  const auto u = static_cast<unsigned char>(c);
  return (u >= '0' && u <= '9') || (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || c == '-' || c == '_' ||
         c == '.' || u >= 0x80;
}

// Whether text[at, at + n) is a whole token (short secrets are replaced only there).
bool whole_token(std::string_view text, std::size_t at, std::size_t n) noexcept {
  return (at == 0 || !token_char(text[at - 1])) && (at + n == text.size() || !token_char(text[at + n]));
}

std::string replace_secret(std::string_view text, std::string_view key) {
  std::string out;
  out.reserve(text.size());
  const bool anywhere = key.size() >= kMinScrubbedSecret;
  std::size_t from = 0;
  for (std::size_t at = text.find(key); at != std::string_view::npos; at = text.find(key, at + 1)) {
    if (at < from || (!anywhere && !whole_token(text, at, key.size()))) continue;
    out.append(text.substr(from, at - from));
    out.append(Secret::kRedacted);
    from = at + key.size();
  }
  out.append(text.substr(from));
  return out;
}

// Cuts `s` to at most `max_bytes`, backing up over UTF-8 continuation bytes so no character is split.
void cut_utf8(std::string& s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return;
  std::size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(s[end]) & 0xC0) == 0x80) --end;
  s.resize(end);
}

// Drops the longest suffix of `s` (>= kMinSecretFragment bytes) that is a prefix of `key`.
void drop_trailing_fragment(std::string& s, std::string_view key) {
  const std::size_t longest = std::min(s.size(), key.size());
  for (std::size_t n = longest; n >= kMinSecretFragment; --n) {
    if (std::string_view(s).substr(s.size() - n) == key.substr(0, n)) {
      s.resize(s.size() - n);
      return;
    }
  }
}

}  // namespace

std::string scrub_secret(std::string_view text, const Secret& secret, std::size_t max_bytes) {
  const std::string_view key = secret.reveal();
  std::string out = key.empty() ? std::string(text) : replace_secret(text, key);
  cut_utf8(out, max_bytes);
  if (!key.empty()) drop_trailing_fragment(out, key);
  return out;
}

}  // namespace keel
