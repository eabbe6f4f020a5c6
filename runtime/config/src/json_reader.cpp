// The JSON-reading toolkit of keel's file readers (detail/json_reader.h).
#include "keel/config/detail/json_reader.h"

#include <array>
#include <fstream>
#include <set>

#include "keel/config/duration.h"

namespace keel::config::detail {

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

std::optional<std::string> read_name(Ctx& ctx, const Json& v, const std::string& ptr) {
  std::optional<std::string> s = read_string(ctx, v, ptr, true);
  if (s && s->size() > limits::kMaxNameBytes) {
    ctx.error(ptr, "expected a name of at most " + std::to_string(limits::kMaxNameBytes) + " bytes, found " +
                       std::to_string(s->size()) + " bytes (" + q(*s) + ")");
    return std::nullopt;
  }
  return s;
}

bool within_count(Ctx& ctx, const std::string& ptr, std::size_t size, std::int64_t max, std::string_view what) {
  if (size <= static_cast<std::uint64_t>(max)) return true;
  ctx.error(ptr, "expected at most " + std::to_string(max) + " " + std::string(what) + ", found " + std::to_string(size));
  return false;
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
  if (*d > limits::kMaxDuration) {
    ctx.expected(ptr, "a duration <= " + format_duration(limits::kMaxDuration) + " (keel's bound for every duration)", v);
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

const Json::array_t* read_list(Ctx& ctx, const Json& v, const std::string& ptr, std::string_view what, std::int64_t max,
                               std::string_view elements) {
  const Json::array_t* arr = read_array(ctx, v, ptr, what);
  if (arr && !within_count(ctx, ptr, arr->size(), max, elements)) return nullptr;
  return arr;
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

// ---- syntax: line/column and duplicate keys ---------------------------------------------------

// An array of names: non-empty if required, unique, each checked by the caller.
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

namespace {

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

// Finds repeated keys in one object (the DOM parser silently keeps the last one) and stops at
// the first array or object nested deeper than limits::kMaxNesting (nothing recursive ever
// sees a deeper document). Iterative, like nlohmann's SAX parser that drives it.
class StructureCheck final : public nlohmann::json_sax<Json> {
 public:
  explicit StructureCheck(Ctx& ctx) : ctx_(ctx) {}
  bool too_deep() const noexcept { return too_deep_; }

  bool null() override { return value(); }
  bool boolean(bool) override { return value(); }
  bool number_integer(number_integer_t) override { return value(); }
  bool number_unsigned(number_unsigned_t) override { return value(); }
  bool number_float(number_float_t, const string_t&) override { return value(); }
  bool string(string_t&) override { return value(); }
  bool binary(binary_t&) override { return value(); }
  bool start_object(std::size_t) override { return open(true); }
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
  bool start_array(std::size_t) override { return open(false); }
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
  bool open(bool object) {
    if (stack_.size() >= static_cast<std::size_t>(limits::kMaxNesting)) {
      too_deep_ = true;
      ctx_.error(pointer(), "expected at most " + std::to_string(limits::kMaxNesting) +
                                " levels of nested arrays and objects (a scenario needs 6), found more here");
      return false;
    }
    stack_.push_back(Frame{object, {}, {}, 0});
    return true;
  }
  std::string pointer() const {
    std::string p;
    for (const Frame& f : stack_) p = f.object ? join(p, f.key) : join(p, f.index);
    return p;
  }

  Ctx& ctx_;
  std::vector<Frame> stack_;
  bool too_deep_ = false;
};

}  // namespace

std::optional<Json> parse_document(Ctx& ctx, std::string_view text, std::string_view document) {
  if (text.size() > limits::kMaxFileBytes) {
    ctx.error("", "expected " + std::string(document) + " of at most " + std::to_string(limits::kMaxFileBytes) +
                      " bytes (8 MiB), found more");
    return std::nullopt;
  }
  // Depth and duplicate keys first: the DOM is built only from a document of bounded depth.
  // A syntax error is reported alone (the structure errors before it are dropped).
  Ctx structure;
  StructureCheck check(structure);
  Json::sax_parse(text.begin(), text.end(), &check);
  if (check.too_deep()) {
    for (ValidationError& e : structure.errors) ctx.errors.push_back(std::move(e));
    return std::nullopt;
  }
  Json doc;
  try {
    doc = Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    ValidationError err;
    line_column(text, e.byte == 0 ? 0 : e.byte - 1, err.line, err.column);
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 2: syntax error ..."
    if (auto pos = what.find(": "); pos != std::string::npos && what.find("column") < pos) what = what.substr(pos + 2);
    err.message = clip("invalid JSON: " + what, kMaxMessageShown);
    ctx.errors.push_back(std::move(err));
    return std::nullopt;
  }
  for (ValidationError& e : structure.errors) ctx.errors.push_back(std::move(e));
  return doc;
}

std::optional<std::string> read_text_file(Ctx& ctx, const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ctx.error("", "cannot open the file");
    return std::nullopt;
  }
  // At most one byte over the bound is read, whatever the file is (a pipe has no size).
  std::string text;
  std::array<char, 64 * 1024> buf{};
  while (in && text.size() <= limits::kMaxFileBytes) {
    in.read(buf.data(), buf.size());
    text.append(buf.data(), static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) {
    ctx.error("", "cannot read the file");
    return std::nullopt;
  }
  return text;
}

}  // namespace keel::config::detail

namespace keel::config {

std::string ValidationError::to_string() const {
  if (line > 0) return "line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + message;
  if (pointer.empty()) return message;
  return pointer + ": " + message;
}

}  // namespace keel::config
