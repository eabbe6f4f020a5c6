// `keel shrink FILE --seed N`: a smaller scenario that still fails the same way.
//
// Greedy delta debugging over the scenario data model: drop the expectations that passed, then
// repeat until nothing changes — remove faults one by one, shrink the workload (agents, steps,
// tool calls per step), narrow fault windows (keep the first or the second half), lower fault
// probabilities and first_n counts, remove providers and tools nothing refers to. Every
// candidate goes through to_json -> load_scenario_json (so the result is always a valid file)
// and is run with the same seed and preset; it is kept only when every originally failing
// expectation (same names) still fails.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "commands.h"
#include "keel/faults/fault_spec.h"
#include "keel/config/duration.h"
#include "keel/scenarios/loader.h"
#include "keel/scenarios/resolve_runtime.h"
#include "keel/scenarios/runner.h"
#include "keel/scenarios/to_json.h"
#include "replay.h"
#include "scenario_args.h"

namespace keel::cli {
namespace {

using scenarios::Scenario;

template <class V>
scenarios::Keyed<V> keep_keyed(const scenarios::Keyed<V>& in, auto&& filter) {
  scenarios::Keyed<V> out;
  for (const auto& [k, v] : in) {
    if (std::optional<V> kept = filter(k, v)) out.emplace_back(k, *kept);
  }
  return out;
}

// `e` with only the expectations named in `keep` (names as evaluate_expectations gives them).
scenarios::Expect only_named(const scenarios::Expect& e, const std::set<std::string>& keep) {
  auto has = [&](const std::string& name) { return keep.contains(name); };
  auto opt = [&](const auto& v, const std::string& name) { return has(name) ? v : std::nullopt; };
  scenarios::Expect out;
  out.success_rate_min = opt(e.success_rate_min, "success_rate_min");
  out.tasks_failed_max = opt(e.tasks_failed_max, "tasks_failed_max");
  if (e.latency) {
    scenarios::LatencyExpect l{opt(e.latency->p50_max, "latency.p50_max"), opt(e.latency->p99_max, "latency.p99_max"),
                               opt(e.latency->max, "latency.max")};
    if (l != scenarios::LatencyExpect{}) out.latency = l;
  }
  out.calls = keep_keyed(e.calls, [&](const std::string& p, const scenarios::CallBounds& b) {
    scenarios::CallBounds c{opt(b.min, "calls." + p + ".min"), opt(b.max, "calls." + p + ".max")};
    return c == scenarios::CallBounds{} ? std::nullopt : std::optional{c};
  });
  out.retries_max = opt(e.retries_max, "retries_max");
  out.fallbacks_min = opt(e.fallbacks_min, "fallbacks_min");
  out.fallbacks_max = opt(e.fallbacks_max, "fallbacks_max");
  out.breaker = keep_keyed(e.breaker, [&](const std::string& p, const scenarios::BreakerExpect& b) {
    const std::string at = "breaker." + p + ".";
    scenarios::BreakerExpect c{opt(b.opens_min, at + "opens_min"), opt(b.opens_max, at + "opens_max"),
                               opt(b.first_open_before, at + "first_open_before")};
    return c == scenarios::BreakerExpect{} ? std::nullopt : std::optional{c};
  });
  out.summarizations_min = opt(e.summarizations_min, "summarizations_min");
  out.summarizations_max = opt(e.summarizations_max, "summarizations_max");
  out.tool_executions = keep_keyed(e.tool_executions, [&](const std::string& t, const scenarios::ToolExpect& b) {
    const std::string at = "tool_executions." + t + ".";
    scenarios::ToolExpect c{opt(b.max, at + "max"), opt(b.max_per_call, at + "max_per_call")};
    return c == scenarios::ToolExpect{} ? std::nullopt : std::optional{c};
  });
  out.max_prompt_tokens_sent = keep_keyed(e.max_prompt_tokens_sent, [&](const std::string& p, std::int64_t n) {
    return has("max_prompt_tokens_sent." + p) ? std::optional{n} : std::nullopt;
  });
  out.finished_before = opt(e.finished_before, "finished_before");
  if (e.recovery) {
    scenarios::RecoveryExpect r{opt(e.recovery->detect_max, "recovery.detect_max"),
                                opt(e.recovery->restore_max, "recovery.restore_max"),
                                opt(e.recovery->back_on_primary_max, "recovery.back_on_primary_max")};
    if (r != scenarios::RecoveryExpect{}) out.recovery = r;
  }
  return out;
}

template <class V>
bool has_key(const scenarios::Keyed<V>& m, const std::string& key) {
  return std::any_of(m.begin(), m.end(), [&](const auto& kv) { return kv.first == key; });
}

bool provider_referenced(const Scenario& s, const std::string& name) {
  for (const auto& f : s.faults) {
    if (f.target == name) return true;
  }
  if (s.runtime.models && std::find(s.runtime.models->begin(), s.runtime.models->end(), name) != s.runtime.models->end())
    return true;
  if (const auto* wf = std::get_if<scenarios::WorkforceWorkload>(&s.workload)) {
    for (const auto& w : wf->workers) {
      if (std::find(w.models.begin(), w.models.end(), name) != w.models.end()) return true;
    }
  }
  return has_key(s.expect.calls, name) || has_key(s.expect.breaker, name) || has_key(s.expect.max_prompt_tokens_sent, name);
}

bool tool_referenced(const Scenario& s, const std::string& name) {
  for (const auto& f : s.faults) {
    if (f.target == std::string(faults::kToolTargetPrefix) + name) return true;
  }
  if (const auto* a = std::get_if<scenarios::AgentsWorkload>(&s.workload); a && a->tool_calls_per_step > 0) return true;
  if (const auto* wf = std::get_if<scenarios::WorkforceWorkload>(&s.workload)) {
    for (const auto& w : wf->workers) {
      if (w.tool == name) return true;
    }
  }
  return has_key(s.expect.tool_executions, name);
}

std::string describe_fault(const scenarios::Fault& f) {
  return std::string(faults::fault_kind_name(f.kind)) + " on " + f.target;
}

std::string window(Duration from, Duration until) {
  return "[" + scenarios::format_duration(from) + ", " + scenarios::format_duration(until) + ")";
}

std::string number(double v) {
  std::ostringstream os;
  os << v;
  return os.str();
}

class Shrinker {
 public:
  Shrinker(std::uint64_t seed, scenarios::Preset preset, std::set<std::string> target, std::size_t max_runs)
      : seed_(seed), preset_(preset), target_(std::move(target)), max_runs_(max_runs) {}

