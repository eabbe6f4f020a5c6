// Scenario loader and validator (loader.h). One function per object of the format; each
// reads its fields in the format's order, reports every problem to the Ctx and goes on.
#include "keel/scenarios/loader.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include "keel/scenarios/duration.h"

namespace keel::scenarios {

namespace {

using Json = nlohmann::ordered_json;
using faults::is_tool_target;
using faults::kEveryProvider;
using faults::kProviderFaultKinds;
using faults::kToolFaultKinds;
using faults::tool_name_of;
using faults::fault_kind_from_string;
using faults::fault_kind_name;
using faults::fits_target;
constexpr std::int64_t kI64Max = std::numeric_limits<std::int64_t>::max();

// ---- pointers and messages ------------------------------------------------------------------

std::string escape_token(std::string_view key) {
  std::string out;
  out.reserve(key.size());
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}
std::string join(const std::string& ptr, std::string_view key) { return ptr + "/" + escape_token(key); }
std::string join(const std::string& ptr, std::size_t index) { return ptr + "/" + std::to_string(index); }

// At most `max` bytes of `s`, cut on a UTF-8 boundary, with "..." when cut.
std::string clip(std::string_view s, std::size_t max = 60) {
  if (s.size() <= max) return std::string(s);
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n)) + "...";
}

// A JSON string literal of (at most 60 bytes of) `s`.
std::string q(std::string_view s) {
  return Json(clip(s)).dump(-1, ' ', false, Json::error_handler_t::replace);
}

// How a found value is shown: scalars as JSON, containers by name.
std::string found(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return v.get<bool>() ? "true" : "false";
    case Json::value_t::string: return q(v.get_ref<const std::string&>());
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float: return v.dump();
    case Json::value_t::object: return v.empty() ? "an empty object" : "an object";
    case Json::value_t::array: return v.empty() ? "an empty array" : "an array";
    default: return "an invalid value";
  }
}

template <class Names>
std::string one_of(const Names& names) {
  std::string out = "one of ";
  bool first = true;
  for (std::string_view n : names) {
    if (!first) out += ", ";
    first = false;
    out += '"';
    out += n;
    out += '"';
  }
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// The closest candidate within a small edit distance, or "".
template <class Names>
std::string_view closest(std::string_view word, const Names& candidates) {
  if (word.size() > 64) return {};
  std::string_view best;
  std::size_t best_d = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (std::string_view c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

struct Ctx {
  std::vector<ValidationError> errors;
  void error(std::string ptr, std::string msg) { errors.push_back({std::move(ptr), std::move(msg)}); }
  void expected(const std::string& ptr, std::string_view what, const Json& v) {
    error(ptr, "expected " + std::string(what) + ", found " + found(v));
  }
};

// ---- scalar readers: nullopt (and one error) when the value does not fit ------------------

std::optional<std::string> read_string(Ctx& ctx, const Json& v, const std::string& ptr, bool non_empty = false) {
  if (!v.is_string()) {
    ctx.expected(ptr, non_empty ? "a non-empty string" : "a string", v);
    return std::nullopt;
  }
  const auto& s = v.get_ref<const std::string&>();
  if (non_empty && s.empty()) {
    ctx.expected(ptr, "a non-empty string", v);
    return std::nullopt;
  }
  return s;
}

std::optional<bool> read_bool(Ctx& ctx, const Json& v, const std::string& ptr) {
  if (!v.is_boolean()) {
    ctx.expected(ptr, "true or false", v);
    return std::nullopt;
  }
  return v.get<bool>();
}

std::string int_range_text(std::int64_t lo, std::int64_t hi) {
  if (hi == kI64Max) return "an integer >= " + std::to_string(lo);
  return "an integer in " + std::to_string(lo) + ".." + std::to_string(hi);
}

// Integers: JSON integers, or numbers with no fractional part (3.0), within [lo, hi].
std::optional<std::int64_t> read_int(Ctx& ctx, const Json& v, const std::string& ptr, std::int64_t lo,
                                     std::int64_t hi = kI64Max) {
  const std::string what = int_range_text(lo, hi);
  std::optional<std::int64_t> x;
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u <= static_cast<std::uint64_t>(kI64Max)) x = static_cast<std::int64_t>(u);
  } else if (v.is_number_integer()) {
    x = v.get<std::int64_t>();
  } else if (v.is_number_float()) {
    const double d = v.get<double>();
    if (d == static_cast<double>(static_cast<std::int64_t>(std::clamp(d, -9.0e18, 9.0e18))) && d >= -9.0e18 &&
        d <= 9.0e18) {
      x = static_cast<std::int64_t>(d);
    }
  }
  if (!x || *x < lo || *x > hi) {
    ctx.expected(ptr, what, v);
    return std::nullopt;
  }
  return x;
}

std::optional<std::uint64_t> read_u64(Ctx& ctx, const Json& v, const std::string& ptr) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0) return static_cast<std::uint64_t>(v.get<std::int64_t>());
  if (v.is_number_float()) {
    const double d = v.get<double>();
    if (d >= 0 && d < 1.8e19 && d == static_cast<double>(static_cast<std::uint64_t>(d))) return static_cast<std::uint64_t>(d);
  }
  ctx.expected(ptr, "an integer in 0..18446744073709551615", v);
  return std::nullopt;
}

// A number for which `fits` holds; `what` describes the accepted range.
std::optional<double> read_number(Ctx& ctx, const Json& v, const std::string& ptr, std::string_view what,
                                  const std::function<bool(double)>& fits) {
  if (!v.is_number() || !fits(v.get<double>())) {
    ctx.expected(ptr, what, v);
    return std::nullopt;
  }
  return v.get<double>();
}
bool unit_interval(double x) { return x >= 0.0 && x <= 1.0; }
bool open_unit_interval(double x) { return x > 0.0 && x <= 1.0; }
bool positive(double x) { return x > 0.0; }

enum class DurMin { zero, positive };

