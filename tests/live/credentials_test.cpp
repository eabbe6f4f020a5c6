// Credentials from the environment: values become Secrets and never reach an error or a print.
#include "keel/live/credentials.h"

#include <cstdlib>
#include <sstream>

#include <gtest/gtest.h>

namespace keel::live {
namespace {

TEST(Credentials, FromTheEnvironmentAsSecrets) {
  ::setenv("OPENAI_API_KEY", "sk-env-secret-value", 1);
  ::setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1", 1);
  Result<ProviderConfig> c = openai_from_env();
  ASSERT_TRUE(c) << c.error();
  EXPECT_EQ(c->api_key.reveal(), "sk-env-secret-value");
  EXPECT_EQ(c->base_url, "http://127.0.0.1:9/v1");
  EXPECT_EQ(c->name, "openai");
  std::ostringstream printed;
  printed << c->api_key;
  EXPECT_EQ(printed.str(), "[redacted]");
  ::unsetenv("OPENAI_API_KEY");
  ::unsetenv("OPENAI_BASE_URL");

  ::unsetenv("ANTHROPIC_API_KEY");
  Result<ProviderConfig> missing = anthropic_from_env();
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::auth);
  EXPECT_EQ(missing.error().message, "ANTHROPIC_API_KEY is not set");
}

}  // namespace
}  // namespace keel::live