  // The candidate, round-tripped through the loader, if it is valid and still fails every
  // target expectation.
  std::optional<Scenario> check(const Scenario& candidate) {
    if (runs_ >= max_runs_) {
      budget_hit_ = true;
      return std::nullopt;
    }
    scenarios::LoadResult loaded = scenarios::load_scenario_json(scenarios::to_json(candidate), "<candidate>");
    if (!loaded) return std::nullopt;
    ++runs_;
    Result<scenarios::RunReport> r = scenarios::run_scenario(*loaded.scenario, {.seed = seed_, .preset = preset_});
    if (!r) return std::nullopt;
    std::set<std::string> failing;
    for (const auto& e : r->expectations) {
      if (!e.passed) failing.insert(e.name);
    }
    if (!std::includes(failing.begin(), failing.end(), target_.begin(), target_.end())) return std::nullopt;
    return std::move(*loaded.scenario);
  }

  // Tries `edit(copy of cur)`; keeps it when check() passes.
  template <class Edit>
  bool attempt(Scenario& cur, Edit&& edit) {
    Scenario candidate = cur;
    if (!edit(candidate)) return false;
    std::optional<Scenario> ok = check(candidate);
    if (!ok) return false;
    cur = std::move(*ok);
    return true;
  }

  // Lowers an integer field towards `min`: tries min, half, one less; repeats while accepted.
  template <class Get, class Set>
  bool reduce_int(Scenario& cur, Get get, Set set, std::int64_t min, const std::string& what) {
    const std::int64_t start = get(cur);
    for (bool progressed = true; progressed && get(cur) > min;) {
      progressed = false;
      const std::int64_t v = get(cur);
      for (std::int64_t c : {min, min + (v - min) / 2, v - 1}) {
        if (c >= v || c < min) continue;
        if (attempt(cur, [&](Scenario& s) { return set(s, c); })) {
          progressed = true;
          break;
        }
      }
    }
    if (get(cur) == start) return false;
    log_.push_back(what + ": " + std::to_string(start) + " -> " + std::to_string(get(cur)));
    return true;
  }

