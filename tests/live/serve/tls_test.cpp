// keel serve over TLS: a certificate authority and a localhost server certificate are made at
// test time with the openssl command; the client verifies the chain and the host name.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "wire_client.h"

namespace keel::live::serve::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* kScenario = R"({"keel_scenario": 1, "name": "tls", "providers": [
  {"name": "gpt", "latency": {"fixed": "1s"}, "output_tokens": 10}], "workload": {"kind": "agents"}})";

// A temporary folder with ca.pem, server.pem (CN/SAN localhost, signed by the CA) and key.pem.
class TestPki {
 public:
  TestPki() {
    char tmpl[] = "/tmp/keel-tls-XXXXXX";
    if (!mkdtemp(tmpl)) return;
    dir_ = tmpl;
    const std::string d = dir_.string();
    const std::string script =
        "cd " + d + " && "
        "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=keel-test-ca && "
        "openssl req -newkey rsa:2048 -nodes -keyout key.pem -out server.csr -subj /CN=localhost && "
        "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext && "
        "openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 1 "
        "-extfile san.ext";
    ok_ = std::system(("(" + script + ") >/dev/null 2>&1").c_str()) == 0;
  }
  ~TestPki() {
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }
  bool ok() const { return ok_; }
  std::string file(const char* name) const { return (dir_ / name).string(); }

 private:
  fs::path dir_;
  bool ok_ = false;
};

TEST(FaultServerTls, ServesHttpsThatAVerifyingClientAccepts) {
  TestPki pki;
  if (!pki.ok()) GTEST_SKIP() << "the openssl command is not available to make a test CA";
  ServedScenario s{kScenario, ServeOptions{.host = "localhost",
                                           .time_scale = 0.02,
                                           .tls_cert_file = pki.file("server.pem"),
                                           .tls_key_file = pki.file("key.pem")}};
  EXPECT_TRUE(s.server().tls());
  EXPECT_EQ(s.server().endpoints()[0].base_url, "https://localhost:" + std::to_string(s.port()) + "/gpt/v1");
  WireClient c{s.port(), pki.file("ca.pem"), "localhost"};
  WireResult r = c.post("/gpt/v1/chat/completions", R"({"messages": [{"role": "user", "content": "hi"}]})", 3s);
  ASSERT_EQ(r.end, WireResult::End::complete) << to_string(r.end) << " " << r.error;
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(nlohmann::json::parse(r.body)["object"], "chat.completion");
  EXPECT_EQ(c.post("/gpt/v1/chat/completions", R"({"messages": []})", 3s).status, 200);  // keep-alive over TLS
}

TEST(FaultServerTls, AClientThatDoesNotTrustTheCaIsRefused) {
  TestPki pki;
  TestPki other;
  if (!pki.ok() || !other.ok()) GTEST_SKIP() << "the openssl command is not available to make a test CA";
  ServedScenario s{kScenario, ServeOptions{.time_scale = 0.02,
                                           .tls_cert_file = pki.file("server.pem"),
                                           .tls_key_file = pki.file("key.pem")}};
  EXPECT_THROW(WireClient(s.port(), other.file("ca.pem"), "localhost"), boost::system::system_error);
}

// Over the connection cap a TLS client is answered too: 503 with retry-after after the
// handshake, not a bare close it would read as a network failure.
TEST(FaultServerTls, AConnectionOverTheCapIsAnswered503) {
  TestPki pki;
  if (!pki.ok()) GTEST_SKIP() << "the openssl command is not available to make a test CA";
  ServedScenario s{kScenario, ServeOptions{.host = "localhost",
                                           .time_scale = 0.02,
                                           .tls_cert_file = pki.file("server.pem"),
                                           .tls_key_file = pki.file("key.pem"),
                                           .limits = {.max_connections = 1}}};
  WireClient first{s.port(), pki.file("ca.pem"), "localhost"};
  for (int i = 0; i < 200 && s.on_io([&] { return s.server().open_connections(); }) < 1; ++i) {
    std::this_thread::sleep_for(5ms);  // wait for the server to accept the first one
  }
  ASSERT_EQ(s.on_io([&] { return s.server().open_connections(); }), 1u);
  WireClient second{s.port(), pki.file("ca.pem"), "localhost"};
  WireResult r = second.post("/gpt/v1/chat/completions", R"({"messages": []})", 3s);
  ASSERT_EQ(r.end, WireResult::End::complete) << to_string(r.end) << " " << r.error;
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.header("retry-after"), "1");
  EXPECT_EQ(r.header("connection"), "close");
  EXPECT_EQ(first.post("/gpt/v1/chat/completions", R"({"messages": []})", 3s).status, 200);
}

TEST(FaultServerTls, AMissingCertificateIsAConfigurationError) {
  boost::asio::io_context io;
  EXPECT_THROW(FaultServer(io, load_scenario_text(kScenario),
                           ServeOptions{.tls_cert_file = "/nonexistent/cert.pem", .tls_key_file = "/nonexistent/key.pem"}),
               ServeError);
  EXPECT_THROW(FaultServer(io, load_scenario_text(kScenario), ServeOptions{.tls_cert_file = "/x.pem"}), ServeError);
}

}  // namespace
}  // namespace keel::live::serve::testing
