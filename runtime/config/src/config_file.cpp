// A service's runtime block: loading and the effective view (config_file.h). Resolving is
// resolve.cpp; the block's reader is read_runtime.cpp, the scenario loader's own.
#include "keel/config/config_file.h"

#include <algorithm>
#include <exception>
#include <utility>

#include "keel/config/detail/json_writer.h"
#include "keel/config/detail/read_runtime.h"

namespace keel::config {

namespace {

using namespace detail;

// The names of a scenario file's providers that are strings (the scenario loader reports the
// rest); `complete` is false when some provider had no usable name.
std::vector<std::string> provider_names(const Json& doc, bool& complete) {
  std::vector<std::string> names;
  complete = true;
  const auto it = doc.find("providers");
  if (it == doc.end() || !it->is_array()) return names;
  for (const Json& p : *it) {
    const auto n = p.is_object() ? p.find("name") : p.end();
    if (p.is_object() && n != p.end() && n->is_string()) {
      names.push_back(n->get<std::string>());
    } else {
      complete = false;
    }
  }
  return names;
}

void read_document(Ctx& ctx, const Json& doc, RuntimeBlock& block, std::vector<std::string>& providers) {
  if (!doc.is_object()) {
    ctx.expected("", "an object: a runtime block or a scenario file", doc);
    return;
  }
  if (!doc.contains("keel_scenario")) {
    block = read_runtime(ctx, doc, "", [](const std::string&, const std::string&) {});
    return;
  }
  bool complete = true;
  providers = provider_names(doc, complete);
  const auto rt = doc.find("runtime");
  if (rt == doc.end()) return;
  block = read_runtime(ctx, *rt, "/runtime", [&](const std::string& name, const std::string& ptr) {
    if (complete && std::find(providers.begin(), providers.end(), name) == providers.end())
      not_one_of(ctx, Json(name), ptr, providers);
  });
}

RuntimeBlockLoad finish(Ctx& ctx, RuntimeBlock&& block, std::vector<std::string>&& providers, std::string_view source) {
  RuntimeBlockLoad r;
  r.source = std::string(source);
  r.providers = std::move(providers);
  if (ctx.errors.empty()) {
    r.block = std::move(block);
  } else {
    r.errors = std::move(ctx.errors);
  }
  return r;
}

}  // namespace

std::string RuntimeBlockLoad::describe() const {
  std::string out;
  for (const ValidationError& e : errors) out += source + ": " + e.to_string() + "\n";
  return out;
}

RuntimeBlockLoad load_runtime_block(std::string_view json_text, std::string_view source_name) {
  try {
    Ctx ctx;
    RuntimeBlock block;
    std::vector<std::string> providers;
    if (std::optional<Json> doc = parse_document(ctx, json_text, "a configuration file")) read_document(ctx, *doc, block, providers);
    return finish(ctx, std::move(block), std::move(providers), source_name);
  } catch (const std::exception& e) {
    RuntimeBlockLoad r;
    r.source = std::string(source_name);
    r.errors.push_back({"", std::string("internal error while loading: ") + e.what()});
    return r;
  }
}

RuntimeBlockLoad load_runtime_block_file(const std::filesystem::path& path) {
  Ctx ctx;
  std::optional<std::string> text = read_text_file(ctx, path);
  if (!text) return finish(ctx, {}, {}, path.string());
  return load_runtime_block(*text, path.string());
}

// ---- the effective configuration, value by value ------------------------------------------

namespace {

struct Origins {
  Json file;                        // what the file set, as written back
  std::string preset;               // the preset's name
  bool breaker_from_keel = false;   // a file breaker completed from keel_default's
  bool models_from_providers = false;

