// keel/config/detail/json_reader.h — the JSON-reading toolkit of keel's file readers (the
// scenario loader, the runtime-block loader). Internal: installed because the readers of both
// libraries share it, not an API for applications.
//
// Purpose: read one value or object of a keel file, reporting every problem to a Ctx as a
// ValidationError (JSON pointer + "expected X, found Y") and going on. Nothing here knows
// the file formats except through the callers' field lists.
//
// Contract: readers return nullopt (or nullptr) after reporting exactly one error, never
// throw for any JSON value, and never dump containers into messages (only scalars).
//
// Example:
//   Ctx ctx;
//   Obj o(ctx, json, "/providers/0", {"name", "latency"});   // reports unknown fields
//   if (const Json* n = o.require("name")) name = read_string(ctx, *n, o.at("name"), true);
//   put(count, o.opt("count", [&](const Json& x, const std::string& at) { return read_int(ctx, x, at, 1); }));
#pragma once

#include <algorithm>
#include <filesystem>
#include <array>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "keel/core/time.h"
#include "keel/config/limits.h"
#include "keel/config/validation.h"

namespace keel::config::detail {

using Json = nlohmann::ordered_json;
inline constexpr std::int64_t kI64Max = std::numeric_limits<std::int64_t>::max();

// ---- pointers and messages ------------------------------------------------------------------

// RFC 6901: "~" -> "~0", "/" -> "~1".
std::string escape_token(std::string_view key);
inline std::string join(const std::string& ptr, std::string_view key) { return ptr + "/" + escape_token(key); }
inline std::string join(const std::string& ptr, std::size_t index) { return ptr + "/" + std::to_string(index); }
// At most `max` bytes of `s`, cut on a UTF-8 boundary, with "..." when cut.
std::string clip(std::string_view s, std::size_t max = 60);
// A JSON string literal of (at most 60 bytes of) `s`.
std::string q(std::string_view s);
// How a found value is shown: scalars as JSON, containers by name ("an object").
std::string found(const Json& v);
std::size_t edit_distance(std::string_view a, std::string_view b);

// `one of "a", "b", "c"`.
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

// The closest candidate within a small edit distance, or "".
template <class Names>
std::string_view closest(std::string_view word, const Names& candidates) {
  if (word.size() > 64) return {};
  std::string_view best;
  std::size_t best_d = std::max<std::size_t>(1, word.size() / 3) + 1;  // accept d <= max(1, len/3)
  for (std::string_view c : candidates) {
    const std::size_t d = edit_distance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  return best;
}

// Messages quote at most 60 bytes of a found string (q); pointers and messages are cut at these
// sizes so that a 10 MB key is not echoed whole. Every pointer of a valid document is shorter
// (names are at most limits::kMaxNameBytes), so only pointers to wrong keys are ever cut.
inline constexpr std::size_t kMaxPointerShown = 320;
inline constexpr std::size_t kMaxMessageShown = 1000;

struct Ctx {
  std::vector<ValidationError> errors;
  void error(std::string ptr, std::string msg) {
    if (ptr.size() > kMaxPointerShown) ptr = clip(ptr, kMaxPointerShown);
    if (msg.size() > kMaxMessageShown) msg = clip(msg, kMaxMessageShown);
    errors.push_back({std::move(ptr), std::move(msg)});
  }
  void expected(const std::string& ptr, std::string_view what, const Json& v) {
    error(ptr, "expected " + std::string(what) + ", found " + found(v));
  }
};

// ---- documents ----------------------------------------------------------------------------

// The JSON document in `text`, or nullopt after reporting why not: more than
// limits::kMaxFileBytes bytes ("expected <document> of at most ..."), arrays/objects nested
// deeper than limits::kMaxNesting (at the pointer where it happens), or a syntax error
// (pointer "", with line and column). The depth is checked before any DOM is built. Repeated
// keys in one object — which the parser would silently resolve to the last — are reported at
// their pointer; the document is still returned.
std::optional<Json> parse_document(Ctx& ctx, std::string_view text, std::string_view document = "a scenario");
// The bytes of the file at `path` — at most limits::kMaxFileBytes + 1 of them, whatever the
// file is (a pipe has no size), so that parse_document reports it too large — or nullopt after
// reporting at "" that it cannot be opened or read.
std::optional<std::string> read_text_file(Ctx& ctx, const std::filesystem::path& path);

// ---- scalar readers: nullopt (and one error) when the value does not fit ------------------

std::optional<std::string> read_string(Ctx& ctx, const Json& v, const std::string& ptr, bool non_empty = false);
// A name or id: a non-empty string of at most limits::kMaxNameBytes bytes.
std::optional<std::string> read_name(Ctx& ctx, const Json& v, const std::string& ptr);
// True if `size` <= `max`; otherwise reports "expected at most <max> <what>, found <size>".
bool within_count(Ctx& ctx, const std::string& ptr, std::size_t size, std::int64_t max, std::string_view what);
std::optional<bool> read_bool(Ctx& ctx, const Json& v, const std::string& ptr);
// Integers: JSON integers, or numbers with no fractional part (3.0), within [lo, hi].
std::optional<std::int64_t> read_int(Ctx& ctx, const Json& v, const std::string& ptr, std::int64_t lo,
                                     std::int64_t hi = kI64Max);
std::optional<std::uint64_t> read_u64(Ctx& ctx, const Json& v, const std::string& ptr);
// A number for which `fits` holds; `what` describes the accepted range.
std::optional<double> read_number(Ctx& ctx, const Json& v, const std::string& ptr, std::string_view what,
                                  const std::function<bool(double)>& fits);
inline bool unit_interval(double x) { return x >= 0.0 && x <= 1.0; }
inline bool open_unit_interval(double x) { return x > 0.0 && x <= 1.0; }
inline bool positive(double x) { return x > 0.0; }
// (0, max]: "a number > 0 and <= max" checks for read_number.
inline auto positive_up_to(double max) {
  return [max](double x) { return x > 0.0 && x <= max; };
}

enum class DurMin { zero, positive };
// A duration in [0 or > 0, limits::kMaxDuration].
std::optional<Duration> read_duration(Ctx& ctx, const Json& v, const std::string& ptr, DurMin min = DurMin::zero);
const Json::array_t* read_array(Ctx& ctx, const Json& v, const std::string& ptr, std::string_view what = "an array");
// read_array, and nullptr after reporting more than `max` elements ("at most 100 providers").
const Json::array_t* read_list(Ctx& ctx, const Json& v, const std::string& ptr, std::string_view what, std::int64_t max,
                               std::string_view elements);

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

// ---- objects: known fields, required fields, unknown fields ------------------------------

class Obj {
 public:
  // Reports a type error if `v` is not an object, and every field not in `allowed`.
  Obj(Ctx& ctx, const Json& v, std::string ptr, std::initializer_list<std::string_view> allowed,
      std::string_view what = "an object");

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
  // An optional field: `read(value, pointer)` when present, nullopt when absent.
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

// An array of names: non-empty if required, unique; `check(name, pointer)` for each.
std::optional<std::vector<std::string>> read_name_list(Ctx& ctx, const Json& v, const std::string& ptr, bool non_empty,
                                                       const std::function<void(const std::string&, const std::string&)>& check);

}  // namespace keel::config::detail
