// TLS on loopback with a CA and server certificate generated at test time (test_certs.h):
// a certificate chaining to the configured CA and naming the host passes; a host-name
// mismatch and an untrusted CA fail as non-retryable network errors, and nothing leaks.
#include <gtest/gtest.h>

#include "keel/live/http_transport.h"
#include "live/live_test_support.h"
#include "live/loopback_server.h"
#include "live/test_certs.h"

namespace keel::live {
namespace {

using namespace std::chrono_literals;
using model::ChatResponse;
using model::ProviderApi;
using test::LoopbackServer;
using test::Request;
using test::ServerConnection;

constexpr std::string_view kOk =
    R"({"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"secure"},"finish_reason":"stop"}]})";

class Tls : public test::NoLeakedFds {
 protected:
  static void SetUpTestSuite() { certs_ = new test::TestCerts(); }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }
  void SetUp() override {
    if (!certs_->ok()) GTEST_SKIP() << "the openssl command could not make test certificates";
    NoLeakedFds::SetUp();
  }

  Result<ChatResponse> call(std::string_view host, const std::string& ca_file) {
    LoopbackServer server{[](ServerConnection& c, const Request&) { return c.write(test::response(200, kOk)); },
                          LoopbackServer::TlsFiles{certs_->server_cert(), certs_->server_key()}};
    boost::asio::io_context io;
    AsioScheduler sched{io};
    HttpClientConfig config;
    config.timeouts = {.connect = 2s, .first_byte = 2s, .idle = 2s, .total = 5s};
    config.use_system_ca = false;
    config.ca_file = ca_file;
    HttpClient client{sched, config};
    HttpModelTransport t{client, {.name = "tls", .base_url = server.url(host) + "/v1", .api_key = Secret{"k"}, .model = "m"}};
    model::ChatRequest req;
    req.messages = {model::Message::user("hi")};
    return test::run_task(sched, t.complete(std::move(req)));
  }

  static test::TestCerts* certs_;
};
test::TestCerts* Tls::certs_ = nullptr;

TEST_F(Tls, ACertificateFromTheTrustedCaForTheHostPasses) {
  Result<ChatResponse> r = call("localhost", certs_->ca());
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->message.content, "secure");
}

TEST_F(Tls, AWrongHostNameFailsVerification) {
  Result<ChatResponse> r = call("127.0.0.1", certs_->ca());  // the certificate names only localhost
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::network);
  EXPECT_EQ(r.error().should_retry, false);
  EXPECT_NE(r.error().message.find("certificate verification failed"), std::string::npos) << r.error();
}

TEST_F(Tls, AnUntrustedCaFailsVerification) {
  Result<ChatResponse> r = call("localhost", certs_->other_ca());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::network);
  EXPECT_EQ(r.error().should_retry, false);
}

TEST(TlsConfig, AMissingCaFileIsAConfigurationError) {
  boost::asio::io_context io;
  AsioScheduler sched{io};
  HttpClientConfig config;
  config.ca_file = "/nonexistent/ca.pem";
  EXPECT_THROW((HttpClient{sched, config}), std::runtime_error);
}

}  // namespace
}  // namespace keel::live
