// keel trace hash v2 (keel/core/trace_writer.h) is determined by the written trace: for random
// events — strings with escapes and invalid UTF-8, integers of both signs and widths, doubles
// including integral, huge, tiny, -0 and non-finite values, bools — the hash recomputed from
// the JSON-lines file, read back by nlohmann::ordered_json and encoded by this file's own
// implementation of the definition in the header, equals the writer's hash.
#include <bit>
#include <cstdint>
#include <limits>
#include <sstream>
#include <string>
#include <variant>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <rapidcheck/gtest.h>

#include "keel/core/trace_writer.h"

namespace keel {
namespace {

// --- the reference: the header's definition, from parsed JSON values -------------------------

void put_string(std::vector<std::uint64_t>& w, const std::string& s) {
  w.push_back(std::uint64_t{s.size()} << 3);
  for (std::size_t i = 0; i < s.size(); i += 8) {
    std::uint64_t word = 0;
    for (std::size_t k = 0; k < 8 && i + k < s.size(); ++k)
      word |= std::uint64_t{static_cast<unsigned char>(s[i + k])} << (8 * k);
    w.push_back(word);
  }
  if (w.size() % 2 != 0) w.push_back(0);  // every field is an even number of words
}

void put_value(std::vector<std::uint64_t>& w, const nlohmann::ordered_json& v) {
  switch (v.type()) {
    case nlohmann::json::value_t::string: put_string(w, v.get<std::string>()); break;
    case nlohmann::json::value_t::number_unsigned: w.push_back(1), w.push_back(v.get<std::uint64_t>()); break;
    case nlohmann::json::value_t::number_integer: {
      const auto i = v.get<std::int64_t>();
      w.push_back(i >= 0 ? 1 : 2), w.push_back(static_cast<std::uint64_t>(i));
      break;
    }
    case nlohmann::json::value_t::number_float: w.push_back(3), w.push_back(std::bit_cast<std::uint64_t>(v.get<double>())); break;
    case nlohmann::json::value_t::boolean: w.push_back(v.get<bool>() ? 5 : 4), w.push_back(0); break;
    case nlohmann::json::value_t::null: w.push_back(6), w.push_back(0); break;
    default: RC_FAIL("unexpected JSON value in a trace line: " + v.dump());
  }
}

std::uint64_t reference_hash(const std::string& file) {
  std::vector<std::uint64_t> words;
  std::istringstream lines{file};
  for (std::string line; std::getline(lines, line);) {
    const auto j = nlohmann::ordered_json::parse(line);
    std::vector<std::uint64_t> w;
    auto it = j.begin();
    RC_ASSERT(it.key() == "t");
    w.push_back(static_cast<std::uint64_t>(it->get<std::int64_t>()));
    ++it;
    RC_ASSERT(it.key() == "kind");
    w.push_back(j.size() - 2);
    put_string(w, it->get<std::string>());
    for (++it; it != j.end(); ++it) {
      put_string(w, it.key());
      put_value(w, *it);
    }
    words.insert(words.end(), w.begin(), w.end());
  }
  __extension__ typedef unsigned __int128 u128;
  const auto step = [](std::uint64_t acc, std::uint64_t x, std::uint64_t y) {
    const std::uint64_t a = acc ^ x ^ TraceHash::K0, b = y ^ TraceHash::K1;
    const u128 p = static_cast<u128>(a) * b;
    return a ^ b ^ static_cast<std::uint64_t>(p) ^ static_cast<std::uint64_t>(p >> 64);
  };
  std::uint64_t lane[2] = {TraceHash::K2, TraceHash::K3};
  for (std::size_t k = 0; k < words.size(); k += 2) {
    std::uint64_t& acc = lane[(k / 2) % 2];
    acc = step(acc, words[k], words[k + 1]);
  }
  std::uint64_t h = step(lane[0], lane[1], words.size());
  h ^= h >> 33;
  h *= TraceHash::P2;
  h ^= h >> 29;
  h *= TraceHash::P3;
  h ^= h >> 32;
  return h;
}

// --- generators -------------------------------------------------------------------------------

const std::vector<std::string> kPieces = {"a", "retry", "\"", "\\", "\n", "\t", "\x01", "\x7f", "\xc3\xa9",
                                          "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xff", "\xc3", "\xed\xa0\x80",
                                          "\xc0\xaf", "\xe2\x82", "abcdefgh", std::string("\0", 1)};

rc::Gen<std::string> strings() {
  return rc::gen::map(rc::gen::scale(0.2, rc::gen::container<std::vector<std::size_t>>(
                                              rc::gen::inRange<std::size_t>(0, kPieces.size()))),
                      [](const std::vector<std::size_t>& picks) {
                        std::string s;
                        for (std::size_t i : picks) s += kPieces[i];
                        return s;
                      });
}

using Value = std::variant<std::int64_t, std::uint64_t, double, bool, std::string>;

rc::Gen<double> doubles() {
  return rc::gen::oneOf(rc::gen::arbitrary<double>(),
                        rc::gen::map(rc::gen::arbitrary<std::int64_t>(), [](std::int64_t i) { return static_cast<double>(i); }),
                        rc::gen::element(0.0, -0.0, 100.0, 1e20, 1e21, 1e22, 0x1p70, -0x1p64, 0x1p64, 1e-7, 0.1,
                                         std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN(),
                                         std::numeric_limits<double>::max(), std::numeric_limits<double>::denorm_min()));
}

rc::Gen<Value> values() {
  return rc::gen::oneOf(rc::gen::cast<Value>(rc::gen::arbitrary<std::int64_t>()),
                        rc::gen::cast<Value>(rc::gen::arbitrary<std::uint64_t>()),
                        rc::gen::cast<Value>(doubles()), rc::gen::cast<Value>(rc::gen::arbitrary<bool>()),
                        rc::gen::cast<Value>(strings()));
}

struct GenEvent {
  std::int64_t t;
  std::string kind;
  std::vector<std::pair<std::string, Value>> attrs;
};

void emit_event(EventSink& sink, const GenEvent& g);

// How RapidCheck prints a counterexample: the canonical line the event is written as.
void showValue(const GenEvent& g, std::ostream& os) {
  std::ostringstream line;
  TraceWriter w{&line};
  emit_event(w, g);
  os << line.str();
}

void emit_event(EventSink& sink, const GenEvent& g) {
  std::vector<Attr> attrs;
  for (const auto& [key, value] : g.attrs) {
    std::visit([&](const auto& v) { attrs.emplace_back(std::string_view(key), v); }, value);
  }
  emit(&sink, TimePoint{Duration{g.t}}, g.kind, std::span<const Attr>(attrs));
}

RC_GTEST_PROP(TraceHashProperties, TheWrittenFileDeterminesTheHash, ()) {
  // Up to 24 events of up to 9 attributes: each draw is small, many draws cover the space.
  const auto attr = rc::gen::pair(rc::gen::suchThat(strings(), [](const std::string& k) { return k != "t" && k != "kind"; }),
                                  values());
  const auto event = rc::gen::build<GenEvent>(
      rc::gen::set(&GenEvent::t, rc::gen::arbitrary<std::int64_t>()), rc::gen::set(&GenEvent::kind, strings()),
      rc::gen::set(&GenEvent::attrs, rc::gen::mapcat(rc::gen::inRange<std::size_t>(0, 10), [attr](std::size_t n) {
                     return rc::gen::container<std::vector<std::pair<std::string, Value>>>(n, attr);
                   })));
  auto events = *rc::gen::mapcat(rc::gen::inRange<std::size_t>(0, 25), [event](std::size_t n) {
    return rc::gen::container<std::vector<GenEvent>>(n, event);
  });
  // Attribute keys must be distinct as written (after UTF-8 repair) for a JSON reader; the
  // writer does not require it.
  const auto written = [](const std::string& key) {
    std::string out;
    append_json_string(out, key);
    return out;
  };
  for (GenEvent& e : events) {
    for (std::size_t i = 0; i < e.attrs.size(); ++i)
      for (std::size_t k = 0; k < i; ++k)
        if (written(e.attrs[k].first) == written(e.attrs[i].first)) e.attrs[i].first += "#" + std::to_string(i);
  }
  std::ostringstream file;
  TraceWriter writer{&file};
  TraceWriter hash_only;
  for (const GenEvent& e : events) {
    emit_event(writer, e);
    emit_event(hash_only, e);
  }
  RC_ASSERT(writer.hash() == hash_only.hash());
  RC_ASSERT(writer.lines() == events.size());
  RC_ASSERT(writer.bytes() == file.str().size());
  RC_ASSERT(reference_hash(file.str()) == writer.hash());
}

}  // namespace
}  // namespace keel
