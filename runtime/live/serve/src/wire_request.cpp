#include "wire_request.h"

#include <nlohmann/json.hpp>

namespace keel::live::serve {

namespace {

using nlohmann::json;

// Text of an OpenAI `content` (string, null, or parts) or an Anthropic block list.
std::string text_of(const json& content) {
  if (content.is_string()) return content.get<std::string>();
  std::string out;
  if (!content.is_array()) return out;
  for (const json& part : content) {
    if (!part.is_object()) continue;
    if (auto t = part.find("text"); t != part.end() && t->is_string()) out += t->get<std::string>();
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

std::string parse_common(const json& doc, WireRequest& out) {
  if (auto m = doc.find("model"); m != doc.end()) {
    if (!m->is_string()) return "'model' must be a string";
    out.chat.model = m->get<std::string>();
  }
  if (auto s = doc.find("stream"); s != doc.end() && !s->is_null()) {
    if (!s->is_boolean()) return "'stream' must be a boolean";
    out.chat.stream = s->get<bool>();
  }
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    if (auto m = doc.find(key); m != doc.end() && !m->is_null()) {
      if (!m->is_number_integer() || m->get<long long>() < 1) return std::string("'") + key + "' must be a positive integer";
      out.chat.max_output_tokens = static_cast<int>(std::min<long long>(m->get<long long>(), 1 << 30));
    }
  }
  if (auto t = doc.find("tools"); t != doc.end() && !t->is_null()) {
    if (!t->is_array()) return "'tools' must be an array";
    for (const json& tool : *t) {
      if (!tool.is_object()) return "each tool must be an object";
      model::ToolSpec spec;
      const json& named = tool.contains("function") && tool["function"].is_object() ? tool["function"] : tool;
      if (auto n = named.find("name"); n != named.end() && n->is_string()) spec.name = n->get<std::string>();
      out.chat.tools.push_back(std::move(spec));
    }
  }
  auto msgs = doc.find("messages");
  if (msgs == doc.end()) return "'messages' is required";
  if (!msgs->is_array()) return "'messages' must be an array";
  return {};
}

std::string parse_openai(const json& doc, WireRequest& out) {
  if (auto so = doc.find("stream_options"); so != doc.end() && so->is_object()) {
    if (auto u = so->find("include_usage"); u != so->end() && u->is_boolean()) out.include_usage = u->get<bool>();
  }
  for (const json& m : doc["messages"]) {
    if (!m.is_object()) return "each message must be an object";
    auto role = m.find("role");
    model::Message msg;
    if (role == m.end() || !role->is_string() || !role_from(role->get<std::string>(), msg.role)) {
      return "each message needs a 'role' of system, developer, user, assistant or tool";
    }
    if (auto c = m.find("content"); c != m.end()) msg.content = text_of(*c);
    if (auto id = m.find("tool_call_id"); id != m.end() && id->is_string()) msg.tool_call_id = id->get<std::string>();
    if (auto n = m.find("name"); n != m.end() && n->is_string()) msg.name = n->get<std::string>();
    if (auto calls = m.find("tool_calls"); calls != m.end() && calls->is_array()) {
      for (const json& c : *calls) {
        if (!c.is_object()) continue;
        model::ToolCall call;
        if (auto id = c.find("id"); id != c.end() && id->is_string()) call.id = id->get<std::string>();
        if (auto f = c.find("function"); f != c.end() && f->is_object()) {
          if (auto n = f->find("name"); n != f->end() && n->is_string()) call.name = n->get<std::string>();
          if (auto a = f->find("arguments"); a != f->end() && a->is_string()) call.arguments = a->get<std::string>();
        }
        msg.tool_calls.push_back(std::move(call));
      }
    }
    out.chat.messages.push_back(std::move(msg));
  }
  return {};
}

std::string parse_anthropic(const json& doc, WireRequest& out) {
  if (auto s = doc.find("system"); s != doc.end() && !s->is_null()) {
    if (!s->is_string() && !s->is_array()) return "'system' must be a string or an array of text blocks";
    out.chat.messages.push_back(model::Message::system(text_of(*s)));
  }
  for (const json& m : doc["messages"]) {
    if (!m.is_object()) return "each message must be an object";
    auto role = m.find("role");
    if (role == m.end() || !role->is_string() || (*role != "user" && *role != "assistant")) {
      return "each message needs a 'role' of user or assistant";
    }
    auto content = m.find("content");
    if (content == m.end() || (!content->is_string() && !content->is_array())) {
      return "each message needs 'content': a string or an array of content blocks";
    }
    model::Message msg;
    msg.role = *role == "user" ? model::Role::user : model::Role::assistant;
    if (content->is_string()) {
      msg.content = content->get<std::string>();
      out.chat.messages.push_back(std::move(msg));
      continue;
    }
    std::vector<model::Message> results;  // tool_result blocks become tool messages
    for (const json& block : *content) {
      if (!block.is_object()) return "each content block must be an object";
      const std::string type = block.value("type", std::string{});
      if (type == "text") {
        msg.content += text_of(json::array({block}));
      } else if (type == "tool_use") {
        model::ToolCall call;
        call.id = block.value("id", std::string{});
        call.name = block.value("name", std::string{});
        if (auto in = block.find("input"); in != block.end()) call.arguments = in->dump();
        msg.tool_calls.push_back(std::move(call));
      } else if (type == "tool_result") {
        model::Message r;
        r.role = model::Role::tool;
        r.tool_call_id = block.value("tool_use_id", std::string{});
        if (auto c = block.find("content"); c != block.end()) r.content = text_of(*c);
        results.push_back(std::move(r));
      }
    }
    if (!msg.content.empty() || !msg.tool_calls.empty() || results.empty()) out.chat.messages.push_back(std::move(msg));
    for (model::Message& r : results) out.chat.messages.push_back(std::move(r));
  }
  return {};
}

}  // namespace

WireRequest parse_wire_request(model::ProviderApi api, std::string_view body) {
  WireRequest out;
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    out.error = "the request body is not valid JSON";
    return out;
  }
  if (!doc.is_object()) {
    out.error = "the request body must be a JSON object";
    return out;
  }
  try {
    out.error = parse_common(doc, out);
    if (out.error.empty()) out.error = api == model::ProviderApi::anthropic ? parse_anthropic(doc, out) : parse_openai(doc, out);
  } catch (const json::exception& e) {  // a type mismatch json's accessors refused
    out.error = std::string("invalid request: ") + e.what();
  }
  return out;
}

}  // namespace keel::live::serve
