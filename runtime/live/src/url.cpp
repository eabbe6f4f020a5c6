#include "keel/live/url.h"

#include <algorithm>
#include <cctype>

namespace keel::live {

namespace {

Error bad_url(std::string_view why) { return Error{ErrorCode::invalid_request, "bad URL: " + std::string(why)}; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool valid_host_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

}  // namespace

Result<Url> Url::parse(std::string_view text) {
  Url u;
  const auto sep = text.find("://");
  if (sep == std::string_view::npos) return bad_url("missing scheme (want http:// or https://)");
  const std::string_view scheme = text.substr(0, sep);
  if (iequals(scheme, "https")) {
    u.tls = true;
    u.port = 443;
  } else if (iequals(scheme, "http")) {
    u.tls = false;
    u.port = 80;
  } else {
    return bad_url("unsupported scheme (want http or https)");
  }
  std::string_view rest = text.substr(sep + 3);
  if (rest.find_first_of("?#") != std::string_view::npos) return bad_url("queries and fragments are not supported");
  const auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (authority.find('@') != std::string_view::npos) return bad_url("credentials in URLs are refused");
  std::string_view port_text;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return bad_url("unterminated IPv6 literal");
    u.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad_url("junk after IPv6 literal");
      port_text = after.substr(1);
    }
    if (u.host.empty() || !std::all_of(u.host.begin(), u.host.end(), [](char c) {
          return std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.';
        })) {
      return bad_url("bad IPv6 literal");
    }
  } else {
    const auto colon = authority.find(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port_text = authority.substr(colon + 1);
    if (u.host.empty()) return bad_url("empty host");
    if (!std::all_of(u.host.begin(), u.host.end(), valid_host_char)) return bad_url("bad host name");
  }
  if (!port_text.empty() || authority.ends_with(':')) {
    if (port_text.empty() || port_text.size() > 5 ||
        !std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return bad_url("bad port");
    }
    const int port = std::stoi(std::string(port_text));
    if (port < 1 || port > 65535) return bad_url("port out of range");
    u.port = static_cast<std::uint16_t>(port);
  }
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  u.path = std::string(path);
  return u;
}

bool Url::host_is_ip_literal() const noexcept {
  if (host.find(':') != std::string::npos) return true;
  return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) {
    return (c >= '0' && c <= '9') || c == '.';
  });
}

bool Url::is_loopback() const noexcept {
  if (iequals(host, "localhost") || host == "::1") return true;
  return host_is_ip_literal() && host.rfind("127.", 0) == 0;
}

std::string Url::authority() const {
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return h + ":" + std::to_string(port);
}

std::string Url::host_header() const {
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  const bool default_port = (tls && port == 443) || (!tls && port == 80);
  return default_port ? h : h + ":" + std::to_string(port);
}

}  // namespace keel::live