std::optional<Duration> read_duration(Ctx& ctx, const Json& v, const std::string& ptr, DurMin min = DurMin::zero) {
  if (!v.is_string()) {
    ctx.expected(ptr, "a duration like \"250ms\"", v);
    return std::nullopt;
  }
  std::string why;
  const std::optional<Duration> d = parse_duration(v.get_ref<const std::string&>(), &why);
  if (!d) {
    ctx.error(ptr, "expected a duration like \"250ms\", found " + found(v) + ": " + why);
    return std::nullopt;
  }
  if (min == DurMin::positive && *d <= Duration::zero()) {
    ctx.expected(ptr, "a duration > 0", v);
    return std::nullopt;
  }
  return d;
}

// "expected one of "a", "b", found "c" (did you mean "a"?)".
template <class Names>
void not_one_of(Ctx& ctx, const Json& v, const std::string& ptr, const Names& names) {
  std::string msg = "expected " + one_of(names) + ", found " + found(v);
  if (v.is_string()) {
    if (std::string_view c = closest(v.get_ref<const std::string&>(), names); !c.empty())
      msg += " (did you mean \"" + std::string(c) + "\"?)";
  }
  ctx.error(ptr, std::move(msg));
}

template <class E, std::size_t N>
std::optional<E> read_enum(Ctx& ctx, const Json& v, const std::string& ptr, const std::array<std::string_view, N>& names) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    for (std::size_t i = 0; i < N; ++i) {
      if (names[i] == s) return static_cast<E>(i);
    }
  }
  not_one_of(ctx, v, ptr, names);
  return std::nullopt;
}

const Json::array_t* read_array(Ctx& ctx, const Json& v, const std::string& ptr, std::string_view what = "an array") {
  if (!v.is_array()) {
    ctx.expected(ptr, what, v);
    return nullptr;
  }
  return &v.get_ref<const Json::array_t&>();
}

// ---- objects: known fields, required fields, unknown fields ------------------------------

class Obj {
 public:
  // Reports a type error if `v` is not an object, and every field not in `allowed`.
  Obj(Ctx& ctx, const Json& v, std::string ptr, std::initializer_list<std::string_view> allowed,
      std::string_view what = "an object")
      : ctx_(ctx), v_(v), ptr_(std::move(ptr)) {
    if (!v.is_object()) {
      ctx.expected(ptr_, what, v);
      return;
    }
    ok_ = true;
    for (const auto& [key, value] : v.items()) {
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
      std::string msg = "unknown field " + q(key);
      if (std::string_view c = closest(key, allowed); !c.empty()) {
        msg += "; did you mean \"" + std::string(c) + "\"?";
      } else {
        msg += " (expected " + one_of(allowed) + ")";
      }
      ctx.error(join(ptr_, key), std::move(msg));
      ++unknown_;
    }
  }

  bool ok() const noexcept { return ok_; }
  std::size_t unknown_fields() const noexcept { return unknown_; }
  const std::string& ptr() const noexcept { return ptr_; }
  std::string at(std::string_view key) const { return join(ptr_, key); }
  bool has(std::string_view key) const { return get(key) != nullptr; }

  const Json* get(std::string_view key) const {
    if (!ok_) return nullptr;
    auto it = v_.find(key);
    return it == v_.end() ? nullptr : &*it;
  }
  // The field, or nullptr after reporting it missing.
  const Json* require(std::string_view key) const {
    if (!ok_) return nullptr;
    const Json* f = get(key);
    if (!f) ctx_.error(at(key), "required field \"" + std::string(key) + "\" is missing");
    return f;
  }

  // Optional-field conveniences: read into `out` when present and valid.
  template <class Fn>
  auto opt(std::string_view key, Fn&& read) const -> decltype(read(std::declval<const Json&>(), std::string{})) {
    const Json* f = get(key);
    if (!f) return std::nullopt;
    return read(*f, at(key));
  }

 private:
  Ctx& ctx_;
  const Json& v_;
  std::string ptr_;
  bool ok_ = false;
  std::size_t unknown_ = 0;
};

// Assigns `src` to `dst` when engaged.
template <class T, class U>
void put(T& dst, std::optional<U> src) {
  if (src) dst = std::move(*src);
}

// ---- names and references -----------------------------------------------------------------

struct Names {
  std::vector<std::string> providers, tools;
  bool providers_complete = true;  // false: some provider had no usable name (skip ref checks)
  bool tools_complete = true;

  bool is_provider(std::string_view n) const { return std::find(providers.begin(), providers.end(), n) != providers.end(); }
  bool is_tool(std::string_view n) const { return std::find(tools.begin(), tools.end(), n) != tools.end(); }
};

std::string list_names(const std::vector<std::string>& names) {
  if (names.empty()) return "none are defined";
  std::string out;
  for (std::size_t i = 0; i < names.size() && i < 12; ++i) {
    if (i) out += ", ";
    out += q(names[i]);
  }
  if (names.size() > 12) out += ", ...";
  return "defined: " + out;
}

void check_provider(Ctx& ctx, const Names& names, const std::string& ptr, const std::string& n) {
  if (!names.providers_complete || names.is_provider(n)) return;
  std::string msg = "unknown provider " + q(n) + " (" + list_names(names.providers) + ")";
  if (is_tool_target(n) || names.is_tool(n)) msg += "; tools are not providers";
  ctx.error(ptr, std::move(msg));
}

void check_tool(Ctx& ctx, const Names& names, const std::string& ptr, const std::string& n) {
  if (!names.tools_complete || names.is_tool(n)) return;
  std::string msg = "unknown tool " + q(n) + " (tools " + list_names(names.tools) + ")";
  if (is_tool_target(n) && names.is_tool(tool_name_of(n))) msg += "; write the tool's name without \"tool:\"";
  ctx.error(ptr, std::move(msg));
}

