#include "keel/live/provider_codec.h"

#include <map>
#include <optional>

#include <nlohmann/json.hpp>

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

const json* member(const json& obj, const char* key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}
std::string string_or(const json& obj, const char* key, std::string fallback = {}) {
  const json* v = member(obj, key);
  return v && v->is_string() ? v->get<std::string>() : fallback;
}
int int_or(const json& obj, const char* key, int fallback = 0) {
  const json* v = member(obj, key);
  if (!v || !v->is_number_integer()) return fallback;
  const auto n = v->get<std::int64_t>();
  return n < 0 || n > 1'000'000'000 ? fallback : static_cast<int>(n);
}

Result<json> parse_json_text(std::string_view text, std::string_view what) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Error{ErrorCode::invalid_request, std::string(what) + " is not valid JSON"};
  return j;
}

// A body that is an error object: classified as if it came with `status`.
std::optional<Error> error_object(ProviderApi api, const json& doc, std::string_view text, int status) {
  const json* err = member(doc, "error");
  if (!err || !err->is_object()) return std::nullopt;
  return model::classify_failure(api, "", model::HttpFailure{.status = status, .body = text});
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
  json body;
  body["model"] = req.model.empty() ? std::string(default_model) : req.model;
  json messages = json::array();
  for (const model::Message& m : req.messages) {
    json msg;
    msg["role"] = std::string(model::to_string(m.role));
    if (m.role == Role::assistant && !m.tool_calls.empty()) {
      msg["content"] = m.content.empty() ? json(nullptr) : json(m.content);
      json calls = json::array();
      for (const ToolCall& c : m.tool_calls) {
        calls.push_back({{"id", c.id}, {"type", "function"}, {"function", {{"name", c.name}, {"arguments", c.arguments}}}});
      }
      msg["tool_calls"] = std::move(calls);
    } else {
      msg["content"] = m.content;
    }
    if (m.role == Role::tool) msg["tool_call_id"] = m.tool_call_id;
    messages.push_back(std::move(msg));
  }
  body["messages"] = std::move(messages);
  if (!req.tools.empty()) {
    json tools = json::array();
    for (const model::ToolSpec& t : req.tools) {
      Result<json> schema = parse_json_text(t.parameters_schema, "tool parameter schema");
      if (!schema) return std::move(schema).error();
      tools.push_back({{"type", "function"},
                       {"function", {{"name", t.name}, {"description", t.description}, {"parameters", *schema}}}});
    }
    body["tools"] = std::move(tools);
  }
  body["max_tokens"] = req.max_output_tokens;
  if (req.stream) {
    body["stream"] = true;
    body["stream_options"] = {{"include_usage", true}};
  }
  return dump(body);
}