  bool remove_faults(Scenario& cur) {
    bool any = false;
    for (std::size_t i = 0; i < cur.faults.size();) {
      const std::string what = "removed fault #" + std::to_string(fault_ids_[i]) + " (" + describe_fault(cur.faults[i]) + ")";
      if (attempt(cur, [&](Scenario& s) {
            s.faults.erase(s.faults.begin() + static_cast<std::ptrdiff_t>(i));
            return true;
          })) {
        fault_ids_.erase(fault_ids_.begin() + static_cast<std::ptrdiff_t>(i));
        log_.push_back(what);
        any = true;
      } else {
        ++i;
      }
    }
    return any;
  }

  bool shrink_workload(Scenario& cur) {
    if (!std::holds_alternative<scenarios::AgentsWorkload>(cur.workload)) return false;
    auto agents = [](Scenario& s) -> scenarios::AgentsWorkload& { return std::get<scenarios::AgentsWorkload>(s.workload); };
    bool any = false;
    any |= reduce_int(
        cur, [&](Scenario& s) { return agents(s).count; },
        [&](Scenario& s, std::int64_t v) { return agents(s).count = v, true; }, 1, "workload count");
    any |= reduce_int(
        cur, [&](Scenario& s) { return agents(s).steps; },
        [&](Scenario& s, std::int64_t v) { return agents(s).steps = v, true; }, 1, "workload steps");
    any |= reduce_int(
        cur, [&](Scenario& s) { return agents(s).tool_calls_per_step; },
        [&](Scenario& s, std::int64_t v) { return agents(s).tool_calls_per_step = v, true; }, 0,
        "workload tool_calls_per_step");
    return any;
  }

  bool narrow_windows(Scenario& cur) {
    bool any = false;
    for (std::size_t i = 0; i < cur.faults.size(); ++i) {
      const Duration from0 = cur.faults[i].from;
      const Duration until0 = cur.faults[i].until.value_or(cur.horizon);
      for (;;) {
        const Duration from = cur.faults[i].from;
        const Duration until = cur.faults[i].until.value_or(cur.horizon);
        // Halve on whole milliseconds (readable files); stop at a 1 ms window.
        const auto half = std::chrono::duration_cast<std::chrono::milliseconds>((until - from) / 2);
        if (half < std::chrono::milliseconds{1}) break;
        const Duration mid = from + half;
        if (attempt(cur, [&](Scenario& s) { return s.faults[i].until = mid, true; })) continue;
        if (attempt(cur, [&](Scenario& s) { return s.faults[i].from = mid, s.faults[i].until = until, true; })) continue;
        break;
      }
      const Duration from1 = cur.faults[i].from;
      const Duration until1 = cur.faults[i].until.value_or(cur.horizon);
      if (from1 != from0 || until1 != until0) {
        log_.push_back("fault #" + std::to_string(fault_ids_[i]) + " window: " + window(from0, until0) + " -> " +
                       window(from1, until1));
        any = true;
      }
    }
    return any;
  }

  bool lower_probabilities(Scenario& cur) {
    bool any = false;
    for (std::size_t i = 0; i < cur.faults.size(); ++i) {
      const double p0 = cur.faults[i].probability;
      while (cur.faults[i].probability / 2 >= 0.01 &&
             attempt(cur, [&](Scenario& s) { return s.faults[i].probability /= 2, true; })) {
      }
      if (cur.faults[i].probability != p0) {
        log_.push_back("fault #" + std::to_string(fault_ids_[i]) + " probability: " + number(p0) + " -> " +
                       number(cur.faults[i].probability));
        any = true;
      }
      if (cur.faults[i].first_n) {
        any |= reduce_int(
            cur, [i](Scenario& s) { return static_cast<std::int64_t>(*s.faults[i].first_n); },
            [i](Scenario& s, std::int64_t v) { return s.faults[i].first_n = static_cast<std::uint64_t>(v), true; }, 1,
            "fault #" + std::to_string(fault_ids_[i]) + " first_n");
      }
    }
    return any;
  }

