// libFuzzer target: the live client's parsing path — an HTTP/1.1 response (Beast's parser,
// as HttpClient uses it), its body as an OpenAI / Anthropic JSON answer, and as an SSE stream
// split at a fuzzer-chosen byte fed through both providers' stream decoders. Any input must
// give a value or a classified Error: no crash, no exception, no sanitizer report. The codecs'
// JSON reader must accept exactly what nlohmann accepts (and decode strings the same), and the
// JSON writer's output must always parse back.
// keel serve's request path too: the raw bytes as an HTTP request read with serve's limits, and
// as a request body of either API (deep nesting included: refused past kMaxRequestDepth).
// Built and run by scripts/fuzz-live (clang libFuzzer, or g++ over the corpus).
#include "keel/core/json_check.h"
#include "keel/live/net.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "keel/core/json_document.h"
#include "json_writer.h"
#include "keel/live/provider_codec.h"
#include "keel/live/sse_parser.h"
#include "wire_request.h"

namespace {

using keel::model::ProviderApi;

void stream(ProviderApi api, std::string_view body, std::size_t cut) {
  keel::live::SseParser sse{1u << 16};
  auto decoder = keel::live::make_stream_decoder(api);
  for (std::string_view part : {body.substr(0, cut), body.substr(cut)}) {
    auto events = sse.feed(part);
    if (!events) return;
    for (const auto& e : *events) {
      if (!decoder->on_event(e)) return;
    }
  }
  (void)decoder->finish();
}

void body_paths(std::string_view body, std::size_t cut, int status) {
  for (ProviderApi api : {ProviderApi::openai, ProviderApi::anthropic}) {
    (void)keel::live::decode_response(api, body, status);
    stream(api, body, cut);
  }
}

// JsonDocument against nlohmann (the reference), JsonWriter against nlohmann's parser.
void json_text(std::string_view input) {
  keel::JsonDocument doc;
  const bool ours = doc.parse(input);
  const bool reference = nlohmann::json::accept(input);
  if (!doc.too_deep() && ours != reference) __builtin_trap();
  // keel::json_type (core/json_check.h) too, but for its documented strictness: a leading BOM
  // and any NUL byte are refused there.
  const bool bom = input.substr(0, 3) == "\xEF\xBB\xBF";
  const bool nul = input.find('\0') != std::string_view::npos;
  if (!bom && !nul && keel::is_json(input) != reference) __builtin_trap();
  if (keel::is_json(input) && !reference) __builtin_trap();
  if (ours && doc.root().is_string()) {
    if (doc.root().text != nlohmann::json::parse(input).get<std::string>()) __builtin_trap();
  }
  std::string out;
  keel::live::JsonWriter w{out};
  w.string(input);
  if (!nlohmann::json::accept(out)) __builtin_trap();
  std::string reread = nlohmann::json::parse(out).get<std::string>();
  const bool valid_utf8 = nlohmann::json::accept("\"" + std::string(input) + "\"");  // roughly: no escapes needed
  if (valid_utf8 && input.find_first_of("\"\\") == std::string_view::npos && reread != input) __builtin_trap();
}

// keel serve: a request body of either API must parse to a request or an error message.
void serve_body(std::string_view body) {
  for (ProviderApi api : {ProviderApi::openai, ProviderApi::anthropic}) {
    const keel::live::serve::WireRequest r = keel::live::serve::parse_wire_request(api, body);
    if (r.error.empty() && !nlohmann::json::accept(body)) __builtin_trap();  // accepted only valid JSON
  }
}

// keel serve: the bytes as an HTTP request, read as the server reads it (fault_server.cpp: its
// header and body limits), then its body as a request.
void serve_request(std::string_view input) {
  namespace http = boost::beast::http;
  http::request_parser<http::string_body> parser;
  parser.header_limit(16 * 1024);
  parser.body_limit(1u << 20);
  boost::system::error_code ec;
  std::string_view rest = input;
  while (!rest.empty() && !parser.is_done()) {
    const std::size_t used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
    if (ec == http::error::need_more) return;
    if (ec || used == 0) return;
    rest.remove_prefix(used);
  }
  if (parser.is_done()) serve_body(parser.get().body());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const std::size_t cut = input.empty() ? 0 : data[0] % (input.size() + 1);

  // The raw bytes as a body.
  body_paths(input, cut, 200);
  json_text(input);
  serve_body(input);
  serve_request(input);

  // The raw bytes as an HTTP response, parsed the way HttpClient parses.
  namespace http = boost::beast::http;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1u << 20);
  parser.eager(true);
  boost::system::error_code ec;
  std::string_view rest = input;
  while (!rest.empty() && !parser.is_done()) {
    const std::size_t used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
    if (ec == http::error::need_more) break;
    if (ec || used == 0) return 0;
    rest.remove_prefix(used);
  }
  if (!parser.is_done()) {
    if (!parser.got_some()) return 0;  // as Beast's read: end_of_stream before any byte
    parser.put_eof(ec);
    if (ec) return 0;
  }
  const std::string& body = parser.get().body();
  body_paths(body, cut % (body.size() + 1), static_cast<int>(parser.get().result_int()));
  return 0;
}
