// Scenario loader and validator (loader.h): the document, providers, tools, faults, expect.
// The workload is in read_workload.cpp; the runtime block, JSON syntax, duplicate keys and the
// reading toolkit are the runtime-block loader's (runtime/config: read_runtime.cpp,
// keel/config/detail/json_reader.h), shared so both read a runtime block the same way.
#include "keel/scenarios/loader.h"

#include <algorithm>
#include <utility>

#include "keel/config/duration.h"
#include "scenario_readers.h"

namespace keel::scenarios {

namespace {

using namespace detail;
using faults::fault_kind_from_string;
using faults::fault_kind_name;
using faults::fits_target;
using faults::is_tool_target;
using faults::kEveryProvider;
using faults::kProviderFaultKinds;
using faults::kToolFaultKinds;
using faults::tool_name_of;

// ---- providers, tools ------------------------------------------------------------------------

void read_provider(Ctx& ctx, const Json& v, const std::string& ptr, Provider& p, bool& named) {
  Obj o(ctx, v, ptr, {"name", "api", "context_window", "latency", "output_tokens", "limits", "token_interval",
                      "supports_prefill"});
  named = false;
  if (!o.ok()) return;
  if (const Json* n = o.require("name")) {
    if (auto s = read_name(ctx, *n, o.at("name"))) {
      if (*s == kEveryProvider || is_tool_target(*s)) {
        ctx.expected(o.at("name"), "a provider name other than \"*\" and not starting with \"tool:\"", *n);
      } else {
        p.name = *s;
        named = true;
      }
    }
  }
  put(p.api, o.opt("api", [&](const Json& x, const std::string& at) { return read_enum<Api>(ctx, x, at, kApiNames); }));
  put(p.context_window, o.opt("context_window", [&](const Json& x, const std::string& at) { return read_int(ctx, x, at, 1, limits::kMaxContextWindow); }));
  put(p.latency, o.opt("latency", [&](const Json& x, const std::string& at) { return read_latency(ctx, x, at); }));
  put(p.output_tokens, o.opt("output_tokens", [&](const Json& x, const std::string& at) { return read_int(ctx, x, at, 0, limits::kMaxOutputTokens); }));
  if (const Json* l = o.get("limits")) {
    Obj lo(ctx, *l, o.at("limits"), {"requests_per_minute", "tokens_per_minute"});
    if (lo.ok()) {
      ProviderLimits lim;
      lim.requests_per_minute = lo.opt("requests_per_minute", [&](const Json& x, const std::string& at) {
        return read_int(ctx, x, at, 1, limits::kMaxRequestsPerMinute);
      });
      lim.tokens_per_minute = lo.opt("tokens_per_minute", [&](const Json& x, const std::string& at) {
        return read_int(ctx, x, at, 1, limits::kMaxTokensPerMinute);
      });
      p.limits = lim;
    }
  }
  put(p.token_interval, o.opt("token_interval", [&](const Json& x, const std::string& at) { return read_duration(ctx, x, at); }));
  put(p.supports_prefill, o.opt("supports_prefill", [&](const Json& x, const std::string& at) { return read_bool(ctx, x, at); }));
}

void read_tool(Ctx& ctx, const Json& v, const std::string& ptr, Tool& t, bool& named) {
  Obj o(ctx, v, ptr, {"name", "latency", "idempotent"});
  named = false;
  if (!o.ok()) return;
  if (const Json* n = o.require("name")) {
    if (auto s = read_name(ctx, *n, o.at("name"))) {
      t.name = *s;
      named = true;
    }
  }
  put(t.latency, o.opt("latency", [&](const Json& x, const std::string& at) { return read_latency(ctx, x, at); }));
  put(t.idempotent, o.opt("idempotent", [&](const Json& x, const std::string& at) { return read_bool(ctx, x, at); }));
}

// ---- faults ---------------------------------------------------------------------------------

// `target`: a provider, "tool:<name>" or "*"; true when it is a usable string.
bool read_fault_target(Ctx& ctx, const Names& names, Obj& o, Fault& f) {
  if (const Json* t = o.require("target")) {
    if (auto s = read_string(ctx, *t, o.at("target"), true)) {
      f.target = *s;
      if (is_tool_target(*s)) {
        if (names.tools_complete && !names.is_tool(tool_name_of(*s))) {
          ctx.error(o.at("target"), "unknown tool " + q(tool_name_of(*s)) + " in target " + q(*s) + " (" +
                                        list_names(names.tools, "tools") + ")");
        }
      } else if (*s != kEveryProvider) {
        if (names.providers_complete && !names.is_provider(*s)) {
          std::string msg = "expected a provider name, \"tool:<name>\" or \"*\", found unknown " + q(*s) + " (" +
                            list_names(names.providers, "providers") + ")";
          if (names.is_tool(*s)) msg += "; for the tool write \"tool:" + clip(*s) + "\"";
          ctx.error(o.at("target"), std::move(msg));
        }
      }
      return true;
    }
  }
  return false;
}

// `kind`: one of the target's fault kinds (nullopt, reported, when it is not).
std::optional<sim::FaultKind> read_fault_kind(Ctx& ctx, Obj& o, const Fault& f, bool target_ok) {
  std::optional<sim::FaultKind> kind;
  if (const Json* k = o.require("kind")) {
    const bool tool = target_ok && is_tool_target(f.target);
    if (k->is_string()) kind = fault_kind_from_string(k->get_ref<const std::string&>());
    if (!kind) {
      if (target_ok && tool) {
        not_one_of(ctx, *k, o.at("kind"), kToolFaultKinds);
      } else if (target_ok) {
        not_one_of(ctx, *k, o.at("kind"), kProviderFaultKinds);
      } else {
        ctx.expected(o.at("kind"), "a fault kind", *k);
      }
    } else if (target_ok && !fits_target(*kind, f.target)) {
      ctx.error(o.at("kind"), "expected a " + std::string(tool ? "tool" : "provider") + " fault kind (" +
                                  (tool ? one_of(kToolFaultKinds) : one_of(kProviderFaultKinds)) + ") for target " +
                                  q(f.target) + ", found " + found(*k));
      kind.reset();
    }
  }
  return kind;
}

// The fields that only some kinds have (retry_after, status, extra_latency, stream fields):
// read where the kind has them, an error where it does not.
void read_fault_kind_fields(Ctx& ctx, Obj& o, const std::optional<sim::FaultKind>& kind, Fault& f) {
  using K = sim::FaultKind;
  auto only_for = [&](std::string_view field, std::initializer_list<K> kinds) {
    if (!o.has(field) || !kind || std::find(kinds.begin(), kinds.end(), *kind) != kinds.end()) return false;
    std::string names;
    for (K k : kinds) names += std::string(names.empty() ? "" : " and ") + "\"" + std::string(fault_kind_name(k)) + "\"";
    ctx.error(o.at(field), "field \"" + std::string(field) + "\" applies only to kind " + names + ", not to " +
                               q(fault_kind_name(*kind)));
    return true;
  };
  if (!only_for("retry_after", {K::rate_limit})) {
    f.retry_after = o.opt("retry_after", [&](const Json& x, const std::string& at) { return read_duration(ctx, x, at); });
  }
  if (!only_for("status", {K::server_error})) {
    put(f.status, o.opt("status", [&](const Json& x, const std::string& at) -> std::optional<int> {
      auto n = read_int(ctx, x, at, 500, 599);
      return n ? std::optional<int>(static_cast<int>(*n)) : std::nullopt;
    }));
  }
  if (!only_for("extra_latency", {K::slow, K::slow_first_token})) {
    if ((kind == K::slow || kind == K::slow_first_token) && !o.has("extra_latency")) {
      o.require("extra_latency");
    } else {
      f.extra_latency = o.opt("extra_latency", [&](const Json& x, const std::string& at) { return read_latency(ctx, x, at); });
    }
  }
  if (!only_for("after_tokens", {K::stream_cut, K::stream_stall})) {
    f.after_tokens = o.opt("after_tokens", [&](const Json& x, const std::string& at) {
      return read_int(ctx, x, at, 0, faults::kMaxStreamTokens);
    });
  }
  if (!only_for("stall", {K::stream_stall})) {
    f.stall = o.opt("stall", [&](const Json& x, const std::string& at) { return read_duration(ctx, x, at); });
  }
  if (!only_for("at_token", {K::malformed_chunk})) {
    put(f.at_token, o.opt("at_token", [&](const Json& x, const std::string& at) {
      return read_int(ctx, x, at, 1, faults::kMaxStreamTokens);
    }));
  }
}

void read_fault(Ctx& ctx, const Names& names, const Json& v, const std::string& ptr, Fault& f) {
  Obj o(ctx, v, ptr, {"target", "kind", "from", "until", "probability", "every_nth", "first_n", "retry_after", "status",
                      "extra_latency", "after_tokens", "stall", "at_token"});
  if (!o.ok()) return;
  const bool target_ok = read_fault_target(ctx, names, o, f);
  const std::optional<sim::FaultKind> kind = read_fault_kind(ctx, o, f, target_ok);
  if (kind) f.kind = *kind;
  put(f.from, o.opt("from", [&](const Json& x, const std::string& at) { return read_duration(ctx, x, at); }));
  if (const Json* u = o.get("until")) {
    if (auto d = read_duration(ctx, *u, o.at("until"))) {
      if (*d <= f.from) {
        ctx.expected(o.at("until"), "a duration after from (" + q(format_duration(f.from)) + ")", *u);
      } else {
        f.until = *d;
      }
    }
  }
  put(f.probability, o.opt("probability", [&](const Json& x, const std::string& at) {
    return read_number(ctx, x, at, "a probability in 0..1", unit_interval);
  }));
  f.every_nth = o.opt("every_nth", [&](const Json& x, const std::string& at) -> std::optional<std::uint64_t> {
    auto n = read_int(ctx, x, at, 1, limits::kMaxFaultCount);
    return n ? std::optional<std::uint64_t>(static_cast<std::uint64_t>(*n)) : std::nullopt;
  });
  f.first_n = o.opt("first_n", [&](const Json& x, const std::string& at) -> std::optional<std::uint64_t> {
    auto n = read_int(ctx, x, at, 1, limits::kMaxFaultCount);
    return n ? std::optional<std::uint64_t>(static_cast<std::uint64_t>(*n)) : std::nullopt;
  });

  read_fault_kind_fields(ctx, o, kind, f);
}

// A window that opens at or after the horizon never applies: almost surely a unit mistake.
void check_before_horizon(Ctx& ctx, const Json& v, const std::string& ptr, const Fault& f, Duration horizon) {
  const auto from = v.is_object() ? v.find("from") : v.end();
  if (!v.is_object() || from == v.end() || f.from < horizon) return;
  ctx.error(join(ptr, "from"), "expected a start before the horizon (" + q(format_duration(horizon)) +
                                   "): this fault would never apply, found " + found(*from));
}

// The bound on streamed answers in flight (limits.h): a simulated stream holds its events.
void check_streamed_tokens(Ctx& ctx, const Names& names, const Scenario& s, const std::string& ptr) {
  std::int64_t in_flight = 0;
  if (const auto* a = std::get_if<AgentsWorkload>(&s.workload); a && a->stream) in_flight = a->count;
  if (const auto* w = std::get_if<WorkforceWorkload>(&s.workload)) {
    const bool any = w->stream || std::any_of(w->workers.begin(), w->workers.end(),
                                              [](const Worker& k) { return k.stream.value_or(false); });
    const std::int64_t tasks = task_count(*w);
    if (any) in_flight = std::min(tasks, w->max_concurrency.value_or(tasks));
  }
  if (in_flight == 0) return;
  const std::int64_t hedges = 1 + (s.runtime.hedging.is_set() ? s.runtime.hedging.value->max_extra : 0);
  // Each factor is within its own bound (count 1e4 or tasks 1e4, output 1e6, hedges 17): no overflow.
  const std::int64_t tokens = in_flight * names.max_output_tokens * hedges;
  if (tokens <= limits::kMaxStreamedTokens) return;
  ctx.error(join(ptr, "stream"), "expected the streamed answers in flight to be <= " + std::to_string(limits::kMaxStreamedTokens) +
                                     " tokens (requests at once x the largest output_tokens x (1 + hedging.max_extra)), found " +
                                     std::to_string(in_flight) + " x " + std::to_string(names.max_output_tokens) + " x " +
                                     std::to_string(hedges));
}

// ---- expect ---------------------------------------------------------------------------------

// An object keyed by provider/tool names; `read` reads one value.
template <class V, class Fn>
Keyed<V> read_keyed(Ctx& ctx, const Json& v, const std::string& ptr, std::string_view what,
                    const std::function<void(const std::string&, const std::string&)>& check, Fn&& read) {
  Keyed<V> out;
  if (!v.is_object()) {
    ctx.expected(ptr, std::string("an object keyed by ") + std::string(what) + " name", v);
    return out;
  }
  for (const auto& [key, value] : v.items()) {
    const std::string p = join(ptr, key);
    check(key, p);
    if (std::optional<V> x = read(value, p)) out.emplace_back(key, std::move(*x));
  }
  return out;
}

void check_min_max(Ctx& ctx, const Obj& o, std::string_view min_key, std::string_view max_key, const std::optional<std::int64_t>& lo,
                   const std::optional<std::int64_t>& hi) {
  if (lo && hi && *lo > *hi) ctx.expected(o.at(max_key), "a value >= " + std::string(min_key) + " (" + std::to_string(*lo) + ")", *o.get(max_key));
}

Expect read_expect(Ctx& ctx, const Names& names, const Json& v, const std::string& ptr) {
  Expect e;
  Obj o(ctx, v, ptr, {"success_rate_min", "tasks_failed_max", "latency", "calls", "retries_max", "fallbacks_min", "fallbacks_max",
                      "breaker", "summarizations_min", "summarizations_max", "tool_executions", "max_prompt_tokens_sent",
                      "finished_before", "recovery", "truncated_answers_max"});
  if (!o.ok()) return e;
  auto count = [&](const Obj& obj, std::string_view key) {
    return obj.opt(key, [&](const Json& x, const std::string& at) { return read_int(ctx, x, at, 0, limits::kMaxExpectCount); });
  };
  auto dur = [&](const Obj& obj, std::string_view key) {
    return obj.opt(key, [&](const Json& x, const std::string& at) { return read_duration(ctx, x, at); });
  };
  auto provider_key = [&](const std::string& n, const std::string& p) { check_provider(ctx, names, p, n); };
  auto tool_key = [&](const std::string& n, const std::string& p) { check_tool(ctx, names, p, n); };

  e.success_rate_min = o.opt("success_rate_min", [&](const Json& x, const std::string& at) {
    return read_number(ctx, x, at, "a rate in 0..1", unit_interval);
  });
  e.tasks_failed_max = count(o, "tasks_failed_max");
  if (const Json* l = o.get("latency")) {
    Obj lo(ctx, *l, o.at("latency"), {"p50_max", "p99_max", "max"});
    if (lo.ok()) e.latency = LatencyExpect{dur(lo, "p50_max"), dur(lo, "p99_max"), dur(lo, "max")};
  }
  if (const Json* c = o.get("calls")) {
    e.calls = read_keyed<CallBounds>(ctx, *c, o.at("calls"), "provider", provider_key,
                                     [&](const Json& x, const std::string& p) -> std::optional<CallBounds> {
                                       Obj b(ctx, x, p, {"min", "max"});
                                       if (!b.ok()) return std::nullopt;
                                       CallBounds cb{count(b, "min"), count(b, "max")};
                                       check_min_max(ctx, b, "min", "max", cb.min, cb.max);
                                       return cb;
                                     });
  }
  e.retries_max = count(o, "retries_max");
  e.fallbacks_min = count(o, "fallbacks_min");
  e.fallbacks_max = count(o, "fallbacks_max");
  check_min_max(ctx, o, "fallbacks_min", "fallbacks_max", e.fallbacks_min, e.fallbacks_max);
  if (const Json* b = o.get("breaker")) {
    e.breaker = read_keyed<BreakerExpect>(ctx, *b, o.at("breaker"), "provider", provider_key,
                                          [&](const Json& x, const std::string& p) -> std::optional<BreakerExpect> {
                                            Obj bo(ctx, x, p, {"opens_min", "opens_max", "first_open_before"});
                                            if (!bo.ok()) return std::nullopt;
                                            BreakerExpect be{count(bo, "opens_min"), count(bo, "opens_max"), dur(bo, "first_open_before")};
                                            check_min_max(ctx, bo, "opens_min", "opens_max", be.opens_min, be.opens_max);
                                            return be;
                                          });
  }
  e.summarizations_min = count(o, "summarizations_min");
  e.summarizations_max = count(o, "summarizations_max");
  check_min_max(ctx, o, "summarizations_min", "summarizations_max", e.summarizations_min, e.summarizations_max);
  if (const Json* t = o.get("tool_executions")) {
    e.tool_executions = read_keyed<ToolExpect>(ctx, *t, o.at("tool_executions"), "tool", tool_key,
                                               [&](const Json& x, const std::string& p) -> std::optional<ToolExpect> {
                                                 Obj to(ctx, x, p, {"max", "max_per_call"});
                                                 if (!to.ok()) return std::nullopt;
                                                 return ToolExpect{count(to, "max"), count(to, "max_per_call")};
                                               });
  }
  if (const Json* m = o.get("max_prompt_tokens_sent")) {
    e.max_prompt_tokens_sent = read_keyed<std::int64_t>(ctx, *m, o.at("max_prompt_tokens_sent"), "provider", provider_key,
                                                        [&](const Json& x, const std::string& p) {
                                                          return read_int(ctx, x, p, 0, limits::kMaxContextWindow);
                                                        });
  }
  e.finished_before = dur(o, "finished_before");
  e.truncated_answers_max = count(o, "truncated_answers_max");
  if (const Json* r = o.get("recovery")) {
    Obj ro(ctx, *r, o.at("recovery"), {"detect_max", "restore_max", "back_on_primary_max"});
    if (ro.ok()) e.recovery = RecoveryExpect{dur(ro, "detect_max"), dur(ro, "restore_max"), dur(ro, "back_on_primary_max")};
  }
  return e;
}

ExpectedOutcomes read_expected(Ctx& ctx, const Json& v, const std::string& ptr) {
  ExpectedOutcomes out;
  Obj o(ctx, v, ptr, {"keel_default", "camel_parity"});
  auto one = [&](std::string_view key) {
    return o.opt(key, [&](const Json& x, const std::string& at) { return read_enum<Outcome>(ctx, x, at, kOutcomeNames); });
  };
  out.keel_default = one("keel_default");
  out.camel_parity = one("camel_parity");
  return out;
}

// ---- the document ---------------------------------------------------------------------------

// `providers` (required, non-empty), each read and its name noted in `names` for the
// references that follow.
void read_providers(Ctx& ctx, Obj& o, Scenario& s, Names& names) {
  if (const Json* v = o.require("providers")) {
    const std::string p = o.at("providers");
    if (const Json::array_t* arr = read_list(ctx, *v, p, "a non-empty array of providers", limits::kMaxProviders, "providers")) {
      if (arr->empty()) ctx.expected(p, "a non-empty array of providers", *v);
      UniqueNames unique("provider name");
      s.providers.resize(arr->size());
      for (std::size_t i = 0; i < arr->size(); ++i) {
        bool named = false;
        read_provider(ctx, (*arr)[i], join(p, i), s.providers[i], named);
        if (!named) {
          names.providers_complete = false;
        } else if (unique.add(ctx, s.providers[i].name, join(join(p, i), "name"))) {
          names.providers.push_back(s.providers[i].name);
        }
        names.max_output_tokens = std::max(names.max_output_tokens, s.providers[i].output_tokens);
      }
    } else {
      names.providers_complete = false;
    }
  } else {
    names.providers_complete = false;
  }
}

// `tools`, each read and its name noted in `names`.
void read_tools(Ctx& ctx, Obj& o, Scenario& s, Names& names) {
  if (const Json* v = o.get("tools")) {
    const std::string p = o.at("tools");
    if (const Json::array_t* arr = read_list(ctx, *v, p, "an array of tools", limits::kMaxTools, "tools")) {
      UniqueNames unique("tool name");
      s.tools.resize(arr->size());
      for (std::size_t i = 0; i < arr->size(); ++i) {
        bool named = false;
        read_tool(ctx, (*arr)[i], join(p, i), s.tools[i], named);
        if (!named) {
          names.tools_complete = false;
        } else if (unique.add(ctx, s.tools[i].name, join(join(p, i), "name"))) {
          names.tools.push_back(s.tools[i].name);
        }
      }
    } else {
      names.tools_complete = false;
    }
  }
}

void read_scenario(Ctx& ctx, const Json& doc, Scenario& s) {
  Obj o(ctx, doc, "", {"keel_scenario", "name", "description", "seed", "horizon", "providers", "tools", "faults", "runtime",
                       "workload", "expect", "expected"},
        "a scenario object");
  if (!o.ok()) return;
  if (const Json* v = o.require("keel_scenario")) {
    if (!v->is_number()) {
      ctx.expected(o.at("keel_scenario"), "the format version 1", *v);
    } else if (!(v->get<double>() == 1.0)) {
      ctx.error(o.at("keel_scenario"), "expected the format version 1 (the only version this keel reads), found " + found(*v));
    }
  }
  if (const Json* v = o.require("name")) put(s.name, read_name(ctx, *v, o.at("name")));
  if (const Json* v = o.get("description")) {
    if (auto d = read_string(ctx, *v, o.at("description"))) {
      if (within_count(ctx, o.at("description"), d->size(), limits::kMaxDescriptionBytes, "bytes")) s.description = std::move(*d);
    }
  }
  if (const Json* v = o.get("seed")) put(s.seed, read_u64(ctx, *v, o.at("seed")));
  if (const Json* v = o.get("horizon")) put(s.horizon, read_duration(ctx, *v, o.at("horizon"), DurMin::positive));

  Names names;
  read_providers(ctx, o, s, names);
  read_tools(ctx, o, s, names);
  if (const Json* v = o.get("faults")) {
    const std::string p = o.at("faults");
    if (const Json::array_t* arr = read_list(ctx, *v, p, "an array of faults", limits::kMaxFaults, "faults")) {
      s.faults.resize(arr->size());
      for (std::size_t i = 0; i < arr->size(); ++i) {
        read_fault(ctx, names, (*arr)[i], join(p, i), s.faults[i]);
        check_before_horizon(ctx, (*arr)[i], join(p, i), s.faults[i], s.horizon);
      }
    }
  }
  if (const Json* v = o.get("runtime")) {
    s.runtime = read_runtime(ctx, *v, o.at("runtime"),
                             [&](const std::string& n, const std::string& p) { check_provider(ctx, names, p, n); });
  }
  if (const Json* v = o.require("workload")) {
    put(s.workload, read_workload(ctx, names, *v, o.at("workload")));
    check_streamed_tokens(ctx, names, s, o.at("workload"));
  }
  if (const Json* v = o.get("expect")) s.expect = read_expect(ctx, names, *v, o.at("expect"));
  if (const Json* v = o.get("expected")) s.expected = read_expected(ctx, *v, o.at("expected"));
}

LoadResult finish(Ctx& ctx, Scenario&& s, std::string_view source) {
  LoadResult r;
  r.source = std::string(source);
  if (ctx.errors.empty()) {
    r.scenario = std::move(s);
  } else {
    r.errors = std::move(ctx.errors);
  }
  return r;
}

LoadResult internal_failure(std::string_view source, const char* what) {
  LoadResult r;
  r.source = std::string(source);
  r.errors.push_back({"", std::string("internal error while loading: ") + what});
  return r;
}

}  // namespace

std::string LoadResult::describe() const {
  std::string out;
  for (const ValidationError& e : errors) out += source + ": " + e.to_string() + "\n";
  return out;
}

bool LoadResult::has_error_at(std::string_view pointer) const noexcept {
  return std::any_of(errors.begin(), errors.end(), [&](const ValidationError& e) { return e.pointer == pointer; });
}

LoadResult load_scenario_json(const nlohmann::ordered_json& document, std::string_view source_name) {
  try {
    Ctx ctx;
    Scenario s;
    read_scenario(ctx, document, s);
    return finish(ctx, std::move(s), source_name);
  } catch (const std::exception& e) {
    return internal_failure(source_name, e.what());
  }
}

LoadResult load_scenario(std::string_view json_text, std::string_view source_name) {
  try {
    Ctx ctx;
    std::optional<Json> doc = parse_document(ctx, json_text);
    if (!doc) return finish(ctx, Scenario{}, source_name);
    Scenario s;
    read_scenario(ctx, *doc, s);
    return finish(ctx, std::move(s), source_name);
  } catch (const std::exception& e) {
    return internal_failure(source_name, e.what());
  }
}

LoadResult load_scenario_file(const std::filesystem::path& path) {
  Ctx ctx;
  std::optional<std::string> text = read_text_file(ctx, path);
  if (!text) return finish(ctx, Scenario{}, path.string());
  return load_scenario(*text, path.string());
}

}  // namespace keel::scenarios

