#include "keel/live/provider_codec.h"

#include <map>
#include <optional>

#include <nlohmann/json.hpp>

#include "keel/core/json_document.h"
#include "json_writer.h"

#include "keel/model/classify.h"

namespace keel::live {

namespace {

using json = nlohmann::json;
using model::ChatRequest;
using model::ChatResponse;
using model::FinishReason;
using model::ProviderApi;
using model::Role;
using model::ToolCall;

Error malformed(std::string what) { return Error{ErrorCode::malformed_response, std::move(what)}; }

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// Reading answers: JsonDocument (keel/core/json_document.h), which views the body instead of copying it.
const JsonValue* member(const JsonDocument& doc, const JsonValue& obj, std::string_view key) {
  return doc.member(obj, key);
}
std::string string_or(const JsonDocument& doc, const JsonValue& obj, std::string_view key, std::string_view fallback = {}) {
  const JsonValue* v = doc.member(obj, key);
  return std::string(v && v->is_string() ? v->text : fallback);
}
std::string_view view_or(const JsonDocument& doc, const JsonValue& obj, std::string_view key, std::string_view fallback = {}) {
  const JsonValue* v = doc.member(obj, key);
  return v && v->is_string() ? v->text : fallback;
}
int int_or(const JsonDocument& doc, const JsonValue& obj, std::string_view key, int fallback = 0) {
  const JsonValue* v = doc.member(obj, key);
  if (!v || !v->is_integer()) return fallback;
  const std::int64_t n = v->integer;
  return n < 0 || n > 1'000'000'000 ? fallback : static_cast<int>(n);
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

// A tool's name, description and parameter schema (under `schema_key`: the APIs differ only
// there) as members of the object `w` has open.
Status write_tool(JsonWriter& w, const model::ToolSpec& t, std::string_view schema_key) {
  Result<json> schema = parse_json_text(t.parameters_schema, "tool parameter schema");
  if (!schema) return std::move(schema).error();
  w.key("name");
  w.string(t.name);
  w.key("description");
  w.string(t.description);
  w.key(schema_key);
  w.raw(dump(*schema));
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

// A body that is an error object: classified as if it came with `status`.
std::optional<Error> error_object(ProviderApi api, const JsonDocument& doc, std::string_view text, int status) {
  const JsonValue* err = doc.member(doc.root(), "error");
  if (!err || !err->is_object()) return std::nullopt;
  // Whole message: the transport scrubs its key out before cutting (http_transport.h).
  return model::classify_failure(api, "", {.status = status, .body = text, .max_message_bytes = std::string_view::npos});
}

FinishReason openai_finish(std::string_view r) {
  if (r == "stop") return FinishReason::stop;
  if (r == "tool_calls" || r == "function_call") return FinishReason::tool_calls;
  if (r == "length") return FinishReason::length;
  if (r == "content_filter") return FinishReason::content_filter;
  return FinishReason::other;
}

FinishReason anthropic_finish(std::string_view r) {
  if (r == "end_turn" || r == "stop_sequence") return FinishReason::stop;
  if (r == "tool_use") return FinishReason::tool_calls;
  if (r == "max_tokens") return FinishReason::length;
  if (r == "refusal") return FinishReason::content_filter;
  return FinishReason::other;
}

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
  if (auto e = error_object(ProviderApi::openai, doc, text, status)) return *e;
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
  return r;
}

class OpenAiStream final : public StreamDecoder {
 public:
  Status on_event(const SseEvent& e) override {
    if (done_) return {};  // anything after [DONE] is ignored
    if (e.data == "[DONE]") {
      done_ = true;
      return {};
    }
    if (!doc_.parse(e.data) || !doc_.root().is_object()) return malformed("stream chunk is not a JSON object");
    const JsonValue& root = doc_.root();
    if (auto err = error_object(ProviderApi::openai, doc_, e.data, 200)) return *err;
    if (model_.empty()) model_ = string_or(doc_, root, "model");
    if (const JsonValue* usage = member(doc_, root, "usage"); usage && usage->is_object()) {
      usage_.prompt_tokens = int_or(doc_, *usage, "prompt_tokens");
      usage_.completion_tokens = int_or(doc_, *usage, "completion_tokens");
    }
    const JsonValue* choices = member(doc_, root, "choices");
    if (!choices) return {};
    if (!choices->is_array()) return malformed("stream chunk choices is not an array");
    for (const JsonValue* choice = doc_.first(*choices); choice; choice = doc_.next(*choice)) {
      if (int_or(doc_, *choice, "index") != 0) continue;
      if (std::string_view f = view_or(doc_, *choice, "finish_reason"); !f.empty()) finish_ = openai_finish(f);
      const JsonValue* delta = member(doc_, *choice, "delta");
      if (!delta) continue;
      if (!delta->is_object()) return malformed("stream delta is not an object");
      content_ += view_or(doc_, *delta, "content");
      if (const JsonValue* calls = member(doc_, *delta, "tool_calls"); calls && calls->is_array()) {
        for (const JsonValue* c = doc_.first(*calls); c; c = doc_.next(*c)) {
          ToolCall& call = calls_[int_or(doc_, *c, "index")];
          if (std::string_view id = view_or(doc_, *c, "id"); !id.empty()) call.id = id;
          if (const JsonValue* fn = member(doc_, *c, "function"); fn && fn->is_object()) {
            call.name += view_or(doc_, *fn, "name");
            call.arguments += view_or(doc_, *fn, "arguments");
          }
        }
      }
    }
    return {};
  }
  Result<ChatResponse> finish() override {
    if (!done_) return malformed("stream ended before [DONE]");
    ChatResponse r;
    r.message.role = Role::assistant;
    r.message.content = std::move(content_);
    for (auto& [index, call] : calls_) r.message.tool_calls.push_back(std::move(call));
    r.finish_reason = finish_;
    r.usage = usage_;
    r.model = model_;
    return r;
  }

 private:
  JsonDocument doc_;  // reused for every chunk
  bool done_ = false;
  std::string content_;
  std::map<int, ToolCall> calls_;
  FinishReason finish_ = FinishReason::stop;
  model::Usage usage_;
  std::string model_;
};

// ------------------------------------------------------------------------------- Anthropic

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
      case Role::assistant: {
        close_tool_results();
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
        break;
      }
      case Role::tool: {
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
  }
  close_tool_results();
  w.end_array();
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
  if (auto e = error_object(ProviderApi::anthropic, doc, text, status)) return *e;
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
  return r;
}

class AnthropicStream final : public StreamDecoder {
 public:
  Status on_event(const SseEvent& e) override {
    if (stopped_) return {};
    if (!doc_.parse(e.data) || !doc_.root().is_object()) return malformed("stream event is not a JSON object");
    const JsonValue& root = doc_.root();
    const std::string_view type = view_or(doc_, root, "type", e.event);
    if (type == "error" || e.event == "error") {
      if (auto err = error_object(ProviderApi::anthropic, doc_, e.data, 200)) return *err;
      return malformed("stream error event without an error object");
    }
    if (type == "message_start") {
      const JsonValue* message = member(doc_, root, "message");
      if (!message || !message->is_object()) return malformed("message_start without message");
      model_ = string_or(doc_, *message, "model");
      if (const JsonValue* usage = member(doc_, *message, "usage")) {
        usage_.prompt_tokens = int_or(doc_, *usage, "input_tokens");
        usage_.completion_tokens = int_or(doc_, *usage, "output_tokens");
      }
      started_ = true;
    } else if (type == "content_block_start") {
      const JsonValue* block = member(doc_, root, "content_block");
      if (!block || !block->is_object()) return malformed("content_block_start without content_block");
      Block& b = blocks_[int_or(doc_, root, "index")];
      b.type = string_or(doc_, *block, "type");
      b.id = string_or(doc_, *block, "id");
      b.name = string_or(doc_, *block, "name");
      b.text = string_or(doc_, *block, "text");
    } else if (type == "content_block_delta") {
      const JsonValue* delta = member(doc_, root, "delta");
      if (!delta || !delta->is_object()) return malformed("content_block_delta without delta");
      auto it = blocks_.find(int_or(doc_, root, "index", -1));
      if (it == blocks_.end()) return malformed("content_block_delta for an unknown block");
      const std::string_view delta_type = view_or(doc_, *delta, "type");
      if (delta_type == "text_delta") it->second.text += view_or(doc_, *delta, "text");
      if (delta_type == "input_json_delta") it->second.json += view_or(doc_, *delta, "partial_json");
    } else if (type == "message_delta") {
      if (const JsonValue* delta = member(doc_, root, "delta"); delta && delta->is_object()) {
        if (std::string_view r = view_or(doc_, *delta, "stop_reason"); !r.empty()) finish_ = anthropic_finish(r);
      }
      if (const JsonValue* usage = member(doc_, root, "usage"); usage && usage->is_object()) {
        usage_.completion_tokens = int_or(doc_, *usage, "output_tokens", usage_.completion_tokens);
      }
    } else if (type == "message_stop") {
      stopped_ = true;
    }
    // ping, content_block_stop and unknown event types carry nothing we need.
    return {};
  }
  Result<ChatResponse> finish() override {
    if (!started_ || !stopped_) return malformed("stream ended before message_stop");
    ChatResponse r;
    r.message.role = Role::assistant;
    for (auto& [index, b] : blocks_) {
      if (b.type == "text") r.message.content += b.text;
      if (b.type == "tool_use") r.message.tool_calls.push_back({b.id, b.name, b.json.empty() ? "{}" : b.json});
    }
    r.finish_reason = finish_;
    r.usage = usage_;
    r.model = model_;
    return r;
  }

 private:
  struct Block {
    std::string type, id, name, text, json;
  };
  JsonDocument doc_;  // reused for every event
  bool started_ = false;
  bool stopped_ = false;
  std::map<int, Block> blocks_;
  FinishReason finish_ = FinishReason::stop;
  model::Usage usage_;
  std::string model_;
};

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

namespace {
// Guards a decoder against any nlohmann exception the checks above missed.
class SafeStream final : public StreamDecoder {
 public:
  explicit SafeStream(std::unique_ptr<StreamDecoder> inner) : inner_(std::move(inner)) {}
  Status on_event(const SseEvent& e) override {
    try {
      return inner_->on_event(e);
    } catch (const json::exception& ex) {
      return malformed(std::string("unexpected stream event shape: ") + ex.what());
    }
  }
  Result<ChatResponse> finish() override { return inner_->finish(); }

 private:
  std::unique_ptr<StreamDecoder> inner_;
};
}  // namespace

std::unique_ptr<StreamDecoder> make_stream_decoder(ProviderApi api) {
  if (api == ProviderApi::anthropic) return std::make_unique<SafeStream>(std::make_unique<AnthropicStream>());
  return std::make_unique<SafeStream>(std::make_unique<OpenAiStream>());
}

}  // namespace keel::live
