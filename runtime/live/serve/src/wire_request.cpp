// Reads request bodies with the runtime's JsonDocument (core/json_document.h): one flat node
// array, no recursion deeper than JsonDocument::kMaxDepth, strings viewed in place. A
// tool_use `input` is taken as its source text (compacted), never re-serialized from a tree:
// the recursive nlohmann dump this replaces overflowed the stack on a 55k-deep input.
#include "wire_request.h"

#include <algorithm>
#include <string>

#include "keel/core/json_document.h"

namespace keel::live::serve {

namespace {

// A request being read: the document and the helpers every field read needs.
struct Reader {
  const JsonDocument& doc;

  const JsonValue* member(const JsonValue& obj, std::string_view key) const { return doc.member(obj, key); }
  // A string member's text, or "" when absent or not a string.
  std::string string_member(const JsonValue& obj, std::string_view key) const {
    const JsonValue* v = member(obj, key);
    return v && v->is_string() ? std::string(v->text) : std::string{};
  }
  template <class F>
  void each(const JsonValue& container, F f) const {
    for (const JsonValue* c = doc.first(container); c; c = doc.next(*c)) f(*c);
  }

  // Text of an OpenAI `content` (string, null, or parts) or an Anthropic block list.
  std::string text_of(const JsonValue& content) const {
    if (content.is_string()) return std::string(content.text);
    std::string out;
    if (!content.is_array()) return out;
    each(content, [&](const JsonValue& part) { out += text_of_block(part); });
    return out;
  }
  std::string text_of_block(const JsonValue& part) const {
    if (!part.is_object()) return {};
    const JsonValue* t = member(part, "text");
    return t && t->is_string() ? std::string(t->text) : std::string{};
  }
};

// `raw` JSON text without the whitespace between tokens (what a compact serializer writes).
std::string compact(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  bool in_string = false, escaped = false;
  for (const char c : raw) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      continue;
    } else if (c == '"') {
      in_string = true;
    }
    out += c;
  }
  return out;
}

bool role_from(std::string_view name, model::Role& role) {
  if (name == "system" || name == "developer") role = model::Role::system;
  else if (name == "user") role = model::Role::user;
  else if (name == "assistant") role = model::Role::assistant;
  else if (name == "tool") role = model::Role::tool;
  else return false;
  return true;
}

bool is_null(const JsonValue* v) { return !v || v->type == JsonValue::Type::null; }

std::string parse_tools(const Reader& r, const JsonValue& tools, WireRequest& out) {
  if (!tools.is_array()) return "'tools' must be an array";
  std::string error;
  r.each(tools, [&](const JsonValue& tool) {
    if (!tool.is_object()) {
      error = "each tool must be an object";
      return;
    }
    const JsonValue* function = r.member(tool, "function");
    const JsonValue& named = function && function->is_object() ? *function : tool;
    out.chat.tools.push_back(model::ToolSpec{.name = r.string_member(named, "name")});
  });
  return error;
}

std::string parse_common(const Reader& r, const JsonValue& doc, WireRequest& out) {
  if (const JsonValue* m = r.member(doc, "model")) {
    if (!m->is_string()) return "'model' must be a string";
    out.chat.model = std::string(m->text);
  }
  if (const JsonValue* s = r.member(doc, "stream"); !is_null(s)) {
    if (s->type != JsonValue::Type::boolean) return "'stream' must be a boolean";
    out.chat.stream = s->boolean;
  }
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    if (const JsonValue* m = r.member(doc, key); !is_null(m)) {
      if (!m->is_integer() || m->integer < 1) return std::string("'") + key + "' must be a positive integer";
      out.chat.max_output_tokens = static_cast<int>(std::min<std::int64_t>(m->integer, 1 << 30));
    }
  }
  if (const JsonValue* t = r.member(doc, "tools"); !is_null(t)) {
    if (std::string e = parse_tools(r, *t, out); !e.empty()) return e;
  }
  const JsonValue* msgs = r.member(doc, "messages");
  if (!msgs) return "'messages' is required";
  if (!msgs->is_array()) return "'messages' must be an array";
  return {};
}

model::ToolCall openai_tool_call(const Reader& r, const JsonValue& c) {
  model::ToolCall call;
  call.id = r.string_member(c, "id");
  if (const JsonValue* f = r.member(c, "function"); f && f->is_object()) {
    call.name = r.string_member(*f, "name");
    call.arguments = r.string_member(*f, "arguments");
  }
  return call;
}

