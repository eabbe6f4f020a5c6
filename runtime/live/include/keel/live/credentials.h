// keel/live/credentials.h — provider configuration from the environment.
//
// Purpose: production programs take their keys from the environment (OPENAI_API_KEY,
// ANTHROPIC_API_KEY) or from their own configuration. Reading the environment is allowed only
// in runtime/live (docs/architecture.md); everything below gets the values passed in.
//
// Contract:
//  - `secret_from_env(var)`: the variable's value as a Secret, or ErrorCode::auth ("VAR is not
//    set") when unset or empty. The value never appears in an error.
//  - `openai_from_env()`: name "openai", base URL from OPENAI_BASE_URL (default
//    https://api.openai.com/v1), key from OPENAI_API_KEY, model from OPENAI_MODEL (default
//    gpt-4o-mini). `anthropic_from_env()`: ANTHROPIC_BASE_URL (default
//    https://api.anthropic.com/v1), ANTHROPIC_API_KEY, ANTHROPIC_MODEL (default
//    claude-3-5-haiku-latest).
//
// Example:
//   Result<ProviderConfig> openai = live::openai_from_env();
//   if (!openai) { std::cerr << openai.error() << "\n"; return 2; }   // "auth: OPENAI_API_KEY is not set"
#pragma once

#include <string_view>

#include "keel/core/result.h"
#include "keel/core/secret.h"
#include "keel/live/http_transport.h"

namespace keel::live {

Result<Secret> secret_from_env(std::string_view variable);
Result<ProviderConfig> openai_from_env();
Result<ProviderConfig> anthropic_from_env();

}  // namespace keel::live
