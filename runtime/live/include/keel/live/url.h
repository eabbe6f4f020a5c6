// keel/live/url.h — Url: the parts of an http(s) URL the HTTP client needs.
//
// Purpose: provider base URLs come from configuration or the environment (OPENAI_BASE_URL);
// this turns one into scheme, host, port and path, or a precise error.
//
// Contract:
//  - Accepts `http://` and `https://` (case-insensitive scheme), a host name, an IPv4 literal
//    or a bracketed IPv6 literal, an optional port (1..65535), an optional path. The default
//    port is 443 for https, 80 for http. Userinfo (`user:pass@`), queries and fragments are
//    refused (credentials never travel in URLs). Errors are ErrorCode::invalid_request and
//    do not echo the URL (it might carry a secret by mistake).
//  - `path` never ends with '/' (so `path + "/chat/completions"` is right); empty for "/".
//  - `is_loopback()` is true for localhost, 127.0.0.0/8 and ::1.
//
// Example:
//   Result<Url> u = Url::parse("https://api.openai.com/v1");
//   // u->tls == true, u->host == "api.openai.com", u->port == 443, u->path == "/v1"
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "keel/core/result.h"

namespace keel::live {

struct Url {
  bool tls = true;
  std::string host;  // without brackets for IPv6
  std::uint16_t port = 443;
  std::string path;  // "" or "/v1" (no trailing slash)

  static Result<Url> parse(std::string_view text);
  bool is_loopback() const noexcept;
  bool host_is_ip_literal() const noexcept;
  // "host:port" with brackets for IPv6: the pool key and the Host header (port omitted when default).
  std::string authority() const;
  std::string host_header() const;
};

}  // namespace keel::live