std::string parse_openai_message(const Reader& r, const JsonValue& m, WireRequest& out) {
  if (!m.is_object()) return "each message must be an object";
  model::Message msg;
  const JsonValue* role = r.member(m, "role");
  if (!role || !role->is_string() || !role_from(role->text, msg.role)) {
    return "each message needs a 'role' of system, developer, user, assistant or tool";
  }
  if (const JsonValue* c = r.member(m, "content")) msg.content = r.text_of(*c);
  msg.tool_call_id = r.string_member(m, "tool_call_id");
  msg.name = r.string_member(m, "name");
  if (const JsonValue* calls = r.member(m, "tool_calls"); calls && calls->is_array()) {
    r.each(*calls, [&](const JsonValue& c) {
      if (c.is_object()) msg.tool_calls.push_back(openai_tool_call(r, c));
    });
  }
  out.chat.messages.push_back(std::move(msg));
  return {};
}

std::string parse_openai(const Reader& r, const JsonValue& doc, WireRequest& out) {
  if (const JsonValue* so = r.member(doc, "stream_options"); so && so->is_object()) {
    if (const JsonValue* u = r.member(*so, "include_usage"); u && u->type == JsonValue::Type::boolean) {
      out.include_usage = u->boolean;
    }
  }
  std::string error;
  r.each(*r.member(doc, "messages"), [&](const JsonValue& m) {
    if (error.empty()) error = parse_openai_message(r, m, out);
  });
  return error;
}

// One Anthropic content block into `msg` (text, tool_use) or `results` (tool_result).
std::string parse_anthropic_block(const Reader& r, const JsonValue& block, model::Message& msg,
                                  std::vector<model::Message>& results) {
  if (!block.is_object()) return "each content block must be an object";
  const std::string type = r.string_member(block, "type");
  if (type == "text") {
    msg.content += r.text_of_block(block);
  } else if (type == "tool_use") {
    model::ToolCall call;
    call.id = r.string_member(block, "id");
    call.name = r.string_member(block, "name");
    if (const JsonValue* in = r.member(block, "input")) call.arguments = compact(in->raw);
    msg.tool_calls.push_back(std::move(call));
  } else if (type == "tool_result") {
    model::Message result;
    result.role = model::Role::tool;
    result.tool_call_id = r.string_member(block, "tool_use_id");
    if (const JsonValue* c = r.member(block, "content")) result.content = r.text_of(*c);
    results.push_back(std::move(result));
  }
  return {};
}

std::string parse_anthropic_message(const Reader& r, const JsonValue& m, WireRequest& out) {
  if (!m.is_object()) return "each message must be an object";
  const JsonValue* role = r.member(m, "role");
  if (!role || !role->is_string() || (role->text != "user" && role->text != "assistant")) {
    return "each message needs a 'role' of user or assistant";
  }
  const JsonValue* content = r.member(m, "content");
  if (!content || (!content->is_string() && !content->is_array())) {
    return "each message needs 'content': a string or an array of content blocks";
  }
  model::Message msg;
  msg.role = role->text == "user" ? model::Role::user : model::Role::assistant;
  if (content->is_string()) {
    msg.content = std::string(content->text);
    out.chat.messages.push_back(std::move(msg));
    return {};
  }
  std::vector<model::Message> results;  // tool_result blocks become tool messages
  std::string error;
  r.each(*content, [&](const JsonValue& block) {
    if (error.empty()) error = parse_anthropic_block(r, block, msg, results);
  });
  if (!error.empty()) return error;
  if (!msg.content.empty() || !msg.tool_calls.empty() || results.empty()) out.chat.messages.push_back(std::move(msg));
  for (model::Message& result : results) out.chat.messages.push_back(std::move(result));
  return {};
}

std::string parse_anthropic(const Reader& r, const JsonValue& doc, WireRequest& out) {
  if (const JsonValue* s = r.member(doc, "system"); !is_null(s)) {
    if (!s->is_string() && !s->is_array()) return "'system' must be a string or an array of text blocks";
    out.chat.messages.push_back(model::Message::system(r.text_of(*s)));
  }
  std::string error;
  r.each(*r.member(doc, "messages"), [&](const JsonValue& m) {
    if (error.empty()) error = parse_anthropic_message(r, m, out);
  });
  return error;
}

}  // namespace

WireRequest parse_wire_request(model::ProviderApi api, std::string_view body) {
  WireRequest out;
  JsonDocument doc;
  if (!doc.parse(body)) {
    out.error = doc.too_deep() ? "the request body nests deeper than " + std::to_string(kMaxRequestDepth) + " levels"
                               : "the request body is not valid JSON";
    return out;
  }
  const Reader r{doc};
  if (!doc.root().is_object()) {
    out.error = "the request body must be a JSON object";
    return out;
  }
  out.error = parse_common(r, doc.root(), out);
  if (out.error.empty()) {
    out.error = api == model::ProviderApi::anthropic ? parse_anthropic(r, doc.root(), out) : parse_openai(r, doc.root(), out);
  }
  return out;
}

}  // namespace keel::live::serve