// Reports the second and later occurrences of a name.
class UniqueNames {
 public:
  explicit UniqueNames(std::string_view what) : what_(what) {}
  bool add(Ctx& ctx, const std::string& name, const std::string& ptr) {
    auto [it, inserted] = first_.emplace(name, ptr);
    if (!inserted) ctx.error(ptr, "duplicate " + std::string(what_) + " " + q(name) + " (first at " + it->second + ")");
    return inserted;
  }

 private:
  std::string_view what_;
  std::map<std::string, std::string> first_;
};

// An array of provider (or tool) names: non-empty if required, unique, known.
std::optional<std::vector<std::string>> read_name_list(Ctx& ctx, const Json& v, const std::string& ptr, bool non_empty,
                                                       const std::function<void(const std::string&, const std::string&)>& check) {
  const Json::array_t* arr = read_array(ctx, v, ptr, non_empty ? "a non-empty array of names" : "an array of names");
  if (!arr) return std::nullopt;
  if (non_empty && arr->empty()) {
    ctx.expected(ptr, "a non-empty array of names", v);
    return std::nullopt;
  }
  std::vector<std::string> out;
  UniqueNames unique("name");
  bool ok = true;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const std::string p = join(ptr, i);
    auto s = read_string(ctx, (*arr)[i], p, true);
    if (!s) {
      ok = false;
      continue;
    }
    if (!unique.add(ctx, *s, p)) ok = false;
    check(*s, p);
    out.push_back(*s);
  }
  if (!ok) return std::nullopt;
  return out;
}

// ---- latency --------------------------------------------------------------------------------

constexpr std::array<std::string_view, 4> kLatencyKinds = {"fixed", "uniform", "exponential", "lognormal"};

std::optional<Latency> read_latency(Ctx& ctx, const Json& v, const std::string& ptr) {
  Obj o(ctx, v, ptr, {"fixed", "uniform", "exponential", "lognormal"},
        "a latency: {\"fixed\": d}, {\"uniform\": [d1, d2]}, {\"exponential\": {\"mean\": d}} or "
        "{\"lognormal\": {\"median\": d, \"p99\": d}}");
  if (!o.ok()) return std::nullopt;
  std::size_t present = 0;
  for (std::string_view k : kLatencyKinds) present += o.has(k) ? 1 : 0;
  if (present != 1) {
    if (present > 1 || o.unknown_fields() == 0)
      ctx.error(ptr, "expected exactly one of " + one_of(kLatencyKinds) + ", found " +
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

// ---- providers, tools ------------------------------------------------------------------------

void read_provider(Ctx& ctx, const Json& v, const std::string& ptr, Provider& p, bool& named) {
  Obj o(ctx, v, ptr, {"name", "api", "context_window", "latency", "output_tokens", "limits"});
  named = false;
  if (!o.ok()) return;
  if (const Json* n = o.require("name")) {
    if (auto s = read_string(ctx, *n, o.at("name"), true)) {
      if (*s == kEveryProvider || is_tool_target(*s)) {
        ctx.expected(o.at("name"), "a provider name other than \"*\" and not starting with \"tool:\"", *n);
      } else {
        p.name = *s;
        named = true;
      }
    }
  }
  put(p.api, o.opt("api", [&](const Json& x, const std::string& at) { return read_enum<Api>(ctx, x, at, kApiNames); }));
  put(p.context_window, o.opt("context_window", [&](const Json& x, const std::string& at) { return read_int(ctx, x, at, 1); }));
  put(p.latency, o.opt("latency", [&](const Json& x, const std::string& at) { return read_latency(ctx, x, at); }));
  put(p.output_tokens, o.opt("output_tokens", [&](const Json& x, const std::string& at) { return read_int(ctx, x, at, 0); }));
  if (const Json* l = o.get("limits")) {
    Obj lo(ctx, *l, o.at("limits"), {"requests_per_minute", "tokens_per_minute"});
    if (lo.ok()) {
      ProviderLimits lim;
      lim.requests_per_minute = lo.opt("requests_per_minute", [&](const Json& x, const std::string& at) { return read_int(ctx, x, at, 1); });
      lim.tokens_per_minute = lo.opt("tokens_per_minute", [&](const Json& x, const std::string& at) { return read_int(ctx, x, at, 1); });
      p.limits = lim;
    }
  }
}

void read_tool(Ctx& ctx, const Json& v, const std::string& ptr, Tool& t, bool& named) {
  Obj o(ctx, v, ptr, {"name", "latency", "idempotent"});
  named = false;
  if (!o.ok()) return;
  if (const Json* n = o.require("name")) {
    if (auto s = read_string(ctx, *n, o.at("name"), true)) {
      t.name = *s;
      named = true;
    }
  }
  put(t.latency, o.opt("latency", [&](const Json& x, const std::string& at) { return read_latency(ctx, x, at); }));
  put(t.idempotent, o.opt("idempotent", [&](const Json& x, const std::string& at) { return read_bool(ctx, x, at); }));
}

// ---- faults ---------------------------------------------------------------------------------

void read_fault(Ctx& ctx, const Names& names, const Json& v, const std::string& ptr, Fault& f) {
  Obj o(ctx, v, ptr, {"target", "kind", "from", "until", "probability", "every_nth", "first_n", "retry_after", "status",
                      "extra_latency"});
  if (!o.ok()) return;
  bool target_ok = false;
  if (const Json* t = o.require("target")) {
    if (auto s = read_string(ctx, *t, o.at("target"), true)) {
      f.target = *s;
      target_ok = true;
      if (is_tool_target(*s)) {
        if (names.tools_complete && !names.is_tool(tool_name_of(*s))) {
          ctx.error(o.at("target"), "unknown tool " + q(tool_name_of(*s)) + " in target " + q(*s) + " (tools " +
                                        list_names(names.tools) + ")");
        }
      } else if (*s != kEveryProvider) {
        if (names.providers_complete && !names.is_provider(*s)) {
          std::string msg = "expected a provider name, \"tool:<name>\" or \"*\", found unknown " + q(*s) + " (providers " +
                            list_names(names.providers) + ")";
          if (names.is_tool(*s)) msg += "; for the tool write \"tool:" + clip(*s) + "\"";
          ctx.error(o.at("target"), std::move(msg));
        }
      }
    }
  }
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
    } else {
      f.kind = *kind;
    }
  }
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
    auto n = read_int(ctx, x, at, 1);
    return n ? std::optional<std::uint64_t>(static_cast<std::uint64_t>(*n)) : std::nullopt;
  });
  f.first_n = o.opt("first_n", [&](const Json& x, const std::string& at) -> std::optional<std::uint64_t> {
    auto n = read_int(ctx, x, at, 1);
    return n ? std::optional<std::uint64_t>(static_cast<std::uint64_t>(*n)) : std::nullopt;
  });

  // Kind-specific fields: only where the kind has them.
  auto only_for = [&](std::string_view field, sim::FaultKind k) {
    if (!o.has(field) || !kind || *kind == k) return false;
    ctx.error(o.at(field), "field \"" + std::string(field) + "\" applies only to kind \"" + std::string(fault_kind_name(k)) +
                               "\", not to " + q(fault_kind_name(*kind)));
    return true;
  };
  if (!only_for("retry_after", sim::FaultKind::rate_limit)) {
    f.retry_after = o.opt("retry_after", [&](const Json& x, const std::string& at) { return read_duration(ctx, x, at); });
  }
  if (!only_for("status", sim::FaultKind::server_error)) {
    put(f.status, o.opt("status", [&](const Json& x, const std::string& at) -> std::optional<int> {
      auto n = read_int(ctx, x, at, 500, 599);
      return n ? std::optional<int>(static_cast<int>(*n)) : std::nullopt;
    }));
  }
  if (!only_for("extra_latency", sim::FaultKind::slow)) {
    if (kind == sim::FaultKind::slow && !o.has("extra_latency")) {
      o.require("extra_latency");
    } else {
      f.extra_latency = o.opt("extra_latency", [&](const Json& x, const std::string& at) { return read_latency(ctx, x, at); });
    }
  }
}

