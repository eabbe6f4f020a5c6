// keel/core/scrub_secret.h — scrub_secret: a credential taken out of text before it leaves keel.
//
// Purpose: a provider may echo the API key back in an error message; the transport must not
// pass it on (Secret's contract, secret.h). Scrubbing first, then cutting, is the point: cut
// first, a key straddling the cut survives in part.
//
// Contract: scrub_secret(text, secret, max_bytes) is `text` with
//  - every occurrence of `secret` replaced by Secret::kRedacted; a secret shorter than
//    kMinScrubbedSecret (8) bytes only where it stands as a whole token (not touching a letter,
//    digit, '-', '_', '.' or non-ASCII byte), so a one-character "key" does not erase that
//    character from every message; an empty secret scrubs nothing;
//  - THEN cut to at most `max_bytes` bytes, never inside a UTF-8 character;
//  - then without a trailing fragment of kMinSecretFragment (4) bytes or more that begins the
//    secret (what a cut, ours or the sender's, left of a key). A shorter fragment is kept: it
//    tells no more than the public key prefixes ("sk-"), and dropping it would clip words.
//
// Example:
//   scrub_secret("bad key sk-abcdefgh1234", Secret{"sk-abcdefgh1234"}, 200) == "bad key [redacted]"
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "keel/core/secret.h"

namespace keel {

inline constexpr std::size_t kMinScrubbedSecret = 8;
inline constexpr std::size_t kMinSecretFragment = 4;

std::string scrub_secret(std::string_view text, const Secret& secret, std::size_t max_bytes = std::string_view::npos);

}  // namespace keel
