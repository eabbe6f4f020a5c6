// Stream events into answers (stream.h) and the shared field readers (wire_fields.h).
#include <map>

#include "keel/model/classify.h"
#include "keel/model/stream.h"
#include "keel/model/wire_fields.h"

namespace keel::model {

namespace wire {

FinishReason openai_finish(std::string_view r) noexcept {
  if (r == "stop") return FinishReason::stop;
  if (r == "tool_calls" || r == "function_call") return FinishReason::tool_calls;
  if (r == "length") return FinishReason::length;
  if (r == "content_filter") return FinishReason::content_filter;
  return FinishReason::other;
}

FinishReason anthropic_finish(std::string_view r) noexcept {
  if (r == "end_turn" || r == "stop_sequence") return FinishReason::stop;
  if (r == "tool_use") return FinishReason::tool_calls;
  if (r == "max_tokens") return FinishReason::length;
  if (r == "refusal") return FinishReason::content_filter;
  return FinishReason::other;
}

std::optional<Error> error_object(ProviderApi api, const JsonDocument& doc, std::string_view text, int status,
                                  std::size_t max_message_bytes) {
  const JsonValue* err = doc.member(doc.root(), "error");
  if (!err || !err->is_object()) return std::nullopt;
  return classify_failure(api, "", HttpFailure{.status = status, .body = text, .max_message_bytes = max_message_bytes});
}

}  // namespace wire

using namespace wire;

Result<ChatResponse> StreamDecoder::complete(ChatResponse r) const {
  if (!progress_.finished) return malformed("stream ended before its finish reason");
  if (progress_.skipped > 0 && r.usage.completion_tokens != progress_.content_deltas) {
    return malformed("stream had " + std::to_string(progress_.skipped) +
                     " malformed event(s) and its usage does not prove every token arrived");
  }
  r.message.role = Role::assistant;
  r.answer_tokens = progress_.content_deltas;
  r.streamed = true;
  r.skipped_events = progress_.skipped;
  return r;
}

namespace {

class OpenAiStream final : public StreamDecoder {
 public:
  Status on_event(const StreamEvent& e) override {
    if (progress_.terminated) return {};  // anything after [DONE] is ignored
    progress_.opened = true;
    if (e.data == "[DONE]") {
      progress_.terminated = true;
      return {};
    }
    if (!doc_.parse(e.data) || !doc_.root().is_object()) return skip();
    const JsonValue& root = doc_.root();
    // The whole message: the transport scrubs its key out, then cuts it (cut first, a key
    // straddling the cut would survive in part).
    if (auto err = error_object(ProviderApi::openai, doc_, e.data, 200, std::string_view::npos)) return *err;
    const JsonValue* choices = doc_.member(root, "choices");
    if (choices && !choices->is_array()) return skip();
    if (id_.empty()) id_ = string_or(doc_, root, "id");
    if (model_.empty()) model_ = string_or(doc_, root, "model");
    if (const JsonValue* usage = doc_.member(root, "usage"); usage && usage->is_object()) {
      usage_.prompt_tokens = int_or(doc_, *usage, "prompt_tokens");
      usage_.completion_tokens = int_or(doc_, *usage, "completion_tokens");
    }
    if (!choices) return {};
    for (const JsonValue* choice = doc_.first(*choices); choice; choice = doc_.next(*choice)) {
      if (int_or(doc_, *choice, "index") != 0) continue;
      if (std::string_view f = view_or(doc_, *choice, "finish_reason"); !f.empty()) {
        finish_ = openai_finish(f);
        progress_.finished = true;
      }
      const JsonValue* delta = doc_.member(*choice, "delta");
      if (!delta || !delta->is_object()) continue;
      bool content = false;
      if (std::string_view text = view_or(doc_, *delta, "content"); !text.empty()) {
        content_ += text;
        content = true;
      }
      if (const JsonValue* calls = doc_.member(*delta, "tool_calls"); calls && calls->is_array()) {
        for (const JsonValue* c = doc_.first(*calls); c; c = doc_.next(*c)) {
          ToolCall& call = calls_[int_or(doc_, *c, "index")];
          if (std::string_view id = view_or(doc_, *c, "id"); !id.empty()) call.id = id;
          if (const JsonValue* fn = doc_.member(*c, "function"); fn && fn->is_object()) {
            call.name += view_or(doc_, *fn, "name");
            call.arguments += view_or(doc_, *fn, "arguments");
          }
          content = true;
        }
      }
      if (content) ++progress_.content_deltas;
    }
    return {};
  }
  Result<ChatResponse> finish() override {
    ChatResponse r;
    r.message.content = std::move(content_);
    for (auto& [index, call] : calls_) r.message.tool_calls.push_back(std::move(call));
    r.finish_reason = finish_;
    r.usage = usage_;
    r.model = std::move(model_);
    r.id = std::move(id_);
    return complete(std::move(r));
  }
  std::string partial_content() const override { return content_; }