// ---- runtime --------------------------------------------------------------------------------

// `false` (disabled) or an object read by `read`.
template <class T, class Fn>
Override<T> read_switch(Ctx& ctx, const Json& v, const std::string& ptr, std::string_view what, Fn&& read) {
  if (v.is_boolean() && !v.get<bool>()) return Override<T>::disabled();
  if (!v.is_object()) {
    ctx.expected(ptr, "false or " + std::string(what), v);
    return {};
  }
  std::optional<T> t = read();
  return t ? Override<T>::of(std::move(*t)) : Override<T>{};
}

RetrySettings read_retry(Ctx& ctx, const Json& v, const std::string& ptr) {
  RetrySettings r;
  Obj o(ctx, v, ptr, {"max_attempts", "base_delay", "max_delay", "multiplier", "jitter", "retry_on", "honor_retry_after",
                      "max_retry_after", "budget"});
  if (!o.ok()) return r;
  r.max_attempts = o.opt("max_attempts", [&](const Json& x, const std::string& at) { return read_int(ctx, x, at, 1); });
  r.base_delay = o.opt("base_delay", [&](const Json& x, const std::string& at) { return read_duration(ctx, x, at); });
  r.max_delay = o.opt("max_delay", [&](const Json& x, const std::string& at) { return read_duration(ctx, x, at); });
  if (r.base_delay && r.max_delay && *r.max_delay < *r.base_delay) {
    ctx.expected(o.at("max_delay"), "a duration >= base_delay (" + q(format_duration(*r.base_delay)) + ")", *o.get("max_delay"));
    r.max_delay.reset();
  }
  r.multiplier = o.opt("multiplier", [&](const Json& x, const std::string& at) { return read_number(ctx, x, at, "a number > 0", positive); });
  r.jitter = o.opt("jitter", [&](const Json& x, const std::string& at) { return read_enum<Jitter>(ctx, x, at, kJitterNames); });
  if (const Json* ro = o.get("retry_on")) {
    const std::string p = o.at("retry_on");
    if (const Json::array_t* arr = read_array(ctx, *ro, p, "an array of error codes")) {
      std::vector<ErrorCode> codes;
      for (std::size_t i = 0; i < arr->size(); ++i) {
        const Json& c = (*arr)[i];
        std::optional<ErrorCode> code;
        if (c.is_string()) code = error_code_from_string(c.get_ref<const std::string&>());
        if (!code) {
          std::vector<std::string_view> all;
          for (const auto& info : kErrorCodes) all.push_back(info.name);
          not_one_of(ctx, c, join(p, i), all);
        } else if (std::find(codes.begin(), codes.end(), *code) != codes.end()) {
          ctx.error(join(p, i), "duplicate error code " + found(c));
        } else {
          codes.push_back(*code);
        }
      }
      r.retry_on = std::move(codes);
    }
  }
  r.honor_retry_after = o.opt("honor_retry_after", [&](const Json& x, const std::string& at) { return read_bool(ctx, x, at); });
  r.max_retry_after = o.opt("max_retry_after", [&](const Json& x, const std::string& at) { return read_duration(ctx, x, at); });
  if (const Json* b = o.get("budget")) {
    const std::string p = o.at("budget");
    r.budget = read_switch<RetryBudget>(ctx, *b, p, "an object {\"max_tokens\": n, \"token_ratio\": r}", [&]() -> std::optional<RetryBudget> {
      Obj bo(ctx, *b, p, {"max_tokens", "token_ratio"});
      const Json* mt = bo.require("max_tokens");
      const Json* tr = bo.require("token_ratio");
      std::optional<double> m, t;
      if (mt) m = read_number(ctx, *mt, bo.at("max_tokens"), "a number > 0", positive);
      if (tr) t = read_number(ctx, *tr, bo.at("token_ratio"), "a number > 0", positive);
      if (!m || !t) return std::nullopt;
      return RetryBudget{*m, *t};
    });
  }
  return r;
}

