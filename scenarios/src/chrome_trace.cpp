#include "keel/scenarios/chrome_trace.h"

#include <algorithm>
#include <string_view>

#include "keel/faults/fault_spec.h"
#include <utility>

namespace keel::scenarios {
namespace {

using nlohmann::json;

// Virtual time in microseconds (exact to the nanosecond for any realistic horizon).
double micros(TimePoint t) { return static_cast<double>(t.time_since_epoch().count()) / 1000.0; }
double micros(Duration d) { return static_cast<double>(d.count()) / 1000.0; }

json to_json_value(const AttrValue& v) {
  return std::visit(
      [](const auto& x) -> json {
        if constexpr (std::is_same_v<std::decay_t<decltype(x)>, std::string_view>) {
          return std::string{x};
        } else {
          return x;
        }
      },
      v);
}

std::string str(const Event& e, std::string_view key) {
  const std::optional<AttrValue> v = e.find(key);
  if (!v) return {};
  if (const auto* s = std::get_if<std::string_view>(&*v)) return std::string{*s};
  return to_json_value(*v).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Every attribute of `e` except the ones named in `skip`, as span/instant args.
json args_of(const Event& e, std::initializer_list<std::string_view> skip = {}) {
  json args = json::object();
  for_each_attr(e, [&](const Attr& a) {
    if (std::find(skip.begin(), skip.end(), a.key) != skip.end()) return;
    if (args.contains(std::string{a.key})) return;  // first one wins, as Event::find
    if (a.key == "delay" || a.key == "latency" || a.key == "duration" || a.key == "elapsed" || a.key == "open_for") {
      if (const auto* ns = std::get_if<std::int64_t>(&a.value)) {  // durations: say so in ms
        args[std::string{a.key} + "_ms"] = static_cast<double>(*ns) / 1e6;
        return;
      }
    }
    args[std::string{a.key}] = to_json_value(a.value);
  });
  return args;
}

constexpr int kProviderStride = 1000;  // sort indices: provider k's tracks in [k*1000, (k+1)*1000)
constexpr int kBackoffOffset = 500;
constexpr int kFaultsOffset = 800;
constexpr int kEventsOffset = 900;

}  // namespace

ChromeTraceWriter::ChromeTraceWriter(std::ostream& out) : out_(out) { out_ << "{\"traceEvents\":[\n"; }

ChromeTraceWriter::~ChromeTraceWriter() { finish(); }

void ChromeTraceWriter::write(const json& event) {
  if (written_ > 0) out_ << ",\n";
  out_ << event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  ++written_;
}

void ChromeTraceWriter::ensure_process(Pid pid) {
  const auto index = static_cast<std::size_t>(pid);
  if (process_named_[index]) return;
  process_named_[index] = true;
  const char* name = pid == Pid::providers ? "providers" : pid == Pid::agents ? "agents" : "tools";
  write({{"ph", "M"}, {"name", "process_name"}, {"pid", static_cast<int>(pid)}, {"args", {{"name", name}}}});
  write({{"ph", "M"}, {"name", "process_sort_index"}, {"pid", static_cast<int>(pid)},
         {"args", {{"sort_index", static_cast<int>(pid)}}}});
}

void ChromeTraceWriter::name_thread(Pid pid, int tid, const std::string& name, int sort_index) {
  ensure_process(pid);
  write({{"ph", "M"}, {"name", "thread_name"}, {"pid", static_cast<int>(pid)}, {"tid", tid}, {"args", {{"name", name}}}});
  write({{"ph", "M"}, {"name", "thread_sort_index"}, {"pid", static_cast<int>(pid)}, {"tid", tid},
         {"args", {{"sort_index", sort_index}}}});
}

ChromeTraceWriter::Track& ChromeTraceWriter::track(const std::string& key, Pid pid, const std::string& name,
                                                   int sort_base) {
  auto it = tracks_.find(key);
  if (it == tracks_.end()) it = tracks_.emplace(key, Track{key, pid, name, sort_base, {}}).first;
  return it->second;
}

int ChromeTraceWriter::provider_rank(const std::string& provider) {
  return provider_ranks_.try_emplace(provider, static_cast<int>(provider_ranks_.size()) + 1).first->second;
}
int ChromeTraceWriter::tool_rank(const std::string& tool) {
  return tool_ranks_.try_emplace(tool, static_cast<int>(tool_ranks_.size()) + 1).first->second;
}

ChromeTraceWriter::Track& ChromeTraceWriter::provider_track(const std::string& p) {
  return track("provider:" + p, Pid::providers, p, provider_rank(p) * kProviderStride);
}
ChromeTraceWriter::Track& ChromeTraceWriter::provider_backoff_track(const std::string& p) {
  return track("backoff:" + p, Pid::providers, p + " backoff", provider_rank(p) * kProviderStride + kBackoffOffset);
}
ChromeTraceWriter::Track& ChromeTraceWriter::provider_events_track(const std::string& p) {
  return track("events:" + p, Pid::providers, p + " events", provider_rank(p) * kProviderStride + kEventsOffset);
}
ChromeTraceWriter::Track& ChromeTraceWriter::tool_track(const std::string& t) {
  return track("tool:" + t, Pid::tools, t, tool_rank(t) * kProviderStride);
}
ChromeTraceWriter::Track& ChromeTraceWriter::tool_backoff_track(const std::string& t) {
  return track("tool-backoff:" + t, Pid::tools, t + " backoff", tool_rank(t) * kProviderStride + kBackoffOffset);
}

ChromeTraceWriter::Track& ChromeTraceWriter::faults_track(const std::string& target) {
  if (faults::is_tool_target(target)) {
    const std::string tool{faults::tool_name_of(target)};
    return track("tool-faults:" + tool, Pid::tools, tool + " faults", tool_rank(tool) * kProviderStride + kFaultsOffset);
  }
  return track("faults:" + target, Pid::providers, target + " faults",
               provider_rank(target) * kProviderStride + kFaultsOffset);
}

void ChromeTraceWriter::add_faults(const Scenario& scenario) {
  for (const Provider& p : scenario.providers) provider_rank(p.name);
  for (const Tool& t : scenario.tools) tool_rank(t.name);
  for (std::size_t i = 0; i < scenario.faults.size(); ++i) {
    const Fault& f = scenario.faults[i];
    const FaultWindow window{f.target, i, std::string{faults::fault_kind_name(f.kind)}, TimePoint{f.from},
                             TimePoint{f.until.value_or(scenario.horizon)}};
    if (f.target != faults::kEveryProvider) {
      faults_.push_back(window);
      continue;
    }
    for (const Provider& p : scenario.providers) {
      faults_.push_back(window);
      faults_.back().target = p.name;
    }
  }
  // Lanes are handed out in time order, so that a later window never lands under an earlier one.
  std::stable_sort(faults_.begin(), faults_.end(), [](const FaultWindow& a, const FaultWindow& b) { return a.from < b.from; });
}

void ChromeTraceWriter::emit_fault_windows(TimePoint end) {
  for (const FaultWindow& f : faults_) {
    if (f.from >= end || f.until <= f.from) continue;
    const TimePoint until = std::min(f.until, end);
    Track& t = faults_track(f.target);
    const std::size_t lane = acquire_lane(t, f.from, until);
    emit_span(t.pid, t.lanes[lane].tid, f.from, until, "fault: " + f.kind, "fault",
              {{"index", f.index}, {"kind", f.kind}, {"target", f.target}, {"cut_at_end", until < f.until}});
  }
}

void ChromeTraceWriter::count_request(const std::string& provider, bool response, bool failed, TimePoint at) {
  ProviderCounts& c = counts_[provider];
  if (response) {
    c.in_flight = std::max<std::int64_t>(0, c.in_flight - 1);
  } else {
    ++c.sent;
    ++c.in_flight;
  }
  ensure_process(Pid::providers);
  write({{"ph", "C"}, {"name", provider + " requests"}, {"pid", static_cast<int>(Pid::providers)}, {"ts", micros(at)},
         {"args", {{"sent", c.sent}, {"in_flight", c.in_flight}}}});
  if (!failed) return;
  ++c.failed;
  write({{"ph", "C"}, {"name", provider + " failures"}, {"pid", static_cast<int>(Pid::providers)}, {"ts", micros(at)},
         {"args", {{"failed", c.failed}}}});
}

std::size_t ChromeTraceWriter::acquire_lane(Track& t, TimePoint at, std::optional<TimePoint> busy_until) {
  std::size_t i = 0;
  while (i < t.lanes.size() && (t.lanes[i].open || t.lanes[i].free_at > at)) ++i;
  if (i == t.lanes.size()) {
    const int tid = next_tid_++;
    t.lanes.push_back(Lane{tid, false, at});
    name_thread(t.pid, tid, i == 0 ? t.name : t.name + " (" + std::to_string(i + 1) + ")",
                t.sort_base + static_cast<int>(std::min<std::size_t>(i, kBackoffOffset - 1)));
  }
  Lane& lane = t.lanes[i];
  if (busy_until) {
    lane.free_at = std::max(lane.free_at, *busy_until);
  } else {
    lane.open = true;
  }
  return i;
}

void ChromeTraceWriter::emit_span(Pid pid, int tid, TimePoint start, TimePoint end, const std::string& name,
                                  const std::string& cat, const json& args) {
  write({{"ph", "X"}, {"name", name}, {"cat", cat}, {"pid", static_cast<int>(pid)}, {"tid", tid},
         {"ts", micros(start)}, {"dur", micros(std::max(Duration::zero(), end - start))}, {"args", args}});
}

void ChromeTraceWriter::emit_instant(Pid pid, std::optional<int> tid, TimePoint at, const std::string& name,
                                     const std::string& cat, const json& args) {
  ensure_process(pid);
  json e = {{"ph", "i"}, {"name", name}, {"cat", cat}, {"pid", static_cast<int>(pid)}, {"ts", micros(at)},
            {"s", tid ? "t" : "p"}, {"args", args}};
  if (tid) e["tid"] = *tid;
  write(e);
}

void ChromeTraceWriter::open_span(const std::string& key, Track& t, TimePoint at, std::string name, std::string cat,
                                  json args) {
  if (open_.contains(key)) return;  // already open (e.g. a tool call's second attempt)
  const std::size_t lane = acquire_lane(t, at, std::nullopt);
  open_.emplace(key, OpenSpan{span_order_++, t.key, lane, at, std::move(name), std::move(cat),
                              std::move(args)});
}

void ChromeTraceWriter::close_span(const std::string& key, TimePoint at, std::optional<std::string> name,
                                   const json& more_args) {
  auto it = open_.find(key);
  if (it == open_.end()) return;
  OpenSpan span = std::move(it->second);
  open_.erase(it);
  Track& t = tracks_.at(span.track);
  Lane& lane = t.lanes[span.lane];
  lane.open = false;
  lane.free_at = std::max(lane.free_at, at);
  for (const auto& [k, v] : more_args.items()) span.args[k] = v;
  emit_span(t.pid, lane.tid, span.start, at, name ? *name : span.name, span.cat, span.args);
}

void ChromeTraceWriter::link_to_step(const Event& e, const std::string& span_key) {
  const std::optional<std::int64_t> agent = e.integer(key::agent);
  const std::optional<std::int64_t> step = e.integer(key::step);
  const auto span = open_.find(span_key);
  if (!agent || !step || span == open_.end()) return;
  for (const Agent& a : agents_) {
    if (!a.open || a.id != *agent || a.open_step != *step) continue;
    const Track& t = tracks_.at(span->second.track);
    const std::uint64_t id = next_flow_++;
    write({{"ph", "s"}, {"name", "call"}, {"cat", "call"}, {"id", id}, {"pid", static_cast<int>(Pid::agents)},
           {"tid", a.tid}, {"ts", micros(e.time)}});
    write({{"ph", "f"}, {"bp", "e"}, {"name", "call"}, {"cat", "call"}, {"id", id},
           {"pid", static_cast<int>(t.pid)}, {"tid", t.lanes[span->second.lane].tid}, {"ts", micros(e.time)}});
    return;
  }
}

void ChromeTraceWriter::on_agent_step_start(const Event& e) {
  const std::int64_t step = e.integer(key::step).value_or(0);
  const std::int64_t agent_id = e.integer(key::agent).value_or(0);
  Agent* chosen = nullptr;
  if (agent_id) {  // the agent's own track, when it is free
    for (Agent& a : agents_) {
      if (a.id == agent_id && !a.open) {
        chosen = &a;
        break;
      }
    }
  }
  if (!chosen && step > 1) {  // an idle agent that just did step - 1, preferably one that ended it now
    for (Agent& a : agents_) {
      if (a.open || a.completed != step - 1) continue;
      if (!chosen || (a.last_end == e.time && chosen->last_end != e.time)) chosen = &a;
    }
  }
  if (!chosen) {  // a new agent (or one whose earlier steps were not seen)
    const int tid = next_tid_++;
    agents_.push_back(Agent{tid, agent_id, step - 1, false, 0, {}, e.time});
    name_thread(Pid::agents, tid, "agent " + std::to_string(agents_.size()), static_cast<int>(agents_.size()));
    chosen = &agents_.back();
  }
  if (!chosen->id) chosen->id = agent_id;
  chosen->open = true;
  chosen->open_step = step;
  chosen->open_start = e.time;
}

void ChromeTraceWriter::on_agent_step_end(const Event& e) {
  const std::int64_t step = e.integer(key::step).value_or(0);
  const std::int64_t agent_id = e.integer(key::agent).value_or(0);
  const std::optional<std::int64_t> duration = e.integer(key::duration);
  const TimePoint start = duration ? e.time - Duration{*duration} : e.time;
  Agent* chosen = nullptr;
  // The agent's own track first; a step whose agent's track was busy went elsewhere.
  const bool by_id = agent_id && std::any_of(agents_.begin(), agents_.end(), [&](const Agent& a) {
    return a.open && a.open_step == step && a.id == agent_id;
  });
  for (Agent& a : agents_) {
    if (!a.open || a.open_step != step || (by_id && a.id != agent_id)) continue;
    if (!chosen || (a.open_start == start && chosen->open_start != start)) chosen = &a;
  }
  if (!chosen) return;  // an end without a start: nothing to draw
  chosen->open = false;
  chosen->completed = step;
  chosen->last_end = e.time;
  const bool ok = e.flag(key::ok);
  json args = args_of(e, {"step"});
  emit_span(Pid::agents, chosen->tid, chosen->open_start, e.time,
            "step " + std::to_string(step) + (ok ? "" : " (" + str(e, key::code) + ")"), "agent", args);
}

void ChromeTraceWriter::on_event(const Event& e) {
  if (finished_) return;
  last_seen_ = std::max(last_seen_, e.time);
  const std::string_view kind = e.kind;
  if (kind == ev::provider_request) {
    const std::string target = str(e, key::target);
    const std::string key = "p:" + target + "#" + str(e, key::index);
    json args = args_of(e, {"target"});
    if (args.contains("fault") && args["fault"] == "") args.erase("fault");
    open_span(key, provider_track(target), e.time, "attempt", "provider", std::move(args));
    count_request(target, false, false, e.time);
    link_to_step(e, key);
  } else if (kind == ev::provider_response) {
    const std::string target = str(e, key::target);
    const std::string key = "p:" + target + "#" + str(e, key::index);
    const bool ok = e.flag(key::ok);
    count_request(target, true, !ok, e.time);
    close_span(key, e.time, ok ? std::string{"ok"} : str(e, key::code), args_of(e, {key::target, key::index}));
  } else if (kind == ev::retry_decision) {
    const std::optional<std::int64_t> delay = e.integer(key::delay);
    if (str(e, key::reason) != "retry" || !delay) return;
    Track& t = provider_backoff_track(str(e, key::target));
    const TimePoint end = e.time + Duration{std::max<std::int64_t>(0, *delay)};
    const std::size_t lane = acquire_lane(t, e.time, end);
    emit_span(t.pid, t.lanes[lane].tid, e.time, end, "backoff", "backoff", args_of(e, {"target", "reason"}));
  } else if (kind == ev::tool_start) {
    const std::string tool = str(e, key::tool);
    open_span("t:" + tool + "#" + str(e, key::call_id), tool_track(tool), e.time, tool, "tool",
              args_of(e, {"tool", "attempt"}));
  } else if (kind == ev::tool_end) {
    const std::string tool = str(e, key::tool);
    const std::string key = "t:" + tool + "#" + str(e, key::call_id);
    json args = args_of(e, {"tool", "call_id"});
    if (args.contains("code") && args["code"] == "") args.erase("code");
    const bool ok = e.flag(key::ok);
    if (!open_.contains(key)) {  // no start seen: draw it from its duration
      const std::optional<std::int64_t> duration = e.integer(key::duration);
      open_span(key, tool_track(tool), duration ? e.time - Duration{*duration} : e.time, tool, "tool",
                {{"call_id", str(e, key::call_id)}});
    }
    close_span(key, e.time, ok ? tool : tool + " (" + str(e, key::code) + ")", args);
  } else if (kind == ev::tool_retry) {
    const std::optional<std::int64_t> delay = e.integer(key::delay);
    if (!delay) return;
    Track& t = tool_backoff_track(str(e, key::tool));
    const TimePoint end = e.time + Duration{std::max<std::int64_t>(0, *delay)};
    const std::size_t lane = acquire_lane(t, e.time, end);
    emit_span(t.pid, t.lanes[lane].tid, e.time, end, "backoff", "backoff", args_of(e, {"tool"}));
  } else if (kind == ev::breaker_state) {
    Track& t = provider_events_track(str(e, key::target));
    const std::size_t lane = t.lanes.empty() ? acquire_lane(t, e.time, e.time) : 0;
    emit_instant(t.pid, t.lanes[lane].tid, e.time, "breaker " + str(e, key::from) + " -> " + str(e, key::to), "breaker",
                 args_of(e, {"target"}));
  } else if (kind == ev::model_fallback) {
    Track& t = provider_events_track(str(e, key::from));
    const std::size_t lane = t.lanes.empty() ? acquire_lane(t, e.time, e.time) : 0;
    emit_instant(t.pid, t.lanes[lane].tid, e.time, "fallback -> " + str(e, key::to), "fallback", args_of(e));
  } else if (kind == ev::model_skip) {
    Track& t = provider_events_track(str(e, key::model));
    const std::size_t lane = t.lanes.empty() ? acquire_lane(t, e.time, e.time) : 0;
    emit_instant(t.pid, t.lanes[lane].tid, e.time, "skip (" + str(e, key::reason) + ")", "fallback",
                 args_of(e, {"model"}));
  } else if (kind == ev::agent_step_start) {
    on_agent_step_start(e);
  } else if (kind == ev::agent_step_end) {
    on_agent_step_end(e);
  } else if (kind == ev::context_summarize || kind == ev::context_truncate || kind.starts_with("hedge.")) {
    emit_instant(Pid::agents, std::nullopt, e.time, std::string{kind}, kind.starts_with("hedge.") ? "hedge" : "context",
                 args_of(e));
  }
}

void ChromeTraceWriter::finish(std::optional<TimePoint> end) {
  if (finished_) return;
  const TimePoint at = std::max(end.value_or(last_seen_), last_seen_);
  // Close what is still open, in the order it was opened.
  std::vector<std::pair<std::uint64_t, std::string>> still_open;
  for (const auto& [key, span] : open_) still_open.emplace_back(span.order, key);
  std::sort(still_open.begin(), still_open.end());
  for (const auto& [order, key] : still_open) {
    close_span(key, at, std::nullopt, {{"unfinished", true}});
  }
  emit_fault_windows(at);
  for (Agent& a : agents_) {
    if (!a.open) continue;
    a.open = false;
    emit_span(Pid::agents, a.tid, a.open_start, at, "step " + std::to_string(a.open_step), "agent",
              {{"unfinished", true}});
  }
  finished_ = true;
  out_ << "\n],\"displayTimeUnit\":\"ms\",\"otherData\":{\"clock\":\"keel virtual time\"}}\n";
  out_.flush();
}

}  // namespace keel::scenarios