 private:
  Status skip() {
    ++progress_.skipped;
    return {};
  }
  JsonDocument doc_;  // reused for every chunk
  std::string content_;
  std::map<int, ToolCall> calls_;
  FinishReason finish_ = FinishReason::stop;
  Usage usage_;
  std::string model_, id_;
};

class AnthropicStream final : public StreamDecoder {
 public:
  Status on_event(const StreamEvent& e) override {
    if (progress_.terminated) return {};
    progress_.opened = true;
    if (!doc_.parse(e.data) || !doc_.root().is_object()) return skip();
    const JsonValue& root = doc_.root();
    const std::string_view type = view_or(doc_, root, "type", e.event);
    if (type == "error" || e.event == "error") {
      if (auto err = error_object(ProviderApi::anthropic, doc_, e.data, 200, std::string_view::npos)) return *err;
      return skip();
    }
    if (type == "message_start") return on_start(root);
    if (type == "content_block_start") return on_block_start(root);
    if (type == "content_block_delta") return on_delta(root);
    if (type == "message_delta") {
      if (const JsonValue* delta = doc_.member(root, "delta"); delta && delta->is_object()) {
        if (std::string_view r = view_or(doc_, *delta, "stop_reason"); !r.empty()) {
          finish_ = anthropic_finish(r);
          progress_.finished = true;
        }
      }
      if (const JsonValue* usage = doc_.member(root, "usage"); usage && usage->is_object()) {
        usage_.completion_tokens = int_or(doc_, *usage, "output_tokens", usage_.completion_tokens);
      }
    } else if (type == "message_stop") {
      progress_.terminated = true;
    }
    // ping, content_block_stop and unknown event types carry nothing we need.
    return {};
  }
  Result<ChatResponse> finish() override {
    if (!started_) return malformed("stream ended before message_start");
    ChatResponse r;
    r.message.content = partial_content();
    for (auto& [index, b] : blocks_) {
      if (b.type == "tool_use") r.message.tool_calls.push_back({b.id, b.name, b.json.empty() ? "{}" : b.json});
    }
    r.finish_reason = finish_;
    r.usage = usage_;
    r.model = std::move(model_);
    r.id = std::move(id_);
    return complete(std::move(r));
  }
  std::string partial_content() const override {
    std::string text;
    for (const auto& [index, b] : blocks_) {
      if (b.type == "text") text += b.text;
    }
    return text;
  }

 private:
  struct Block {
    std::string type, id, name, text, json;
  };
  Status skip() {
    ++progress_.skipped;
    return {};
  }
  Status on_start(const JsonValue& root) {
    const JsonValue* message = doc_.member(root, "message");
    if (!message || !message->is_object()) return skip();
    model_ = string_or(doc_, *message, "model");
    id_ = string_or(doc_, *message, "id");
    if (const JsonValue* usage = doc_.member(*message, "usage"); usage && usage->is_object()) {
      usage_.prompt_tokens = int_or(doc_, *usage, "input_tokens");
      usage_.completion_tokens = int_or(doc_, *usage, "output_tokens");
    }
    started_ = true;
    return {};
  }
  Status on_block_start(const JsonValue& root) {
    const JsonValue* block = doc_.member(root, "content_block");
    if (!block || !block->is_object()) return skip();
    Block& b = blocks_[int_or(doc_, root, "index")];
    b.type = string_or(doc_, *block, "type");
    b.id = string_or(doc_, *block, "id");
    b.name = string_or(doc_, *block, "name");
    b.text = string_or(doc_, *block, "text");
    if (!b.text.empty()) ++progress_.content_deltas;
    return {};
  }
  Status on_delta(const JsonValue& root) {
    const JsonValue* delta = doc_.member(root, "delta");
    if (!delta || !delta->is_object()) return skip();
    auto it = blocks_.find(int_or(doc_, root, "index", -1));
    if (it == blocks_.end()) return skip();
    const std::string_view delta_type = view_or(doc_, *delta, "type");
    std::string_view piece;
    if (delta_type == "text_delta") {
      piece = view_or(doc_, *delta, "text");
      it->second.text += piece;
    } else if (delta_type == "input_json_delta") {
      piece = view_or(doc_, *delta, "partial_json");
      it->second.json += piece;
    }
    if (!piece.empty()) ++progress_.content_deltas;
    return {};
  }

  JsonDocument doc_;  // reused for every event
  bool started_ = false;
  std::map<int, Block> blocks_;
  FinishReason finish_ = FinishReason::stop;
  Usage usage_;
  std::string model_, id_;
};

}  // namespace

std::unique_ptr<StreamDecoder> make_stream_decoder(ProviderApi api) {
  if (api == ProviderApi::anthropic) return std::make_unique<AnthropicStream>();
  return std::make_unique<OpenAiStream>();
}

}  // namespace keel::model

namespace keel::model {

Task<Status> ModelTransport::stream(ChatRequest /*request*/, StreamSink& /*sink*/) {
  co_return Error{ErrorCode::invalid_request, "transport " + info().name + " does not stream"}.with_provider(info().name);
}

}  // namespace keel::model