std::optional<BreakerSettings> read_breaker(Ctx& ctx, const Json& v, const std::string& ptr) {
  Obj o(ctx, v, ptr, {"window", "size", "duration", "failure_rate", "min_calls", "open_for", "half_open_calls", "slow_call"});
  BreakerSettings b;
  b.window = o.opt("window", [&](const Json& x, const std::string& at) { return read_enum<BreakerWindow>(ctx, x, at, kBreakerWindowNames); });
  constexpr std::int64_t u32 = std::numeric_limits<std::uint32_t>::max();
  if (o.has("size") && b.window == BreakerWindow::time) {
    ctx.error(o.at("size"), "field \"size\" applies only to window \"count\"; a time window uses \"duration\"");
  } else {
    b.size = o.opt("size", [&](const Json& x, const std::string& at) { return read_int(ctx, x, at, 1, u32); });
  }
  if (o.has("duration") && b.window == BreakerWindow::count) {
    ctx.error(o.at("duration"), "field \"duration\" applies only to window \"time\"; a count window uses \"size\"");
  } else {
    b.duration = o.opt("duration", [&](const Json& x, const std::string& at) { return read_duration(ctx, x, at, DurMin::positive); });
  }
  b.failure_rate = o.opt("failure_rate", [&](const Json& x, const std::string& at) {
    return read_number(ctx, x, at, "a rate in (0, 1]", open_unit_interval);
  });
  b.min_calls = o.opt("min_calls", [&](const Json& x, const std::string& at) { return read_int(ctx, x, at, 1, u32); });
  b.open_for = o.opt("open_for", [&](const Json& x, const std::string& at) { return read_duration(ctx, x, at, DurMin::positive); });
  b.half_open_calls = o.opt("half_open_calls", [&](const Json& x, const std::string& at) { return read_int(ctx, x, at, 1, u32); });
  if (const Json* s = o.get("slow_call")) {
    Obj so(ctx, *s, o.at("slow_call"), {"duration", "rate"});
    const Json* d = so.require("duration");
    const Json* r = so.require("rate");
    std::optional<Duration> dd;
    std::optional<double> rr;
    if (d) dd = read_duration(ctx, *d, so.at("duration"), DurMin::positive);
    if (r) rr = read_number(ctx, *r, so.at("rate"), "a rate in (0, 1]", open_unit_interval);
    if (dd && rr) b.slow_call = SlowCall{*dd, *rr};
  }
  return b;
}

Timeouts read_timeouts(Ctx& ctx, const Json& v, const std::string& ptr) {
  Timeouts t;
  Obj o(ctx, v, ptr, {"attempt", "call", "step", "tool"});
  auto one = [&](std::string_view key, Override<Duration>& out) {
    const Json* f = o.get(key);
    if (!f) return;
    if (f->is_null()) {
      out = Override<Duration>::disabled();
      return;
    }
    if (!f->is_string()) {
      ctx.expected(o.at(key), "a duration like \"30s\" or null (no timeout)", *f);
      return;
    }
    if (auto d = read_duration(ctx, *f, o.at(key), DurMin::positive)) out = Override<Duration>::of(*d);
  };
  one("attempt", t.attempt);
  one("call", t.call);
  one("step", t.step);
  one("tool", t.tool);
  return t;
}

ContextSettings read_context(Ctx& ctx, const Json& v, const std::string& ptr) {
  ContextSettings c;
  Obj o(ctx, v, ptr, {"token_limit", "on_overflow"});
  c.token_limit = o.opt("token_limit", [&](const Json& x, const std::string& at) { return read_int(ctx, x, at, 1); });
  c.on_overflow = o.opt("on_overflow", [&](const Json& x, const std::string& at) { return read_enum<OnOverflow>(ctx, x, at, kOnOverflowNames); });
  return c;
}

Runtime read_runtime(Ctx& ctx, const Names& names, const Json& v, const std::string& ptr) {
  Runtime rt;
  Obj o(ctx, v, ptr, {"preset", "models", "scheduling", "fallback_on_error", "retry", "circuit_breaker", "timeouts", "context",
                      "hedging"});
  if (!o.ok()) return rt;
  rt.preset = o.opt("preset", [&](const Json& x, const std::string& at) { return read_enum<Preset>(ctx, x, at, kPresetNames); });
  rt.models = o.opt("models", [&](const Json& x, const std::string& at) {
    return read_name_list(ctx, x, at, true, [&](const std::string& n, const std::string& p) { check_provider(ctx, names, p, n); });
  });
  rt.scheduling = o.opt("scheduling", [&](const Json& x, const std::string& at) { return read_enum<Scheduling>(ctx, x, at, kSchedulingNames); });
  rt.fallback_on_error = o.opt("fallback_on_error", [&](const Json& x, const std::string& at) { return read_bool(ctx, x, at); });
  if (const Json* r = o.get("retry")) rt.retry = read_retry(ctx, *r, o.at("retry"));
  if (const Json* b = o.get("circuit_breaker")) {
    const std::string p = o.at("circuit_breaker");
    rt.circuit_breaker = read_switch<BreakerSettings>(ctx, *b, p, "a breaker object", [&] { return read_breaker(ctx, *b, p); });
  }
  if (const Json* t = o.get("timeouts")) rt.timeouts = read_timeouts(ctx, *t, o.at("timeouts"));
  if (const Json* c = o.get("context")) rt.context = read_context(ctx, *c, o.at("context"));
  if (const Json* h = o.get("hedging")) {
    const std::string p = o.at("hedging");
    rt.hedging = read_switch<HedgingSettings>(ctx, *h, p, "an object {\"delay\": d, \"max_extra\": n}", [&]() -> std::optional<HedgingSettings> {
      Obj ho(ctx, *h, p, {"delay", "max_extra"});
      HedgingSettings hs;
      const Json* d = ho.require("delay");
      std::optional<Duration> delay;
      if (d) delay = read_duration(ctx, *d, ho.at("delay"));
      auto extra = ho.opt("max_extra", [&](const Json& x, const std::string& at) { return read_int(ctx, x, at, 1); });
      if (!delay || (ho.has("max_extra") && !extra)) return std::nullopt;
      hs.delay = *delay;
      put(hs.max_extra, extra);
      return hs;
    });
  }
  return rt;
}

