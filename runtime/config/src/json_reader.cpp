// The loader's JSON-reading toolkit (json_reader.h).
#include "json_reader.h"

#include "keel/scenarios/duration.h"

namespace keel::scenarios::detail {

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

// At most `max` bytes of `s`, cut on a UTF-8 boundary, with "..." when cut.
std::string clip(std::string_view s, std::size_t max) {
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

std::optional<std::string> read_string(Ctx& ctx, const Json& v, const std::string& ptr, bool non_empty) {
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

namespace {
std::string int_range_text(std::int64_t lo, std::int64_t hi) {
  if (hi == kI64Max) return "an integer >= " + std::to_string(lo);
  return "an integer in " + std::to_string(lo) + ".." + std::to_string(hi);
}
}  // namespace

// Integers: JSON integers, or numbers with no fractional part (3.0), within [lo, hi].
std::optional<std::int64_t> read_int(Ctx& ctx, const Json& v, const std::string& ptr, std::int64_t lo,
                                     std::int64_t hi) {
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

std::optional<Duration> read_duration(Ctx& ctx, const Json& v, const std::string& ptr, DurMin min) {
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

const Json::array_t* read_array(Ctx& ctx, const Json& v, const std::string& ptr, std::string_view what) {
  if (!v.is_array()) {
    ctx.expected(ptr, what, v);
    return nullptr;
  }
  return &v.get_ref<const Json::array_t&>();
}

Obj::Obj(Ctx& ctx, const Json& v, std::string ptr, std::initializer_list<std::string_view> allowed, std::string_view what)
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

}  // namespace keel::scenarios::detail