  bool remove_unused(Scenario& cur) {
    bool any = false;
    for (std::size_t i = 0; i < cur.providers.size() && cur.providers.size() > 1;) {
      const std::string name = cur.providers[i].name;
      if (!provider_referenced(cur, name) &&
          attempt(cur, [&](Scenario& s) { return s.providers.erase(s.providers.begin() + static_cast<std::ptrdiff_t>(i)), true; })) {
        log_.push_back("removed provider " + name + " (unused)");
        any = true;
      } else {
        ++i;
      }
    }
    for (std::size_t i = 0; i < cur.tools.size();) {
      const std::string name = cur.tools[i].name;
      if (!tool_referenced(cur, name) &&
          attempt(cur, [&](Scenario& s) { return s.tools.erase(s.tools.begin() + static_cast<std::ptrdiff_t>(i)), true; })) {
        log_.push_back("removed tool " + name + " (unused)");
        any = true;
      } else {
        ++i;
      }
    }
    return any;
  }

  Scenario shrink(Scenario cur) {
    fault_ids_.clear();
    for (std::size_t i = 0; i < cur.faults.size(); ++i) fault_ids_.push_back(i);
    for (int round = 0; round < 16 && !budget_hit_; ++round) {
      bool any = false;
      any |= remove_faults(cur);
      any |= shrink_workload(cur);
      any |= narrow_windows(cur);
      any |= lower_probabilities(cur);
      any |= remove_unused(cur);
      if (!any) break;
    }
    return cur;
  }

  std::size_t runs() const noexcept { return runs_; }
  bool budget_hit() const noexcept { return budget_hit_; }
  std::vector<std::string>& log() noexcept { return log_; }

