#include "keel/live/provider_codec.h"

#include <functional>
#include <map>
#include <optional>
#include <unordered_map>

#include <nlohmann/json.hpp>

#include "keel/core/json_document.h"
#include "json_writer.h"

#include "keel/model/classify.h"
#include "keel/model/wire_fields.h"

namespace keel::live {

namespace {

using json = nlohmann::json;
using model::ChatRequest;
using model::ChatResponse;
using model::FinishReason;
using model::ProviderApi;
using model::Role;
using model::ToolCall;

using model::wire::anthropic_finish;
using model::wire::error_object;
using model::wire::int_or;
using model::wire::malformed;
using model::wire::openai_finish;
using model::wire::string_or;
using model::wire::view_or;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// Reading answers: JsonDocument (keel/core/json_document.h), which views the body instead of copying it.
const JsonValue* member(const JsonDocument& doc, const JsonValue& obj, std::string_view key) {
  return doc.member(obj, key);
}

// Text that must be JSON (tool schemas, tool-call arguments): validated and re-serialized.
Result<json> parse_json_text(std::string_view text, std::string_view what) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Error{ErrorCode::invalid_request, std::string(what) + " is not valid JSON"};
  return j;
}

// Reserves about the body's size and opens its object with the model (both APIs start so).
void begin_body(std::string& body, JsonWriter& w, const ChatRequest& req, std::string_view default_model) {
  std::size_t estimate = 128;
  for (const model::Message& m : req.messages) estimate += m.content.size() + 48;
  body.reserve(estimate);
  w.begin_object();
  w.key("model");
  w.string(req.model.empty() ? default_model : std::string_view(req.model));
}

// Tool parameter schemas, kept parsed: every request of a conversation carries the same tools,
// so each schema text is parsed (validated and re-serialized by nlohmann, as the body carries
// it) the first time a thread encodes it, and looked up after. One per thread (the codecs are
// called from any transport's thread), no lock; at most kMaxSchemas texts, then it starts over.
class ParsedSchemas {
 public:
  // The schema as the body carries it, or nullptr if `text` is not valid JSON.
  static const std::string* find(std::string_view text) {
    thread_local ParsedSchemas cache;
    return cache.lookup(text);
  }

 private:
  static constexpr std::size_t kMaxSchemas = 256;
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };

  const std::string* lookup(std::string_view text) {
    auto it = parsed_.find(text);
    if (it == parsed_.end()) {
      if (parsed_.size() >= kMaxSchemas) parsed_.clear();
      std::optional<std::string> dumped;
      if (const json j = json::parse(text, nullptr, /*allow_exceptions=*/false); !j.is_discarded()) dumped = dump(j);
      it = parsed_.emplace(std::string(text), std::move(dumped)).first;
    }
    return it->second ? &*it->second : nullptr;
  }

  std::unordered_map<std::string, std::optional<std::string>, Hash, std::equal_to<>> parsed_;
};

// A tool's name, description and parameter schema (under `schema_key`: the APIs differ only
// there) as members of the object `w` has open.
Status write_tool(JsonWriter& w, const model::ToolSpec& t, std::string_view schema_key) {
  const std::string* schema = ParsedSchemas::find(t.parameters_schema);
  if (!schema) return Error{ErrorCode::invalid_request, "tool parameter schema is not valid JSON"};
  w.key("name");
  w.string(t.name);
  w.key("description");
  w.string(t.description);
  w.key(schema_key);
  w.raw(*schema);
  return {};
}

// The document decode_response parses into: one per thread, reused (no node allocation per
// answer), trimmed after each use so one huge answer does not stay in memory.
struct ScratchDocument {
  ScratchDocument() : doc(instance()) {}
  ~ScratchDocument() { doc.trim(4096); }
  static JsonDocument& instance() {
    thread_local JsonDocument d;
    return d;
  }
  JsonDocument& doc;
};

// ---------------------------------------------------------------------------------- OpenAI