// ---- workload -------------------------------------------------------------------------------

constexpr std::array<std::string_view, 2> kWorkloadKinds = {"agents", "workforce"};

Start read_start(Ctx& ctx, const Json& v, const std::string& ptr) {
  Start s;
  Obj o(ctx, v, ptr, {"at", "every", "poisson_per_s"},
        "a start: {\"at\": d}, {\"every\": d} or {\"poisson_per_s\": x}");
  if (!o.ok()) return s;
  const int present = int(o.has("at")) + int(o.has("every")) + int(o.has("poisson_per_s"));
  if (present != 1) {
    if (present > 1 || o.unknown_fields() == 0)
      ctx.error(ptr, "expected exactly one of \"at\", \"every\", \"poisson_per_s\", found " +
                         (present > 1 ? std::to_string(present) + " of them" : found(v)));
    return s;
  }
  if (const Json* a = o.get("at")) {
    s.kind = Start::Kind::at;
    put(s.at, read_duration(ctx, *a, o.at("at")));
  } else if (const Json* e = o.get("every")) {
    s.kind = Start::Kind::every;
    put(s.every, read_duration(ctx, *e, o.at("every")));
  } else {
    s.kind = Start::Kind::poisson;
    put(s.poisson_per_s, read_number(ctx, *o.get("poisson_per_s"), o.at("poisson_per_s"), "a rate > 0 (arrivals per second)", positive));
  }
  return s;
}

AgentsWorkload read_agents(Ctx& ctx, const Names& names, const Obj& o) {
  AgentsWorkload a;
  auto count = [&](std::string_view key, std::int64_t min) {
    return o.opt(key, [&](const Json& x, const std::string& at) { return read_int(ctx, x, at, min); });
  };
  put(a.count, count("count", 1));
  put(a.steps, count("steps", 1));
  if (const Json* s = o.get("start")) a.start = read_start(ctx, *s, o.at("start"));
  put(a.prompt_tokens, count("prompt_tokens", 1));
  put(a.history, o.opt("history", [&](const Json& x, const std::string& at) { return read_enum<History>(ctx, x, at, kHistoryNames); }));
  put(a.tool_calls_per_step, count("tool_calls_per_step", 0));
  if (a.tool_calls_per_step > 0 && names.tools.empty() && names.tools_complete) {
    ctx.error(o.at("tool_calls_per_step"), "expected 0: the scenario defines no tools, found " + found(*o.get("tool_calls_per_step")));
  }
  return a;
}

void read_worker(Ctx& ctx, const Names& names, const Json& v, const std::string& ptr, Worker& w, bool& named) {
  named = false;
  Obj o(ctx, v, ptr, {"name", "models", "tool"});
  if (!o.ok()) return;
  if (const Json* n = o.require("name")) {
    if (auto s = read_string(ctx, *n, o.at("name"), true)) {
      w.name = *s;
      named = true;
    }
  }
  if (o.has("models") == o.has("tool")) {
    ctx.error(ptr, std::string("expected exactly one of \"models\" (a chat agent) or \"tool\" (a tool worker), found ") +
                       (o.has("models") ? "both" : "neither"));
    return;
  }
  if (const Json* m = o.get("models")) {
    put(w.models, read_name_list(ctx, *m, o.at("models"), true,
                                 [&](const std::string& n, const std::string& p) { check_provider(ctx, names, p, n); }));
  } else if (auto t = read_string(ctx, *o.get("tool"), o.at("tool"), true)) {
    check_tool(ctx, names, o.at("tool"), *t);
    w.tool = *t;
  }
}

// Reports one dependency cycle among `tasks` (deps by index; unknown/self deps already dropped).
void check_cycles(Ctx& ctx, const std::vector<TaskSpec>& tasks, const std::vector<std::vector<std::size_t>>& deps,
                  const std::string& tasks_ptr) {
  const std::size_t n = tasks.size();
  std::vector<std::size_t> pending(n, 0);
  std::vector<std::vector<std::size_t>> dependents(n);
  for (std::size_t i = 0; i < n; ++i) {
    pending[i] = deps[i].size();
    for (std::size_t d : deps[i]) dependents[d].push_back(i);
  }
  std::vector<std::size_t> ready;
  for (std::size_t i = 0; i < n; ++i) {
    if (pending[i] == 0) ready.push_back(i);
  }
  std::vector<bool> done(n, false);
  while (!ready.empty()) {
    const std::size_t i = ready.back();
    ready.pop_back();
    done[i] = true;
    for (std::size_t t : dependents[i]) {
      if (--pending[t] == 0) ready.push_back(t);
    }
  }
  std::size_t start = n;
  for (std::size_t i = 0; i < n && start == n; ++i) {
    if (!done[i]) start = i;
  }
  if (start == n) return;
  // Every unfinished task has an unfinished dependency: walk them until one repeats.
  std::vector<std::size_t> path;
  std::vector<std::size_t> pos(n, n);
  std::size_t cur = start;
  while (pos[cur] == n) {
    pos[cur] = path.size();
    path.push_back(cur);
    for (std::size_t d : deps[cur]) {
      if (!done[d]) {
        cur = d;
        break;
      }
    }
  }
  std::string cycle;
  for (std::size_t k = pos[cur]; k < path.size(); ++k) cycle += q(tasks[path[k]].id) + " -> ";
  cycle += q(tasks[cur].id);
  ctx.error(join(join(tasks_ptr, cur), "depends_on"), "dependency cycle: " + cycle + " (each arrow: depends on)");
}

