#include "keel/scenarios/report_page.h"

#include <fstream>
#include <sstream>

#include "keel/scenarios/resolve_runtime.h"
#include "keel/scenarios/timeline.h"

namespace keel::scenarios {
namespace {

using nlohmann::json;

// The page's CSS and script. The script reads the data from #keel-data and draws everything;
// keeping all drawing in one place (not half in C++) keeps the page one mechanism.
constexpr std::string_view kHead = R"html(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>keel report</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:20px 28px;color:#1d2430;background:#fff}
h1{font-size:20px;margin:0 0 2px}h2{font-size:15px;margin:22px 0 6px;color:#2b3442}
.verdict{display:inline-block;padding:1px 10px;border-radius:4px;color:#fff;font-weight:600;font-size:13px;vertical-align:2px;margin-left:8px}
.pass{background:#2e7d32}.fail{background:#c62828}.muted{color:#5f6b7a}
table{border-collapse:collapse;margin:2px 0 8px;font-size:13px}
td,th{border-bottom:1px solid #e3e7ec;padding:2px 10px;text-align:left;vertical-align:top}
th{font-weight:600;background:#f5f7fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#2e7d32;font-weight:600}.bad{color:#c62828;font-weight:600}
.legend{font-size:12px;margin:4px 0 6px}.legend span{display:inline-block;margin-right:16px}
.sw{display:inline-block;width:11px;height:11px;vertical-align:-1px;margin-right:4px;border-radius:2px}
svg{display:block;margin:0 0 6px}svg text{font:11px system-ui,-apple-system,sans-serif;fill:#3b4554}
svg .title{font-size:13px;font-weight:600;fill:#1d2430}svg .note{fill:#5f6b7a}
#render-status{color:#8a94a3;font-size:11px;margin-top:18px}
</style></head>
<body data-render="pending">
<div id="app"></div>
<div id="render-status">keel-report: rendering</div>
<script type="application/json" id="keel-data">)html";

constexpr std::string_view kTail = R"html(</script>
<script>
"use strict";
(function () {
  function fail(message) {
    document.body.setAttribute("data-render", "error");
    document.getElementById("render-status").textContent = "keel-report: error: " + message;
  }
  window.onerror = function (message, source, line) { fail(message + " (line " + line + ")"); };

  var C = {req: "#7da7d9", fail: "#d9534f", refused: "#9aa3ad", fault: "#f0a202", closed: "#7cc47f",
           open: "#d9534f", half_open: "#f0c14b", none: "#e3e7ec", p50: "#1f5fa8", max: "#1f5fa8",
           detect: "#7b3fb5", restore: "#2e7d32", back: "#0b7c8c"};
  var W = 1120, L = 64, R = 16, PW = W - L - R;

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }
  function num(x) { return typeof x === "number" && isFinite(x) ? x : null; }
  // Virtual time in ms, as the format writes durations: 250ms, 1.5s, 2m30s, 1h.
  function dur(ms) {
    if (ms === null || ms === undefined) return "—";
    if (ms < 1000) return (Math.round(ms * 10) / 10) + "ms";
    if (ms < 60000) return (Math.round(ms / 10) / 100) + "s";
    var s = Math.round(ms / 1000), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    return (h ? h + "h" : "") + (m ? m + "m" : "") + (r || (!h && !m) ? r + "s" : "");
  }
  function nice(x) {  // the smallest 1/2/5 x 10^k >= x
    if (!(x > 0)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(x)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * p >= x) return steps[i] * p;
    return 10 * p;
  }
  function table(head, rows) {
    var h = "<table><tr>" + head.map(function (c) { return "<th>" + esc(c) + "</th>"; }).join("") + "</tr>";
    rows.forEach(function (r) {
      h += "<tr>" + r.map(function (c) {
        if (c && typeof c === "object") return "<td class=\"" + c.cls + "\">" + esc(c.text) + "</td>";
        return "<td>" + esc(c) + "</td>";
      }).join("") + "</tr>";
    });
    return h + "</table>";
  }

  function render(D) {
    var T = D.timeline, end = T.end_ms, B = T.buckets, bw = PW / B;
    function x(ms) { return L + Math.max(0, Math.min(end, ms)) / end * PW; }
    var recovery = Array.isArray(D.recovery) ? D.recovery : [];
    var out = [];
    document.title = "keel report: " + D.scenario;
    out.push("<h1>" + esc(D.scenario) + "<span class=\"verdict " + (D.passed ? "pass\">PASS" : "fail\">FAIL") +
             "</span></h1>");
    out.push("<div class=\"muted\">" + esc(T.description || "") + "</div>");
    out.push("<div class=\"muted\">seed " + esc(D.seed) + " · preset " + esc(D.preset) + " · virtual end " +
             esc(dur(D.virtual_end_ms)) + " · trace " + esc(D.trace_hash) + "</div>");

    var t = D.tasks || {}, lat = D.latency_ms || {}, ok = D.latency_ok_ms;
    var rows = [["tasks", t.total + " total: " + t.succeeded + " succeeded, " + t.failed + " failed, " +
                 t.skipped + " skipped, " + t.cancelled + " cancelled"],
                ["latency (all tasks)", "p50 " + dur(lat.p50) + " · p99 " + dur(lat.p99) + " · max " + dur(lat.max)]];
    if (ok) rows.push(["latency (successes)", "p50 " + dur(ok.p50) + " · p99 " + dur(ok.p99) + " · max " + dur(ok.max)]);
    rows.push(["retries · fallbacks", D.retries + " · " + D.fallbacks]);
    if (D.failures && typeof D.failures === "object") {
      var f = Object.keys(D.failures).map(function (k) { return k + " " + D.failures[k]; }).join(", ");
      rows.push(["failed tasks by cause", f || "none"]);
    }
    out.push("<h2>Run</h2>" + table(["", ""], rows));

    out.push("<h2>Providers over virtual time</h2>");
    out.push("<div class=\"legend\">" +
      "<span><i class=\"sw\" style=\"background:" + C.req + "\"></i>requests</span>" +
      "<span><i class=\"sw\" style=\"background:" + C.fail + "\"></i>failed responses</span>" +
      "<span><i class=\"sw\" style=\"background:" + C.refused + "\"></i>refused by the breaker</span>" +
      "<span><i class=\"sw\" style=\"background:" + C.fault + ";opacity:.35\"></i>fault window</span>" +
      "<span>breaker: <i class=\"sw\" style=\"background:" + C.closed + "\"></i>closed " +
      "<i class=\"sw\" style=\"background:" + C.half_open + "\"></i>half open " +
      "<i class=\"sw\" style=\"background:" + C.open + "\"></i>open</span>" +
      "<span>latency of successes: — p50 · max</span>" +
      "<span>recovery: <b style=\"color:" + C.detect + "\">D</b> detect " +
      "<b style=\"color:" + C.restore + "\">R</b> restore <b style=\"color:" + C.back + "\">B</b> back on primary</span>" +
      "</div><div class=\"muted\" style=\"font-size:12px\">one bar per " + esc(dur(T.bucket_ms)) + "</div>");
    T.providers.forEach(function (p) { out.push(provider_panel(p, T, recovery, x, bw)); });

    if (recovery.length) {
      out.push("<h2>Recovery</h2>" + table(["fault", "target", "window", "detect", "restore", "back on primary"],
        recovery.map(function (r) {
          return [r.fault, r.target, dur(r.from_ms) + " – " + dur(r.until_ms), dur(r.detect_ms), dur(r.restore_ms),
                  dur(r.back_on_primary_ms)];
        })));
    }
    if (T.faults.length) {
      out.push("<h2>Faults</h2>" + table(["#", "target", "kind", "window"], T.faults.map(function (f) {
        return [f.index, f.target, f.kind, dur(f.from_ms) + " – " + dur(f.until_ms)];
      })));
    }
    var ex = Array.isArray(D.expectations) ? D.expectations : [];
    out.push("<h2>Expectations</h2>" + (ex.length ? table(["", "expectation", "detail"], ex.map(function (e) {
      return [{cls: e.passed ? "ok" : "bad", text: e.passed ? "ok" : "FAIL"}, e.name, e.detail];
    })) : "<div class=\"muted\">none</div>"));
    document.getElementById("app").innerHTML = out.join("\n");
  }

  function provider_panel(p, T, recovery, x, bw) {
    var B = T.buckets, end = T.end_ms, s = [];
    var top = 30, rh = 110, bt = top + rh + 10, bh = 14, lt = bt + bh + 14, lh = 80, axis = lt + lh, H = axis + 30;
    var total = function (a) { return a.reduce(function (u, v) { return u + v; }, 0); };
    var codes = Object.keys(p.failures_by_code).map(function (k) { return k + " " + p.failures_by_code[k]; });
    var opens = p.breaker_transitions.filter(function (t) { return t.to === "open"; }).length;
    s.push("<svg width=\"" + W + "\" height=\"" + H + "\" viewBox=\"0 0 " + W + " " + H + "\" role=\"img\">");
    s.push("<text class=\"title\" x=\"" + L + "\" y=\"16\">" + esc(p.name) + "</text>");
    s.push("<text class=\"note\" x=\"" + (L + 8 + 8 * p.name.length) + "\" y=\"16\">" + esc(
      total(p.requests) + " requests · " + total(p.failures) + " failed" + (codes.length ? " (" + codes.join(", ") + ")" : "") +
      " · " + total(p.refused) + " refused · breaker " + (p.breaker ? "opened " + opens + "x" : "none")) + "</text>");

    // Fault windows aimed at this provider (or at every provider), behind everything.
    T.faults.forEach(function (f) {
      if (f.target !== p.name && f.target !== "*") return;
      var x0 = x(f.from_ms), x1 = Math.max(x(f.until_ms), x0 + 1);
      s.push("<rect x=\"" + x0 + "\" y=\"" + (top - 4) + "\" width=\"" + (x1 - x0) + "\" height=\"" + (axis - top + 4) +
             "\" fill=\"" + C.fault + "\" opacity=\"0.16\"><title>" + esc("fault " + f.index + ": " + f.kind + ", " +
             dur(f.from_ms) + " – " + dur(f.until_ms)) + "</title></rect>");
      s.push("<text x=\"" + (x0 + 3) + "\" y=\"" + (top + 8) + "\" style=\"fill:#9a6700\">" + esc(f.kind) + "</text>");
    });

    // Requests (with refusals stacked above) and failures per bucket.
    var ymax = nice(Math.max(1, Math.max.apply(null, p.requests.map(function (r, i) {
      return Math.max(r + p.refused[i], p.failures[i]);
    }))));
    var y = function (v) { return top + rh - v / ymax * rh; };
    s.push("<line x1=\"" + L + "\" x2=\"" + (L + PW) + "\" y1=\"" + (top + rh) + "\" y2=\"" + (top + rh) + "\" stroke=\"#c5ccd6\"/>");
    s.push("<text x=\"" + (L - 6) + "\" y=\"" + (top + 4) + "\" text-anchor=\"end\">" + ymax + "</text>");
    s.push("<text x=\"" + (L - 6) + "\" y=\"" + (top + rh) + "\" text-anchor=\"end\">0</text>");
    s.push("<text x=\"" + (L - 6) + "\" y=\"" + (top + rh / 2 + 4) + "\" text-anchor=\"end\" class=\"note\">per bar</text>");
    var w = Math.max(bw - (bw > 3 ? 1 : 0), 0.5);
    for (var i = 0; i < B; i++) {
      var r = p.requests[i], fl = p.failures[i], rf = p.refused[i], bx = L + i * bw;
      if (!r && !fl && !rf) continue;
      var tip = "<title>" + esc(dur(i * T.bucket_ms) + " – " + dur((i + 1) * T.bucket_ms) + ": " + r + " requests, " +
                                fl + " failed, " + rf + " refused") + "</title>";
      if (r) s.push("<rect x=\"" + bx + "\" y=\"" + y(r) + "\" width=\"" + w + "\" height=\"" + (top + rh - y(r)) +
                    "\" fill=\"" + C.req + "\">" + tip + "</rect>");
      if (rf) s.push("<rect x=\"" + bx + "\" y=\"" + y(r + rf) + "\" width=\"" + w + "\" height=\"" + (y(r) - y(r + rf)) +
                     "\" fill=\"" + C.refused + "\">" + tip + "</rect>");
      if (fl) s.push("<rect x=\"" + (bx + w * 0.2) + "\" y=\"" + y(fl) + "\" width=\"" + (w * 0.6) + "\" height=\"" +
                     (top + rh - y(fl)) + "\" fill=\"" + C.fail + "\">" + tip + "</rect>");
    }

    // Breaker state: closed until the first transition, then as each transition says.
    s.push("<text x=\"" + (L - 6) + "\" y=\"" + (bt + 11) + "\" text-anchor=\"end\">breaker</text>");
    if (!p.breaker) {
      s.push("<rect x=\"" + L + "\" y=\"" + bt + "\" width=\"" + PW + "\" height=\"" + bh + "\" fill=\"" + C.none + "\"/>");
      s.push("<text x=\"" + (L + 6) + "\" y=\"" + (bt + 11) + "\" class=\"note\">no circuit breaker</text>");
    } else {
      var state = "closed", from = 0;
      var segment = function (to_ms) {
        var x0 = x(from), x1 = x(to_ms);
        if (x1 > x0) s.push("<rect x=\"" + x0 + "\" y=\"" + bt + "\" width=\"" + (x1 - x0) + "\" height=\"" + bh +
                            "\" fill=\"" + (C[state] || C.none) + "\"><title>" + esc(state + " from " + dur(from)) +
                            "</title></rect>");
      };
      p.breaker_transitions.forEach(function (t) { segment(t.at_ms); state = t.to; from = t.at_ms; });
      segment(end);
    }

    // Latency of successes: p50 as a line (broken where a bucket had none), max as dots.
    var lmax = nice(1.2 * Math.max(1, Math.max.apply(null, p.latency_ok_max_ms.map(function (v) { return num(v) || 0; }))));
    var ly = function (v) { return lt + lh - v / lmax * lh; };
    s.push("<line x1=\"" + L + "\" x2=\"" + (L + PW) + "\" y1=\"" + (lt + lh) + "\" y2=\"" + (lt + lh) + "\" stroke=\"#c5ccd6\"/>");
    s.push("<text x=\"" + (L - 6) + "\" y=\"" + (lt + 4) + "\" text-anchor=\"end\">" + esc(dur(lmax)) + "</text>");
    s.push("<text x=\"" + (L - 6) + "\" y=\"" + (lt + lh / 2 + 4) + "\" text-anchor=\"end\" class=\"note\">latency</text>");
    s.push("<text x=\"" + (L - 6) + "\" y=\"" + (lt + lh) + "\" text-anchor=\"end\">0</text>");
    var path = "", pen = false;
    for (var k = 0; k < B; k++) {
      var m = num(p.latency_ok_p50_ms[k]), mx = num(p.latency_ok_max_ms[k]), cx = L + (k + 0.5) * bw;
      if (m === null) { pen = false; continue; }
      path += (pen ? "L" : "M") + cx.toFixed(1) + " " + ly(m).toFixed(1);
      pen = true;
      if (mx !== null) s.push("<circle cx=\"" + cx.toFixed(1) + "\" cy=\"" + ly(mx).toFixed(1) + "\" r=\"1.6\" fill=\"" +
                              C.max + "\" opacity=\"0.45\"><title>" + esc(dur(k * T.bucket_ms) + ": p50 " + dur(m) +
                              ", max " + dur(mx)) + "</title></circle>");
    }
    if (path) s.push("<path d=\"" + path + "\" fill=\"none\" stroke=\"" + C.p50 + "\" stroke-width=\"1.5\"/>");
    else s.push("<text x=\"" + (L + 6) + "\" y=\"" + (lt + lh / 2 + 4) + "\" class=\"note\">no successful response</text>");

    // Recovery measures of this provider's fault windows.
    recovery.forEach(function (rc) {
      if (rc.target !== p.name && rc.target !== "*") return;
      [["D", C.detect, rc.from_ms, rc.detect_ms, "detect"], ["R", C.restore, rc.from_ms, rc.restore_ms, "restore"],
       ["B", C.back, rc.until_ms, rc.back_on_primary_ms, "back on primary"]].forEach(function (mk, j) {
        if (num(mk[2]) === null || num(mk[3]) === null) return;
        var at = x(mk[2] + mk[3]);
        s.push("<line x1=\"" + at + "\" x2=\"" + at + "\" y1=\"" + (top - 6) + "\" y2=\"" + axis + "\" stroke=\"" + mk[1] +
               "\" stroke-width=\"1.5\" stroke-dasharray=\"4 3\"/>");
        s.push("<text x=\"" + (at + 3) + "\" y=\"" + (top + 20 + 12 * j) + "\" style=\"fill:" + mk[1] + ";font-weight:600\">" +
               esc(mk[0] + " " + dur(mk[3])) + "<title>" + esc(mk[4] + " " + dur(mk[3]) + " (fault " + rc.fault + ")") +
               "</title></text>");
      });
    });

    // Time axis.
    var step = nice(end / 10);
    for (var tk = 0; tk <= end + 1e-9; tk += step) {
      var tx = x(tk);
      s.push("<line x1=\"" + tx + "\" x2=\"" + tx + "\" y1=\"" + axis + "\" y2=\"" + (axis + 4) + "\" stroke=\"#8a94a3\"/>");
      s.push("<text x=\"" + tx + "\" y=\"" + (axis + 16) + "\" text-anchor=\"middle\">" + esc(dur(tk)) + "</text>");
    }
    s.push("</svg>");
    return s.join("");
  }

  try {
    render(JSON.parse(document.getElementById("keel-data").textContent));
    if (document.body.getAttribute("data-render") === "pending") {
      document.body.setAttribute("data-render", "ok");
      document.getElementById("render-status").textContent = "keel-report: rendered";
    }
  } catch (e) {
    fail(e && e.stack ? e.stack : String(e));
  }
})();
</script>
</body></html>
)html";

// ---- checking report data --------------------------------------------------------------------

class Checker {
 public:
  std::vector<ValidationError> errors;

  const json* field(const json& parent, const std::string& at, const char* key, const char* what, bool required = true) {
    if (!parent.is_object()) return nullptr;
    const auto it = parent.find(key);
    if (it == parent.end()) {
      if (required) errors.push_back({at + "/" + key, std::string{"missing: expected "} + what});
      return nullptr;
    }
    return &*it;
  }
  bool expect(bool ok, const std::string& at, const std::string& what, const json& found) {
    if (!ok) errors.push_back({at, "expected " + what + ", found " + describe(found)});
    return ok;
  }
  static std::string describe(const json& v) {
    if (v.is_object()) return "an object";
    if (v.is_array()) return "an array";
    std::string s = v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (s.size() > 60) s = s.substr(0, 60) + "...";
    return s;
  }
  void number(const json& parent, const std::string& at, const char* key, bool nullable = false, bool required = true) {
    if (const json* v = field(parent, at, key, "a number", required)) {
      expect(v->is_number() || (nullable && v->is_null()), at + "/" + key, nullable ? "a number or null" : "a number", *v);
    }
  }
  void string(const json& parent, const std::string& at, const char* key) {
    if (const json* v = field(parent, at, key, "a string")) expect(v->is_string(), at + "/" + key, "a string", *v);
  }
  // An array of `length` entries, each a number (or null when nullable).
  void series(const json& parent, const std::string& at, const char* key, std::int64_t length, bool nullable) {
    const json* v = field(parent, at, key, "an array");
    const std::string here = at + "/" + key;
    if (!v || !expect(v->is_array(), here, "an array", *v)) return;
    if (!expect(static_cast<std::int64_t>(v->size()) == length, here,
                "an array of " + std::to_string(length) + " entries (timeline/buckets)",
                json(std::to_string(v->size()) + " entries")))
      return;
    for (std::size_t i = 0; i < v->size(); ++i) {
      const json& e = (*v)[i];
      if (!expect(e.is_number() || (nullable && e.is_null()), here + "/" + std::to_string(i),
                  nullable ? "a number or null" : "a number", e))
        return;  // one error per series is enough
    }
  }
  const json* array(const json& parent, const std::string& at, const char* key, std::size_t max, bool required = true) {
    const json* v = field(parent, at, key, "an array", required);
    if (!v || !expect(v->is_array(), at + "/" + key, "an array", *v)) return nullptr;
    if (!expect(v->size() <= max, at + "/" + key, "at most " + std::to_string(max) + " entries",
                json(std::to_string(v->size()) + " entries")))
      return nullptr;
    return v;
  }
};

void check_provider(Checker& c, const json& p, const std::string& at, std::int64_t buckets) {
  if (!c.expect(p.is_object(), at, "an object", p)) return;
  c.string(p, at, "name");
  if (const json* b = c.field(p, at, "breaker", "true or false")) c.expect(b->is_boolean(), at + "/breaker", "true or false", *b);
  for (const char* key : {"requests", "failures", "refused"}) c.series(p, at, key, buckets, false);
  for (const char* key : {"latency_ok_p50_ms", "latency_ok_max_ms"}) c.series(p, at, key, buckets, true);
  if (const json* codes = c.field(p, at, "failures_by_code", "an object")) {
    if (c.expect(codes->is_object(), at + "/failures_by_code", "an object", *codes)) {
      for (const auto& [code, n] : codes->items()) c.expect(n.is_number(), at + "/failures_by_code/" + code, "a number", n);
    }
  }
  if (const json* ts = c.array(p, at, "breaker_transitions", 10'000'000)) {
    for (std::size_t i = 0; i < ts->size(); ++i) {
      const json& t = (*ts)[i];
      const std::string here = at + "/breaker_transitions/" + std::to_string(i);
      if (!c.expect(t.is_object(), here, "an object", t)) continue;
      c.number(t, here, "at_ms");
      c.string(t, here, "from");
      c.string(t, here, "to");
    }
  }
}

void check_timeline(Checker& c, const json& t) {
  const std::string at = "/timeline";
  if (!c.expect(t.is_object(), at, "an object (written by `keel run --report-data`)", t)) return;
  if (const json* v = c.field(t, at, "version", "1")) c.expect(*v == 1, at + "/version", "1", *v);
  if (const json* e = c.field(t, at, "end_ms", "a number > 0")) {
    c.expect(e->is_number() && e->get<double>() > 0, at + "/end_ms", "a number > 0", *e);
  }
  c.number(t, at, "bucket_ms");
  std::int64_t buckets = 0;
  if (const json* b = c.field(t, at, "buckets", "an integer")) {
    if (c.expect(b->is_number_integer() && b->get<std::int64_t>() >= 1 &&
                     b->get<std::int64_t>() <= TimelineRecorder::kMaxBuckets,
                 at + "/buckets", "an integer from 1 to " + std::to_string(TimelineRecorder::kMaxBuckets), *b))
      buckets = b->get<std::int64_t>();
  }
  if (const json* d = c.field(t, at, "description", "a string", false)) c.expect(d->is_string(), at + "/description", "a string", *d);
  if (const json* ps = c.array(t, at, "providers", kMaxProviders); ps && buckets > 0) {
    for (std::size_t i = 0; i < ps->size(); ++i) check_provider(c, (*ps)[i], at + "/providers/" + std::to_string(i), buckets);
  }
  if (const json* fs = c.array(t, at, "faults", kMaxFaults)) {
    for (std::size_t i = 0; i < fs->size(); ++i) {
      const json& f = (*fs)[i];
      const std::string here = at + "/faults/" + std::to_string(i);
      if (!c.expect(f.is_object(), here, "an object", f)) continue;
      c.number(f, here, "index");
      c.string(f, here, "target");
      c.string(f, here, "kind");
      c.number(f, here, "from_ms");
      c.number(f, here, "until_ms");
    }
  }
}

std::string read_bounded(const std::filesystem::path& path, std::vector<ValidationError>& errors) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    errors.push_back({"", "cannot open the file"});
    return {};
  }
  std::string text;
  char chunk[1 << 16];
  while (in.read(chunk, sizeof chunk) || in.gcount() > 0) {
    text.append(chunk, static_cast<std::size_t>(in.gcount()));
    if (text.size() > kMaxReportFile) {
      errors.push_back({"", "expected a file of at most " + std::to_string(kMaxReportFile >> 20) + " MiB"});
      return {};
    }
  }
  if (in.bad()) {
    errors.push_back({"", "cannot read the file"});
    return {};
  }
  return text;
}

}  // namespace

nlohmann::json report_data(const RunReport& report, nlohmann::json timeline) {
  json j = to_json(report);
  j["timeline"] = std::move(timeline);
  return j;
}

Result<nlohmann::json> run_for_report(const Scenario& scenario, const RunOptions& options) {
  TimelineRecorder timeline{scenario, resolve_runtime(scenario, options.preset).manager.breaker.has_value()};
  FanoutSink both{&timeline, options.extra_sink};
  RunOptions with_timeline = options;
  with_timeline.extra_sink = &both;
  Result<RunReport> report = run_scenario(scenario, with_timeline);
  if (!report) return report.error();
  return report_data(*report, timeline.to_json(report->virtual_end));
}

std::vector<ValidationError> check_report_data(const nlohmann::json& data) {
  Checker c;
  if (!c.expect(data.is_object(), "", "an object (the output of `keel run --report-data`)", data)) return c.errors;
  const json* t = c.field(data, "", "timeline", "an object: write the run with `keel run FILE --report-data RUN.json`");
  if (!t) return c.errors;  // a plain --json output: say only that
  check_timeline(c, *t);
  c.string(data, "", "scenario");
  if (const json* p = c.field(data, "", "passed", "true or false")) c.expect(p->is_boolean(), "/passed", "true or false", *p);
  if (const json* tasks = c.field(data, "", "tasks", "an object")) {
    if (c.expect(tasks->is_object(), "/tasks", "an object", *tasks)) {
      for (const char* key : {"total", "succeeded", "failed", "skipped", "cancelled"}) c.number(*tasks, "/tasks", key);
    }
  }
  for (const char* key : {"latency_ms", "latency_ok_ms"}) {
    const json* l = c.field(data, "", key, "an object", key == std::string_view{"latency_ms"});
    if (!l || !c.expect(l->is_object(), std::string{"/"} + key, "an object", *l)) continue;
    for (const char* q : {"p50", "p99", "max"}) c.number(*l, std::string{"/"} + key, q);
  }
  if (const json* ex = c.array(data, "", "expectations", kMaxFaults + 1000, false)) {
    for (std::size_t i = 0; i < ex->size(); ++i) {
      const json& e = (*ex)[i];
      const std::string here = "/expectations/" + std::to_string(i);
      if (!c.expect(e.is_object(), here, "an object", e)) continue;
      c.string(e, here, "name");
      c.string(e, here, "detail");
    }
  }
  if (const json* rs = c.array(data, "", "recovery", kMaxFaults, false)) {
    for (std::size_t i = 0; i < rs->size(); ++i) {
      const json& r = (*rs)[i];
      const std::string here = "/recovery/" + std::to_string(i);
      if (!c.expect(r.is_object(), here, "an object", r)) continue;
      c.string(r, here, "target");
      for (const char* key : {"from_ms", "until_ms", "detect_ms", "restore_ms", "back_on_primary_ms"}) {
        c.number(r, here, key, /*nullable=*/true);
      }
    }
  }
  return c.errors;
}

std::string render_report_page(const nlohmann::json& data) {
  // '<' only occurs inside JSON strings, where \u003c means the same: no "</script>" can end
  // the data block early.
  const std::string text = data.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::string page{kHead};
  page.reserve(kHead.size() + text.size() + kTail.size() + 64);
  for (const char ch : text) {
    if (ch == '<') {
      page += "\\u003c";
    } else {
      page += ch;
    }
  }
  page += kTail;
  return page;
}

std::string ReportPage::describe() const {
  std::string out;
  for (const ValidationError& e : errors) out += source + ": " + e.to_string() + "\n";
  return out;
}

ReportPage report_page_from_file(const std::filesystem::path& path, std::optional<std::uint64_t> seed,
                                 std::optional<Preset> preset) {
  ReportPage page;
  page.source = path.string();
  const std::string text = read_bounded(path, page.errors);
  if (!page.errors.empty()) return page;
  json data = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (data.is_object() && data.contains("keel_scenario")) {  // a scenario: run it
    LoadResult loaded = load_scenario(text, page.source);
    if (!loaded) {
      page.errors = std::move(loaded.errors);
      return page;
    }
    Result<nlohmann::json> run = run_for_report(*loaded.scenario, {.seed = seed, .preset = preset});
    if (!run) {
      page.errors.push_back({"", run.error().describe()});
      page.internal = true;
      return page;
    }
    data = std::move(*run);
  } else {
    if (data.is_discarded()) {
      page.errors.push_back({"", "expected a scenario or `keel run --report-data` output, found invalid JSON"});
      return page;
    }
    if (seed || preset) {
      page.errors.push_back({"", "--seed and --preset apply to a scenario file; this is one finished run"});
      return page;
    }
    page.errors = check_report_data(data);
    if (!page.errors.empty()) return page;
  }
  page.html = render_report_page(data);
  return page;
}

}  // namespace keel::scenarios