Result<std::string> encode_openai(const ChatRequest& req, std::string_view default_model) {
  std::string body;
  JsonWriter w{body};
  begin_body(body, w, req, default_model);
  w.key("messages");
  w.begin_array();
  for (const model::Message& m : req.messages) {
    w.begin_object();
    w.key("role");
    w.string(model::to_string(m.role));
    w.key("content");
    if (m.role == Role::assistant && !m.tool_calls.empty()) {
      if (m.content.empty()) {
        w.null();
      } else {
        w.string(m.content);
      }
      w.key("tool_calls");
      w.begin_array();
      for (const ToolCall& c : m.tool_calls) {
        w.begin_object();
        w.key("id");
        w.string(c.id);
        w.key("type");
        w.string("function");
        w.key("function");
        w.begin_object();
        w.key("name");
        w.string(c.name);
        w.key("arguments");
        w.string(c.arguments);
        w.end_object();
        w.end_object();
      }
      w.end_array();
    } else {
      w.string(m.content);
    }
    if (m.role == Role::tool) {
      w.key("tool_call_id");
      w.string(m.tool_call_id);
    }
    w.end_object();
  }
  w.end_array();
  if (!req.tools.empty()) {
    w.key("tools");
    w.begin_array();
    for (const model::ToolSpec& t : req.tools) {
      w.begin_object();
      w.key("type");
      w.string("function");
      w.key("function");
      w.begin_object();
      if (Status s = write_tool(w, t, "parameters"); !s) return std::move(s).error();
      w.end_object();
      w.end_object();
    }
    w.end_array();
  }
  w.key("max_tokens");
  w.integer(req.max_output_tokens);
  if (req.stream) {
    w.key("stream");
    w.boolean(true);
    w.key("stream_options");
    w.begin_object();
    w.key("include_usage");
    w.boolean(true);
    w.end_object();
  }
  w.end_object();
  return body;
}

Result<ChatResponse> decode_openai(std::string_view text, int status) {
  ScratchDocument scratch;
  JsonDocument& doc = scratch.doc;
  if (!doc.parse(text) || !doc.root().is_object()) return malformed("response body is not a JSON object");
  if (auto e = error_object(ProviderApi::openai, doc, text, status, std::string_view::npos)) return *e;
  const JsonValue* choices = member(doc, doc.root(), "choices");
  if (!choices || !choices->is_array() || choices->size == 0) return malformed("response has no choices");
  const JsonValue& choice = *doc.first(*choices);
  const JsonValue* message = member(doc, choice, "message");
  if (!message || !message->is_object()) return malformed("choice has no message");
  ChatResponse r;
  r.message.role = Role::assistant;
  r.message.content = string_or(doc, *message, "content");
  if (const JsonValue* calls = member(doc, *message, "tool_calls"); calls && calls->is_array()) {
    for (const JsonValue* c = doc.first(*calls); c; c = doc.next(*c)) {
      const JsonValue* fn = member(doc, *c, "function");
      if (!fn || !fn->is_object()) return malformed("tool call without function");
      r.message.tool_calls.push_back(
          {string_or(doc, *c, "id"), string_or(doc, *fn, "name"), string_or(doc, *fn, "arguments", "{}")});
    }
  }
  r.finish_reason = openai_finish(view_or(doc, choice, "finish_reason", "stop"));
  if (const JsonValue* usage = member(doc, doc.root(), "usage")) {
    r.usage.prompt_tokens = int_or(doc, *usage, "prompt_tokens");
    r.usage.completion_tokens = int_or(doc, *usage, "completion_tokens");
  }
  r.model = string_or(doc, doc.root(), "model");
  r.id = string_or(doc, doc.root(), "id");
  return r;
}

// ------------------------------------------------------------------------------- Anthropic