void read_tasks(Ctx& ctx, const Json& v, const std::string& ptr, const std::vector<std::string>& workers, bool workers_complete,
                WorkforceWorkload& wf) {
  if (v.is_number()) {
    if (auto n = read_int(ctx, v, ptr, 1)) wf.tasks = *n;
    return;
  }
  if (!v.is_array() || v.empty()) {
    ctx.expected(ptr, "a number of tasks >= 1 or a non-empty array of tasks", v);
    return;
  }
  std::vector<TaskSpec> tasks(v.size());
  UniqueNames ids("task id");
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string p = join(ptr, i);
    Obj o(ctx, v[i], p, {"id", "worker", "depends_on"});
    if (!o.ok()) continue;
    if (const Json* id = o.require("id")) {
      if (auto s = read_string(ctx, *id, o.at("id"), true)) {
        tasks[i].id = *s;
        if (ids.add(ctx, *s, o.at("id"))) index.emplace(*s, i);
      }
    }
    if (const Json* w = o.get("worker")) {
      if (auto s = read_string(ctx, *w, o.at("worker"), true)) {
        if (workers_complete && std::find(workers.begin(), workers.end(), *s) == workers.end()) {
          ctx.error(o.at("worker"), "unknown worker " + q(*s) + " (workers " + list_names(workers) + ")");
        }
        tasks[i].worker = *s;
      }
    }
  }
  // Dependencies need every id first.
  std::vector<std::vector<std::size_t>> deps(v.size());
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_object()) continue;
    auto it = v[i].find("depends_on");
    if (it == v[i].end()) continue;
    const std::string p = join(join(ptr, i), "depends_on");
    const Json::array_t* arr = read_array(ctx, *it, p, "an array of task ids");
    if (!arr) continue;
    std::set<std::string> seen;
    for (std::size_t k = 0; k < arr->size(); ++k) {
      const std::string dp = join(p, k);
      auto s = read_string(ctx, (*arr)[k], dp, true);
      if (!s) continue;
      if (!seen.insert(*s).second) {
        ctx.error(dp, "duplicate dependency " + q(*s));
        continue;
      }
      tasks[i].depends_on.push_back(*s);
      auto target = index.find(*s);
      if (target == index.end()) {
        ctx.error(dp, "unknown task id " + q(*s));
      } else if (target->second == i) {
        ctx.error(dp, "a task cannot depend on itself");
      } else {
        deps[i].push_back(target->second);
      }
    }
  }
  check_cycles(ctx, tasks, deps, ptr);
  wf.tasks = std::move(tasks);
}

WorkforceWorkload read_workforce(Ctx& ctx, const Names& names, const Obj& o) {
  WorkforceWorkload wf;
  put(wf.mode, o.opt("mode", [&](const Json& x, const std::string& at) { return read_enum<WorkforceMode>(ctx, x, at, kWorkforceModeNames); }));
  std::vector<std::string> worker_names;
  bool workers_complete = false;
  if (const Json* ws = o.require("workers")) {
    const std::string p = o.at("workers");
    if (const Json::array_t* arr = read_array(ctx, *ws, p, "a non-empty array of workers")) {
      if (arr->empty()) ctx.expected(p, "a non-empty array of workers", *ws);
      workers_complete = true;
      UniqueNames unique("worker name");
      wf.workers.resize(arr->size());
      for (std::size_t i = 0; i < arr->size(); ++i) {
        bool named = false;
        read_worker(ctx, names, (*arr)[i], join(p, i), wf.workers[i], named);
        if (!named) {
          workers_complete = false;
          continue;
        }
        unique.add(ctx, wf.workers[i].name, join(join(p, i), "name"));
        worker_names.push_back(wf.workers[i].name);
      }
    }
  }
  if (const Json* t = o.require("tasks")) read_tasks(ctx, *t, o.at("tasks"), worker_names, workers_complete, wf);
  wf.max_concurrency = o.opt("max_concurrency", [&](const Json& x, const std::string& at) { return read_int(ctx, x, at, 1); });
  put(wf.rounds, o.opt("rounds", [&](const Json& x, const std::string& at) { return read_int(ctx, x, at, 1); }));
  if (const Json* fh = o.get("failure_handling")) {
    Obj fo(ctx, *fh, o.at("failure_handling"), {"max_retries", "retry_delay", "strategy", "fallback_workers"});
    FailureHandling& h = wf.failure_handling;
    put(h.max_retries, fo.opt("max_retries", [&](const Json& x, const std::string& at) { return read_int(ctx, x, at, 0); }));
    put(h.retry_delay, fo.opt("retry_delay", [&](const Json& x, const std::string& at) { return read_duration(ctx, x, at); }));
    put(h.strategy, fo.opt("strategy", [&](const Json& x, const std::string& at) {
      return read_enum<FailureStrategy>(ctx, x, at, kFailureStrategyNames);
    }));
    put(h.fallback_workers, fo.opt("fallback_workers", [&](const Json& x, const std::string& at) {
      return read_name_list(ctx, x, at, false, [&](const std::string& n, const std::string& p) {
        if (workers_complete && std::find(worker_names.begin(), worker_names.end(), n) == worker_names.end())
          ctx.error(p, "unknown worker " + q(n) + " (workers " + list_names(worker_names) + ")");
      });
    }));
  }
  return wf;
}

