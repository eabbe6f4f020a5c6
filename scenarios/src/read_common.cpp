// Names, references and latency models (scenario_readers.h).
#include <algorithm>

#include "keel/config/duration.h"
#include "scenario_readers.h"

namespace keel::scenarios::detail {

using faults::is_tool_target;
using faults::tool_name_of;

std::string list_names(const std::vector<std::string>& names, std::string_view noun) {
  if (names.empty()) return "no " + std::string(noun) + " are defined";
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < 12; ++i) {
    if (i) out += ", ";
    out += q(names[i]);
  }
  if (names.size() > 12) out += ", ...";
  return std::string(noun) + " defined: " + out;
}

void check_provider(Ctx& ctx, const Names& names, const std::string& ptr, const std::string& n) {
  if (!names.providers_complete || names.is_provider(n)) return;
  std::string msg = "unknown provider " + q(n) + " (" + list_names(names.providers, "providers") + ")";
  if (is_tool_target(n) || names.is_tool(n)) msg += "; tools are not providers";
  ctx.error(ptr, std::move(msg));
}

void check_tool(Ctx& ctx, const Names& names, const std::string& ptr, const std::string& n) {
  if (!names.tools_complete || names.is_tool(n)) return;
  std::string msg = "unknown tool " + q(n) + " (" + list_names(names.tools, "tools") + ")";
  if (is_tool_target(n) && names.is_tool(tool_name_of(n))) msg += "; write the tool's name without \"tool:\"";
  ctx.error(ptr, std::move(msg));
}


// ---- latency --------------------------------------------------------------------------------

namespace {
constexpr std::array<std::string_view, 4> kLatencyKinds = {"fixed", "uniform", "exponential", "lognormal"};
}  // namespace

std::optional<Latency> read_latency(Ctx& ctx, const Json& v, const std::string& ptr) {
  Obj o(ctx, v, ptr, {"fixed", "uniform", "exponential", "lognormal"},
        "a latency: {\"fixed\": d}, {\"uniform\": [d1, d2]}, {\"exponential\": {\"mean\": d}} or "
        "{\"lognormal\": {\"median\": d, \"p99\": d}}");
  if (!o.ok()) return std::nullopt;
  std::size_t present = 0;
  for (std::string_view k : kLatencyKinds) present += o.has(k) ? 1 : 0;
  if (present != 1) {
    if (present > 1 || o.unknown_fields() == 0)
      ctx.error(ptr, "expected exactly one of the fields " + one_of(kLatencyKinds).substr(7) + ", found " +
                         (present > 1 ? std::to_string(present) + " of them" : found(v)));
    return std::nullopt;
  }
  if (const Json* f = o.get("fixed")) {
    auto d = read_duration(ctx, *f, o.at("fixed"));
    if (d) return Latency::fixed(*d);
    return std::nullopt;
  }
  if (const Json* f = o.get("uniform")) {
    const std::string p = o.at("uniform");
    if (!f->is_array() || f->size() != 2) {
      ctx.expected(p, "an array of two durations [low, high]", *f);
      return std::nullopt;
    }
    auto lo = read_duration(ctx, (*f)[0], join(p, 0));
    auto hi = read_duration(ctx, (*f)[1], join(p, 1));
    if (!lo || !hi) return std::nullopt;
    if (*hi < *lo) {
      ctx.error(join(p, 1), "expected a duration >= the low end " + q(format_duration(*lo)) + ", found " + found((*f)[1]));
      return std::nullopt;
    }
    return Latency::uniform(*lo, *hi);
  }
  if (const Json* f = o.get("exponential")) {
    Obj e(ctx, *f, o.at("exponential"), {"mean"});
    const Json* m = e.require("mean");
    if (!m) return std::nullopt;
    auto d = read_duration(ctx, *m, e.at("mean"));
    if (d && e.unknown_fields() == 0) return Latency::exponential(*d);
    return std::nullopt;
  }
  const Json* f = o.get("lognormal");
  Obj l(ctx, *f, o.at("lognormal"), {"median", "p99"});
  const Json* med = l.require("median");
  const Json* p99 = l.require("p99");
  std::optional<Duration> m, p;
  if (med) m = read_duration(ctx, *med, l.at("median"));
  if (p99) p = read_duration(ctx, *p99, l.at("p99"));
  if (!m || !p) return std::nullopt;
  if (*p < *m) {
    ctx.error(l.at("p99"), "expected a duration >= the median " + q(format_duration(*m)) + ", found " + found(*p99));
    return std::nullopt;
  }
  if (l.unknown_fields() != 0) return std::nullopt;
  return Latency::lognormal(*m, *p);
}

}  // namespace keel::scenarios::detail