  bool file_sets(const std::string& ptr) const {
    // The field itself, or an ancestor the file switched off (`"circuit_breaker": false`).
    const Json* at = &file;
    std::size_t pos = 1;
    while (pos <= ptr.size()) {
      if (!at->is_object()) return true;
      const std::size_t next = std::min(ptr.find('/', pos), ptr.size());
      const auto it = at->find(ptr.substr(pos, next - pos));
      if (it == at->end()) return false;
      at = &*it;
      pos = next + 1;
    }
    return true;
  }
  std::string of(const std::string& ptr) const {
    if (ptr == "/models" && models_from_providers) return "providers";
    if (file_sets(ptr)) return "file";
    if (breaker_from_keel && ptr.rfind("/circuit_breaker/", 0) == 0) return "keel_default";
    return preset;
  }
};

void add_value(Json& values, const std::string& field, Json value, std::string from, bool in_files) {
  values.push_back(Json{{"field", field}, {"value", std::move(value)}, {"from", std::move(from)}, {"in_files", in_files}});
}

// Every leaf of the block (arrays are leaves), with its origin.
void add_leaves(Json& values, const Json& v, const std::string& ptr, const Origins& o) {
  if (v.is_object() && !v.empty()) {
    for (const auto& [key, child] : v.items()) add_leaves(values, child, ptr + "/" + escape_token(key), o);
    return;
  }
  add_value(values, ptr, v, o.of(ptr), true);
}

// The values of the configuration no file field sets: a preset decides them.
void add_preset_only(Json& values, const RuntimeConfig& c, const Origins& o) {
  const model::ModelManagerConfig& m = c.manager;
  const std::string breaker_from = o.breaker_from_keel ? "keel_default" : o.preset;
  if (m.breaker) {
    add_value(values, "/circuit_breaker/open_growth", m.breaker->open_growth, breaker_from, false);
    add_value(values, "/circuit_breaker/max_open_for", dur(m.breaker->max_open_for), breaker_from, false);
    // null: as many probes in flight as half_open_calls.
    add_value(values, "/circuit_breaker/half_open_max_in_flight",
              m.breaker->half_open_max_in_flight ? Json(*m.breaker->half_open_max_in_flight) : Json(nullptr), breaker_from, false);
    add_value(values, "/circuit_breaker/max_half_open_wait",
              m.breaker->max_half_open_wait ? dur(*m.breaker->max_half_open_wait) : Json(nullptr), breaker_from, false);
    Json non_failures = Json::array();
    for (const ErrorCodeInfo& info : kErrorCodes) {
      if (m.breaker->counts_as_failure[info.code] == policy::BreakerCodeClass::non_failure) non_failures.push_back(info.name);
    }
    add_value(values, "/circuit_breaker/non_failures", std::move(non_failures), breaker_from, false);
  }
  add_value(values, "/retry/honor_should_retry", m.retry.honor_should_retry, o.preset, false);
  add_value(values, "/context/summarize_at", c.agent.context.summarize_at, o.preset, false);
  add_value(values, "/context/summarize_timeout",
            c.agent.context.summarize_timeout ? dur(*c.agent.context.summarize_timeout) : Json(nullptr), o.preset, false);
  add_value(values, "/context/summary_max_tokens", c.agent.context.summary_max_tokens, o.preset, false);
  // A file's token_limit turns counting on whatever the preset (resolve.cpp), so it decides then.
  add_value(values, "/context/count_before_send", c.agent.context.count_before_send,
            o.file_sets("/context/token_limit") ? "file" : o.preset, false);
  add_value(values, "/context/forget_learned_after", c.agent.context.forget_learned_after, o.preset, false);
  add_value(values, "/skip_over_window", m.skip_over_window, o.preset, false);
  add_value(values, "/context_window_fallback", m.context_window_fallback, o.preset, false);
  add_value(values, "/quota_mistaken_for_overflow", c.quota_mistaken_for_overflow, o.preset, false);
}

}  // namespace

nlohmann::ordered_json effective_json(const RuntimeBlock& block, std::optional<Preset> preset_override,
                                      std::string_view source, const std::vector<std::string>& providers) {
  const Preset preset = effective_preset(block, preset_override);
  const RuntimeConfig cfg = resolve(block, preset_override, providers);
  RuntimeBlock full = block_of(cfg);
  full.preset = preset;
  Origins o{.file = to_json(block),
            .preset = std::string(to_string(preset)),
            .breaker_from_keel = block.circuit_breaker.is_set() && !preset_config(preset).manager.breaker,
            .models_from_providers = !block.models && !providers.empty()};
  Json values = Json::array();
  const Json runtime = to_json(full);
  add_leaves(values, runtime, "", o);
  if (preset_override) values[0]["from"] = "--preset";  // "/preset" is written first
  add_preset_only(values, cfg, o);
  return Json{{"source", std::string(source)}, {"preset", o.preset}, {"runtime", runtime}, {"values", std::move(values)}};
}

std::string effective_text(const nlohmann::ordered_json& effective) {
  std::size_t width = 0;
  for (const Json& v : effective.at("values")) width = std::max(width, v.at("field").get_ref<const std::string&>().size());
  std::string out = "effective runtime configuration of " + effective.at("source").get<std::string>() + " (preset " +
                    effective.at("preset").get<std::string>() + ")\n";
  for (const Json& v : effective.at("values")) {
    const std::string& field = v.at("field").get_ref<const std::string&>();
    std::string line = field + std::string(width + 2 - field.size(), ' ') + v.at("value").dump();
    line += "  (" + v.at("from").get<std::string>();
    if (!v.at("in_files").get<bool>()) line += "; not a file field";
    out += line + ")\n";
  }
  return out;
}

}  // namespace keel::config
