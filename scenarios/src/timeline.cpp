#include "keel/scenarios/timeline.h"

#include <algorithm>
#include <cmath>

#include "keel/faults/fault_spec.h"

namespace keel::scenarios {
namespace {

using nlohmann::json;

double ms(std::int64_t ns) { return static_cast<double>(ns) / 1e6; }

// The p-quantile (nearest rank) of a sorted, non-empty list.
std::int64_t nearest_rank(const std::vector<std::int64_t>& sorted, double p) {
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

}  // namespace

Duration timeline_bucket_width(Duration end, std::int64_t max_buckets) {
  const std::int64_t span_ms = std::max<std::int64_t>(1, (end.count() + 999'999) / 1'000'000);
  const std::int64_t buckets = std::max<std::int64_t>(1, max_buckets);
  for (std::int64_t decade = 1;; decade *= 10) {
    for (const std::int64_t step : {1, 2, 5}) {
      const std::int64_t width_ms = step * decade;
      if ((span_ms + width_ms - 1) / width_ms <= buckets) return std::chrono::milliseconds{width_ms};
    }
  }
}

TimelineRecorder::TimelineRecorder(const Scenario& scenario, bool breakers)
    : faults_(scenario.faults), horizon_(scenario.horizon), description_(scenario.description), breakers_(breakers) {
  providers_.reserve(scenario.providers.size());
  for (const Provider& p : scenario.providers) providers_.push_back(Series{.name = p.name});
}

TimelineRecorder::Series* TimelineRecorder::series(std::string_view provider) noexcept {
  for (Series& s : providers_)
    if (s.name == provider) return &s;
  return nullptr;
}

void TimelineRecorder::on_event(const Event& e) {
  const std::int64_t at = e.time.time_since_epoch().count();
  last_ns_ = std::max(last_ns_, at);
  const std::string_view kind = e.kind;
  if (kind == ev::provider_request) {
    if (Series* s = series(e.text(key::target))) s->samples.push_back({at, 0, What::request});
  } else if (kind == ev::provider_response) {
    Series* s = series(e.text(key::target));
    if (!s) return;
    if (e.flag(key::ok)) {
      s->samples.push_back({at, e.integer(key::latency).value_or(0), What::success});
    } else {
      s->samples.push_back({at, 0, What::failure});
      const std::string_view code = e.text(key::code);
      auto it = s->failures_by_code.find(code);
      if (it == s->failures_by_code.end()) it = s->failures_by_code.emplace(std::string{code}, 0).first;
      ++it->second;
    }
  } else if (kind == ev::breaker_refused) {
    if (Series* s = series(e.text(key::target))) s->samples.push_back({at, 0, What::refused});
  } else if (kind == ev::breaker_state) {
    if (Series* s = series(e.text(key::target))) {
      s->transitions.push_back({at, std::string{e.text(key::from)}, std::string{e.text(key::to)}});
    }
  }
}

json TimelineRecorder::to_json(Duration end) const {
  const std::int64_t end_ns = std::max<std::int64_t>({end.count(), last_ns_, 1'000'000});
  const std::int64_t width_ns = timeline_bucket_width(Duration{end_ns}).count();
  const std::int64_t buckets = (end_ns + width_ns - 1) / width_ns;
  const auto bucket_of = [&](std::int64_t at) {
    return static_cast<std::size_t>(std::clamp<std::int64_t>(at / width_ns, 0, buckets - 1));
  };
  json j = {{"version", 1},
            {"end_ms", ms(end_ns)},
            {"horizon_ms", ms(horizon_.count())},
            {"bucket_ms", ms(width_ns)},
            {"buckets", buckets},
            {"description", description_}};
  j["providers"] = json::array();
  for (const Series& s : providers_) {
    const auto n = static_cast<std::size_t>(buckets);
    std::vector<std::int64_t> requests(n), failures(n), refused(n);
    std::vector<std::vector<std::int64_t>> latencies(n);
    for (const Sample& x : s.samples) {
      const std::size_t b = bucket_of(x.at_ns);
      switch (x.what) {
        case What::request: ++requests[b]; break;
        case What::failure: ++failures[b]; break;
        case What::refused: ++refused[b]; break;
        case What::success: latencies[b].push_back(x.latency_ns); break;
      }
    }
    json p50 = json::array(), max = json::array();
    for (std::vector<std::int64_t>& l : latencies) {
      if (l.empty()) {
        p50.push_back(nullptr);
        max.push_back(nullptr);
        continue;
      }
      std::sort(l.begin(), l.end());
      p50.push_back(ms(nearest_rank(l, 0.5)));
      max.push_back(ms(l.back()));
    }
    json transitions = json::array();
    for (const Transition& t : s.transitions) transitions.push_back({{"at_ms", ms(t.at_ns)}, {"from", t.from}, {"to", t.to}});
    json by_code = json::object();
    for (const auto& [code, count] : s.failures_by_code) by_code[code] = count;
    j["providers"].push_back({{"name", s.name},
                              {"breaker", breakers_},
                              {"requests", requests},
                              {"failures", failures},
                              {"refused", refused},
                              {"latency_ok_p50_ms", std::move(p50)},
                              {"latency_ok_max_ms", std::move(max)},
                              {"failures_by_code", std::move(by_code)},
                              {"breaker_transitions", std::move(transitions)}});
  }
  j["faults"] = json::array();
  for (std::size_t i = 0; i < faults_.size(); ++i) {
    const Fault& f = faults_[i];
    j["faults"].push_back({{"index", i},
                           {"target", f.target},
                           {"kind", std::string{faults::fault_kind_name(f.kind)}},
                           {"from_ms", ms(f.from.count())},
                           {"until_ms", ms(f.until.value_or(horizon_).count())}});
  }
  return j;
}

}  // namespace keel::scenarios