 private:
  std::uint64_t seed_;
  scenarios::Preset preset_;
  std::set<std::string> target_;
  std::size_t max_runs_;
  std::size_t runs_ = 0;
  bool budget_hit_ = false;
  std::vector<std::size_t> fault_ids_;  // original index of each remaining fault
  std::vector<std::string> log_;
};

std::string default_output(const std::string& file) {
  const std::string ext = ".json";
  if (file.size() > ext.size() && file.compare(file.size() - ext.size(), ext.size(), ext) == 0) {
    return file.substr(0, file.size() - ext.size()) + ".shrunk.json";
  }
  return file + ".shrunk.json";
}

std::string count(std::size_t n, const char* noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

std::string size_summary(const Scenario& s) {
  std::string out = count(s.faults.size(), "fault") + ", " + count(s.providers.size(), "provider") + ", " +
                    count(s.tools.size(), "tool");
  if (const auto* a = std::get_if<scenarios::AgentsWorkload>(&s.workload)) {
    out += ", " + count(static_cast<std::size_t>(a->count), "agent") + " x " +
           count(static_cast<std::size_t>(a->steps), "step");
    if (a->tool_calls_per_step) out += " x " + count(static_cast<std::size_t>(a->tool_calls_per_step), "tool call");
  }
  return out;
}

}  // namespace

Command add_shrink(CLI::App& app) {
  struct Args {
    std::string file;
    std::optional<std::uint64_t> seed;
    std::string preset;
    std::string output;
    std::size_t max_runs = 2000;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("shrink", "Find a smaller scenario that still fails the same expectations");
  cmd->add_option("file", args->file, "Scenario file (JSON)")->required();
  cmd->add_option("--seed", args->seed, "Seed of the failing run (default: the scenario's)")->check(unsigned_integer());
  add_preset_option(cmd, args->preset);
  cmd->add_option("-o,--output", args->output, "Where to write the smaller scenario (default: FILE with .shrunk.json)");
  cmd->add_option("--max-runs", args->max_runs, "Stop after this many candidate runs")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->footer("Exit status: 0 wrote a smaller (or already minimal) failing scenario, 1 the run passes (nothing to "
              "shrink), 2 invalid file or arguments, 3 internal error.");

  return [cmd, args]() -> int {
    if (!cmd->parsed()) return -1;
    const auto original = load_or_report(args->file);
    if (!original) return kExitInvalid;
    const std::optional<scenarios::Preset> preset_override = parse_preset(args->preset);
    const scenarios::Preset preset = scenarios::effective_preset(*original, preset_override);
    const std::uint64_t seed = args->seed.value_or(original->seed);

    Result<scenarios::RunReport> first = scenarios::run_scenario(*original, {.seed = seed, .preset = preset});
    if (!first) {
      std::cerr << "keel shrink: " << args->file << ": " << first.error().describe() << "\n";
      return kExitInternal;
    }
    if (first->passed) {
      std::cout << "keel shrink: " << original->name << " passes with seed " << seed << " under " << to_string(preset)
                << ": nothing to shrink\n";
      return kExitFailed;
    }
    std::set<std::string> target;
    std::vector<std::string> passing;
    for (const auto& e : first->expectations) {
      if (e.passed) passing.push_back(e.name);
      else target.insert(e.name);
    }
    std::cout << "shrink " << original->name << ": seed " << seed << ", preset " << to_string(preset) << " fails:";
    for (const auto& n : target) std::cout << " " << n;
    std::cout << "\n" << std::flush;

    Shrinker shrinker{seed, preset, target, args->max_runs};
    // Pin what the replay needs into the file, drop the other presets' verdicts and every
    // expectation that passed: the result is about this failure only.
    Scenario start = *original;
    start.seed = seed;
    start.runtime.preset = preset;
    start.expected = {};
    std::string names;
    for (const auto& n : target) names += (names.empty() ? "" : ", ") + n;
    start.name = original->name + "_shrunk";
    start.description = "keel shrink of " + args->file + " (seed " + std::to_string(seed) + ", preset " +
                        std::string(to_string(preset)) + "); still fails: " + names + ".";
    Scenario trimmed = start;
    trimmed.expect = only_named(start.expect, target);
    if (std::optional<Scenario> ok = shrinker.check(trimmed)) {
      start = std::move(*ok);
      if (!passing.empty()) {
        std::string removed;
        for (const auto& n : passing) removed += (removed.empty() ? "" : ", ") + n;
        shrinker.log().push_back("removed expectations that passed: " + removed);
      }
    } else if (std::optional<Scenario> pinned = shrinker.check(start)) {
      start = std::move(*pinned);
    } else {
      std::cerr << "keel shrink: the failure does not reproduce from the pinned scenario (seed " << seed << ")\n";
      return kExitInternal;
    }

    const Scenario result = shrinker.shrink(std::move(start));
    const std::string text = scenarios::to_json_text(result);
    if (!scenarios::load_scenario(text, "<shrunk>")) {
      std::cerr << "keel shrink: internal error: the shrunk scenario does not validate\n";
      return kExitInternal;
    }
    const std::string out_path = args->output.empty() ? default_output(args->file) : args->output;
    std::ofstream out{out_path};
    if (!(out << text) || !out.flush()) {
      std::cerr << "keel shrink: cannot write '" << out_path << "'\n";
      return kExitInvalid;
    }

    for (const auto& line : shrinker.log()) std::cout << "  " << line << "\n";
    if (shrinker.log().empty()) std::cout << "  nothing could be removed: the scenario is already minimal\n";
    if (shrinker.budget_hit()) std::cout << "  stopped after --max-runs " << args->max_runs << " candidate runs\n";
    std::cout << "wrote " << out_path << " (" << shrinker.runs() << " candidate runs): " << size_summary(*original)
              << " -> " << size_summary(result) << "; still fails: " << names << "\n";
    std::cout << "replay: " << replay_command(out_path, seed, preset) << "\n";
    return kExitOk;
  };
}

}  // namespace keel::cli
