#include "keel/live/credentials.h"

#include <cstdlib>
#include <string>

namespace keel::live {

namespace {

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

Result<ProviderConfig> from_env(const char* prefix, model::ProviderApi api, std::string name,
                                std::string default_url, std::string default_model) {
  const std::string p(prefix);
  Result<Secret> key = secret_from_env(p + "_API_KEY");
  if (!key) return std::move(key).error();
  ProviderConfig c;
  c.name = std::move(name);
  c.api = api;
  c.base_url = env_or((p + "_BASE_URL").c_str(), std::move(default_url));
  c.api_key = std::move(*key);
  c.model = env_or((p + "_MODEL").c_str(), std::move(default_model));
  if (api == model::ProviderApi::anthropic) c.context_window = 200000;
  return c;
}

}  // namespace

Result<Secret> secret_from_env(std::string_view variable) {
  const std::string name(variable);
  const char* v = std::getenv(name.c_str());
  if (!v || !*v) return Error{ErrorCode::auth, name + " is not set"};
  return Secret{std::string(v)};
}

Result<ProviderConfig> openai_from_env() {
  return from_env("OPENAI", model::ProviderApi::openai, "openai", "https://api.openai.com/v1", "gpt-4o-mini");
}

Result<ProviderConfig> anthropic_from_env() {
  return from_env("ANTHROPIC", model::ProviderApi::anthropic, "anthropic", "https://api.anthropic.com/v1",
                  "claude-3-5-haiku-latest");
}

}  // namespace keel::live