std::optional<Workload> read_workload(Ctx& ctx, const Names& names, const Json& v, const std::string& ptr) {
  if (!v.is_object()) {
    ctx.expected(ptr, "a workload object", v);
    return std::nullopt;
  }
  std::optional<std::size_t> kind;
  auto k = v.find("kind");
  if (k == v.end()) {
    ctx.error(join(ptr, "kind"), "required field \"kind\" is missing (\"agents\" or \"workforce\")");
  } else {
    kind = read_enum<std::size_t>(ctx, *k, join(ptr, "kind"), kWorkloadKinds);
  }
  if (kind == 0u) {
    Obj o(ctx, v, ptr, {"kind", "count", "steps", "start", "prompt_tokens", "history", "tool_calls_per_step"});
    return read_agents(ctx, names, o);
  }
  if (kind == 1u) {
    Obj o(ctx, v, ptr, {"kind", "mode", "workers", "tasks", "max_concurrency", "rounds", "failure_handling"});
    return read_workforce(ctx, names, o);
  }
  // Unknown kind: still flag fields that belong to neither kind.
  Obj o(ctx, v, ptr, {"kind", "count", "steps", "start", "prompt_tokens", "history", "tool_calls_per_step", "mode", "workers",
                      "tasks", "max_concurrency", "rounds", "failure_handling"});
  return std::nullopt;
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
                      "finished_before"});
  if (!o.ok()) return e;
  auto count = [&](const Obj& obj, std::string_view key) {
    return obj.opt(key, [&](const Json& x, const std::string& at) { return read_int(ctx, x, at, 0); });
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
                                                        [&](const Json& x, const std::string& p) { return read_int(ctx, x, p, 0); });
  }
  e.finished_before = dur(o, "finished_before");
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
  if (const Json* v = o.require("name")) put(s.name, read_string(ctx, *v, o.at("name"), true));
  if (const Json* v = o.get("description")) put(s.description, read_string(ctx, *v, o.at("description")));
  if (const Json* v = o.get("seed")) put(s.seed, read_u64(ctx, *v, o.at("seed")));
  if (const Json* v = o.get("horizon")) put(s.horizon, read_duration(ctx, *v, o.at("horizon"), DurMin::positive));

  Names names;
  if (const Json* v = o.require("providers")) {
    const std::string p = o.at("providers");
    if (const Json::array_t* arr = read_array(ctx, *v, p, "a non-empty array of providers")) {
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
      }
    } else {
      names.providers_complete = false;
    }
  } else {
    names.providers_complete = false;
  }
  if (const Json* v = o.get("tools")) {
    const std::string p = o.at("tools");
    if (const Json::array_t* arr = read_array(ctx, *v, p, "an array of tools")) {
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
  if (const Json* v = o.get("faults")) {
    const std::string p = o.at("faults");
    if (const Json::array_t* arr = read_array(ctx, *v, p, "an array of faults")) {
      s.faults.resize(arr->size());
      for (std::size_t i = 0; i < arr->size(); ++i) read_fault(ctx, names, (*arr)[i], join(p, i), s.faults[i]);
    }
  }
  if (const Json* v = o.get("runtime")) s.runtime = read_runtime(ctx, names, *v, o.at("runtime"));
  if (const Json* v = o.require("workload")) put(s.workload, read_workload(ctx, names, *v, o.at("workload")));
  if (const Json* v = o.get("expect")) s.expect = read_expect(ctx, names, *v, o.at("expect"));
  if (const Json* v = o.get("expected")) s.expected = read_expected(ctx, *v, o.at("expected"));
}

// ---- syntax: line/column and duplicate keys ---------------------------------------------------

void line_column(std::string_view text, std::size_t byte, int& line, int& column) {
  line = 1;
  column = 1;
  const std::size_t end = std::min(byte, text.size());
  for (std::size_t i = 0; i < end; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
}

// Finds repeated keys in one object (the DOM parser silently keeps the last one).
class DuplicateKeys final : public nlohmann::json_sax<Json> {
 public:
  explicit DuplicateKeys(Ctx& ctx) : ctx_(ctx) {}

  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(number_integer_t) override { return value(); }
  bool number_unsigned(number_unsigned_t) override { return value(); }
  bool number_float(number_float_t, const string_t&) override { return value(); }
  bool string(string_t&) override { return value(); }
  bool binary(binary_t&) override { return value(); }
  bool start_object(std::size_t) override {
    stack_.push_back(Frame{true, {}, {}, 0});
    return true;
  }
  bool key(string_t& k) override {
    Frame& f = stack_.back();
    f.key = k;
    if (!f.keys.insert(k).second) ctx_.error(pointer(), "duplicate key " + q(k) + " in one object");
    return true;
  }
  bool end_object() override {
    stack_.pop_back();
    return value();
  }
  bool start_array(std::size_t) override {
    stack_.push_back(Frame{false, {}, {}, 0});
    return true;
  }
  bool end_array() override {
    stack_.pop_back();
    return value();
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  struct Frame {
    bool object;
    std::set<std::string> keys;
    std::string key;
    std::size_t index;
  };
  bool value() {
    if (!stack_.empty() && !stack_.back().object) ++stack_.back().index;
    return true;
  }
  std::string pointer() const {
    std::string p;
    for (const Frame& f : stack_) p = f.object ? join(p, f.key) : join(p, f.index);
    return p;
  }

  Ctx& ctx_;
  std::vector<Frame> stack_;
};

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

std::string ValidationError::to_string() const {
  if (line > 0) return "line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + message;
  if (pointer.empty()) return message;
  return pointer + ": " + message;
}

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
    Json doc;
    try {
      doc = Json::parse(json_text.begin(), json_text.end());
    } catch (const Json::parse_error& e) {
      ValidationError err;
      line_column(json_text, e.byte == 0 ? 0 : e.byte - 1, err.line, err.column);
      std::string what = e.what();
      // "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error ..."
      if (auto pos = what.find(": "); pos != std::string::npos && what.find("column") < pos) what = what.substr(pos + 2);
      err.message = "invalid JSON: " + what;
      ctx.errors.push_back(std::move(err));
      return finish(ctx, Scenario{}, source_name);
    }
    DuplicateKeys dup(ctx);
    Json::sax_parse(json_text.begin(), json_text.end(), &dup);
    Scenario s;
    read_scenario(ctx, doc, s);
    return finish(ctx, std::move(s), source_name);
  } catch (const std::exception& e) {
    return internal_failure(source_name, e.what());
  }
}

LoadResult load_scenario_file(const std::filesystem::path& path) {
  const std::string source = path.string();
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadResult r;
    r.source = source;
    r.errors.push_back({"", "cannot open the file"});
    return r;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    LoadResult r;
    r.source = source;
    r.errors.push_back({"", "cannot read the file"});
    return r;
  }
  return load_scenario(text.str(), source);
}

}  // namespace keel::scenarios
