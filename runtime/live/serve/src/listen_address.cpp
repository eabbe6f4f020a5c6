// Parsing `--listen HOST:PORT` and the loopback rule (fault_server.h).
#include <charconv>

#include "keel/live/serve/fault_server.h"

#include <boost/asio/ip/address.hpp>

namespace keel::live::serve {

ListenAddress parse_listen_address(std::string_view text) {
  ListenAddress out;
  std::string_view host = text, port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) throw ServeError("--listen: expected \"[IPv6]:PORT\", found \"" + std::string(text) + "\"");
    host = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') throw ServeError("--listen: expected ':' after ']' in \"" + std::string(text) + "\"");
      port = rest.substr(1);
      if (port.empty()) throw ServeError("--listen: missing port after ':' in \"" + std::string(text) + "\"");
    }
  } else if (const auto colon = text.rfind(':'); colon != std::string_view::npos) {
    if (text.find(':') != colon) throw ServeError("--listen: write an IPv6 address as \"[ADDR]:PORT\", found \"" + std::string(text) + "\"");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (port.empty()) throw ServeError("--listen: missing port after ':' in \"" + std::string(text) + "\"");
  }
  if (host.empty()) throw ServeError("--listen: missing host in \"" + std::string(text) + "\" (e.g. 127.0.0.1:8080)");
  out.host = std::string(host);
  if (!port.empty()) {
    unsigned value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value > 65535) {
      throw ServeError("--listen: expected a port 0..65535, found \"" + std::string(port) + "\"");
    }
    out.port = static_cast<std::uint16_t>(value);
  }
  return out;
}

bool is_loopback_host(std::string_view host) {
  if (host == "localhost") return true;
  boost::system::error_code ec;
  const boost::asio::ip::address a = boost::asio::ip::make_address(std::string(host), ec);
  if (ec) throw ServeError("expected an IP address or \"localhost\", found \"" + std::string(host) + "\"");
  if (a.is_v6() && a.to_v6().is_v4_mapped()) return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6()).is_loopback();
  return a.is_loopback();
}

}  // namespace keel::live::serve