// An assistant message: its text (if any) and tool calls as one content array of text and
// tool_use blocks; a tool call's arguments must be a JSON text.
Status write_anthropic_assistant(JsonWriter& w, const model::Message& m) {
  w.begin_object();
  w.key("role");
  w.string("assistant");
  w.key("content");
  w.begin_array();
  if (!m.content.empty()) {
    w.begin_object();
    w.key("type");
    w.string("text");
    w.key("text");
    w.string(m.content);
    w.end_object();
  }
  for (const ToolCall& c : m.tool_calls) {
    w.begin_object();
    w.key("type");
    w.string("tool_use");
    w.key("id");
    w.string(c.id);
    w.key("name");
    w.string(c.name);
    w.key("input");
    if (c.arguments.empty()) {
      w.raw("{}");
    } else {
      Result<json> parsed = parse_json_text(c.arguments, "tool call arguments");
      if (!parsed) return std::move(parsed).error();
      w.raw(dump(*parsed));
    }
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return {};
}

// The `messages` array: system messages are left out (they go to `system`), and consecutive
// tool results are one user message of tool_result blocks, as Anthropic's API wants them.
Status write_anthropic_messages(JsonWriter& w, const ChatRequest& req) {
  w.key("messages");
  w.begin_array();
  bool tool_results_open = false;  // the last message is a user message of tool_result blocks
  const auto close_tool_results = [&] {
    if (!tool_results_open) return;
    w.end_array();
    w.end_object();
    tool_results_open = false;
  };
  for (const model::Message& m : req.messages) {
    switch (m.role) {
      case Role::system:
        break;
      case Role::user:
        close_tool_results();
        w.begin_object();
        w.key("role");
        w.string("user");
        w.key("content");
        w.string(m.content);
        w.end_object();
        break;
      case Role::assistant:
        close_tool_results();
        if (Status s = write_anthropic_assistant(w, m); !s) return s;
        break;
      case Role::tool:
        if (!tool_results_open) {
          w.begin_object();
          w.key("role");
          w.string("user");
          w.key("content");
          w.begin_array();
          tool_results_open = true;
        }
        w.begin_object();
        w.key("type");
        w.string("tool_result");
        w.key("tool_use_id");
        w.string(m.tool_call_id);
        w.key("content");
        w.string(m.content);
        w.end_object();
        break;
    }
  }
  close_tool_results();
  w.end_array();
  return {};
}

Result<std::string> encode_anthropic(const ChatRequest& req, std::string_view default_model) {
  std::string system;
  for (const model::Message& m : req.messages) {
    if (m.role == Role::system) {
      if (!system.empty()) system += "\n\n";
      system += m.content;
    }
  }
  std::string body;
  JsonWriter w{body};
  begin_body(body, w, req, default_model);
  w.key("max_tokens");
  w.integer(req.max_output_tokens);
  if (!system.empty()) {
    w.key("system");
    w.string(system);
  }
  if (Status s = write_anthropic_messages(w, req); !s) return std::move(s).error();
  if (!req.tools.empty()) {
    w.key("tools");
    w.begin_array();
    for (const model::ToolSpec& t : req.tools) {
      w.begin_object();
      if (Status s = write_tool(w, t, "input_schema"); !s) return std::move(s).error();
      w.end_object();
    }
    w.end_array();
  }
  if (req.stream) {
    w.key("stream");
    w.boolean(true);
  }
  w.end_object();
  return body;
}

Result<ChatResponse> decode_anthropic(std::string_view text, int status) {
  ScratchDocument scratch;
  JsonDocument& doc = scratch.doc;
  if (!doc.parse(text) || !doc.root().is_object()) return malformed("response body is not a JSON object");
  if (auto e = error_object(ProviderApi::anthropic, doc, text, status, std::string_view::npos)) return *e;
  const JsonValue* content = member(doc, doc.root(), "content");
  if (!content || !content->is_array()) return malformed("response has no content array");
  ChatResponse r;
  r.message.role = Role::assistant;
  for (const JsonValue* block = doc.first(*content); block; block = doc.next(*block)) {
    const std::string_view type = view_or(doc, *block, "type");
    if (type == "text") {
      r.message.content += view_or(doc, *block, "text");
    } else if (type == "tool_use") {
      const JsonValue* input = member(doc, *block, "input");
      r.message.tool_calls.push_back({string_or(doc, *block, "id"), string_or(doc, *block, "name"),
                                      input ? dump(json::parse(input->raw)) : "{}"});
    }
  }
  r.finish_reason = anthropic_finish(view_or(doc, doc.root(), "stop_reason", "end_turn"));
  if (const JsonValue* usage = member(doc, doc.root(), "usage")) {
    r.usage.prompt_tokens = int_or(doc, *usage, "input_tokens");
    r.usage.completion_tokens = int_or(doc, *usage, "output_tokens");
  }
  r.model = string_or(doc, doc.root(), "model");
  r.id = string_or(doc, doc.root(), "id");
  return r;
}

}  // namespace

Result<std::string> encode_request(ProviderApi api, const ChatRequest& request, std::string_view default_model) {
  try {
    return api == ProviderApi::anthropic ? encode_anthropic(request, default_model)
                                         : encode_openai(request, default_model);
  } catch (const json::exception& e) {
    return Error{ErrorCode::invalid_request, std::string("cannot encode the request: ") + e.what()};
  }
}

Result<ChatResponse> decode_response(ProviderApi api, std::string_view body, int status) {
  try {
    return api == ProviderApi::anthropic ? decode_anthropic(body, status) : decode_openai(body, status);
  } catch (const json::exception& e) {
    return malformed(std::string("unexpected response shape: ") + e.what());
  }
}

}  // namespace keel::live