Result<ChatResponse> decode_openai(std::string_view text, int status) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return malformed("response body is not a JSON object");
  if (auto e = error_object(ProviderApi::openai, doc, text, status)) return *e;
  const json* choices = member(doc, "choices");
  if (!choices || !choices->is_array() || choices->empty()) return malformed("response has no choices");
  const json& choice = (*choices)[0];
  const json* message = member(choice, "message");
  if (!message || !message->is_object()) return malformed("choice has no message");
  ChatResponse r;
  r.message.role = Role::assistant;
  r.message.content = string_or(*message, "content");
  if (const json* calls = member(*message, "tool_calls"); calls && calls->is_array()) {
    for (const json& c : *calls) {
      const json* fn = member(c, "function");
      if (!fn || !fn->is_object()) return malformed("tool call without function");
      r.message.tool_calls.push_back({string_or(c, "id"), string_or(*fn, "name"), string_or(*fn, "arguments", "{}")});
    }
  }
  r.finish_reason = openai_finish(string_or(choice, "finish_reason", "stop"));
  if (const json* usage = member(doc, "usage")) {
    r.usage.prompt_tokens = int_or(*usage, "prompt_tokens");
    r.usage.completion_tokens = int_or(*usage, "completion_tokens");
  }
  r.model = string_or(doc, "model");
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
    json doc = json::parse(e.data, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return malformed("stream chunk is not a JSON object");
    if (auto err = error_object(ProviderApi::openai, doc, e.data, 200)) return *err;
    if (model_.empty()) model_ = string_or(doc, "model");
    if (const json* usage = member(doc, "usage"); usage && usage->is_object()) {
      usage_.prompt_tokens = int_or(*usage, "prompt_tokens");
      usage_.completion_tokens = int_or(*usage, "completion_tokens");
    }
    const json* choices = member(doc, "choices");
    if (!choices) return {};
    if (!choices->is_array()) return malformed("stream chunk choices is not an array");
    for (const json& choice : *choices) {
      if (int_or(choice, "index") != 0) continue;
      if (std::string f = string_or(choice, "finish_reason"); !f.empty()) finish_ = openai_finish(f);
      const json* delta = member(choice, "delta");
      if (!delta) continue;
      if (!delta->is_object()) return malformed("stream delta is not an object");
      content_ += string_or(*delta, "content");
      if (const json* calls = member(*delta, "tool_calls"); calls && calls->is_array()) {
        for (const json& c : *calls) {
          ToolCall& call = calls_[int_or(c, "index")];
          if (std::string id = string_or(c, "id"); !id.empty()) call.id = id;
          if (const json* fn = member(c, "function"); fn && fn->is_object()) {
            call.name += string_or(*fn, "name");
            call.arguments += string_or(*fn, "arguments");
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
  bool done_ = false;
  std::string content_;
  std::map<int, ToolCall> calls_;
  FinishReason finish_ = FinishReason::stop;
  model::Usage usage_;
  std::string model_;
};

// ------------------------------------------------------------------------------- Anthropic

Result<std::string> encode_anthropic(const ChatRequest& req, std::string_view default_model) {
  json body;
  body["model"] = req.model.empty() ? std::string(default_model) : req.model;
  body["max_tokens"] = req.max_output_tokens;
  std::string system;
  json messages = json::array();
  for (const model::Message& m : req.messages) {
    switch (m.role) {
      case Role::system:
        if (!system.empty()) system += "\n\n";
        system += m.content;
        break;
      case Role::user:
        messages.push_back({{"role", "user"}, {"content", m.content}});
        break;
      case Role::assistant: {
        json blocks = json::array();
        if (!m.content.empty()) blocks.push_back({{"type", "text"}, {"text", m.content}});
        for (const ToolCall& c : m.tool_calls) {
          json input = json::object();
          if (!c.arguments.empty()) {
            Result<json> parsed = parse_json_text(c.arguments, "tool call arguments");
            if (!parsed) return std::move(parsed).error();
            input = std::move(*parsed);
          }
          blocks.push_back({{"type", "tool_use"}, {"id", c.id}, {"name", c.name}, {"input", std::move(input)}});
        }
        messages.push_back({{"role", "assistant"}, {"content", std::move(blocks)}});
        break;
      }
      case Role::tool: {
        json block = {{"type", "tool_result"}, {"tool_use_id", m.tool_call_id}, {"content", m.content}};
        json* last = messages.empty() ? nullptr : &messages.back();
        if (last && (*last)["role"] == "user" && (*last)["content"].is_array()) {
          (*last)["content"].push_back(std::move(block));
        } else {
          messages.push_back({{"role", "user"}, {"content", json::array({std::move(block)})}});
        }
        break;
      }
    }
  }
  if (!system.empty()) body["system"] = system;
  body["messages"] = std::move(messages);
  if (!req.tools.empty()) {
    json tools = json::array();
    for (const model::ToolSpec& t : req.tools) {
      Result<json> schema = parse_json_text(t.parameters_schema, "tool parameter schema");
      if (!schema) return std::move(schema).error();
      tools.push_back({{"name", t.name}, {"description", t.description}, {"input_schema", *schema}});
    }
    body["tools"] = std::move(tools);
  }
  if (req.stream) body["stream"] = true;
  return dump(body);
}

Result<ChatResponse> decode_anthropic(std::string_view text, int status) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return malformed("response body is not a JSON object");
  if (auto e = error_object(ProviderApi::anthropic, doc, text, status)) return *e;
  const json* content = member(doc, "content");
  if (!content || !content->is_array()) return malformed("response has no content array");
  ChatResponse r;
  r.message.role = Role::assistant;
  for (const json& block : *content) {
    const std::string type = string_or(block, "type");
    if (type == "text") {
      r.message.content += string_or(block, "text");
    } else if (type == "tool_use") {
      const json* input = member(block, "input");
      r.message.tool_calls.push_back({string_or(block, "id"), string_or(block, "name"), input ? dump(*input) : "{}"});
    }
  }
  r.finish_reason = anthropic_finish(string_or(doc, "stop_reason", "end_turn"));
  if (const json* usage = member(doc, "usage")) {
    r.usage.prompt_tokens = int_or(*usage, "input_tokens");
    r.usage.completion_tokens = int_or(*usage, "output_tokens");
  }
  r.model = string_or(doc, "model");
  return r;
}

class AnthropicStream final : public StreamDecoder {
 public:
  Status on_event(const SseEvent& e) override {
    if (stopped_) return {};
    json doc = json::parse(e.data, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) return malformed("stream event is not a JSON object");
    const std::string type = string_or(doc, "type", e.event);
    if (type == "error" || e.event == "error") {
      if (auto err = error_object(ProviderApi::anthropic, doc, e.data, 200)) return *err;
      return malformed("stream error event without an error object");
    }
    if (type == "message_start") {
      const json* message = member(doc, "message");
      if (!message || !message->is_object()) return malformed("message_start without message");
      model_ = string_or(*message, "model");
      if (const json* usage = member(*message, "usage")) {
        usage_.prompt_tokens = int_or(*usage, "input_tokens");
        usage_.completion_tokens = int_or(*usage, "output_tokens");
      }
      started_ = true;
    } else if (type == "content_block_start") {
      const json* block = member(doc, "content_block");
      if (!block || !block->is_object()) return malformed("content_block_start without content_block");
      Block& b = blocks_[int_or(doc, "index")];
      b.type = string_or(*block, "type");
      b.id = string_or(*block, "id");
      b.name = string_or(*block, "name");
      b.text = string_or(*block, "text");
    } else if (type == "content_block_delta") {
      const json* delta = member(doc, "delta");
      if (!delta || !delta->is_object()) return malformed("content_block_delta without delta");
      auto it = blocks_.find(int_or(doc, "index", -1));
      if (it == blocks_.end()) return malformed("content_block_delta for an unknown block");
      const std::string delta_type = string_or(*delta, "type");
      if (delta_type == "text_delta") it->second.text += string_or(*delta, "text");
      if (delta_type == "input_json_delta") it->second.json += string_or(*delta, "partial_json");
    } else if (type == "message_delta") {
      if (const json* delta = member(doc, "delta"); delta && delta->is_object()) {
        if (std::string r = string_or(*delta, "stop_reason"); !r.empty()) finish_ = anthropic_finish(r);
      }
      if (const json* usage = member(doc, "usage"); usage && usage->is_object()) {
        usage_.completion_tokens = int_or(*usage, "output_tokens", usage_.completion_tokens);
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
