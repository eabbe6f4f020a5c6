#!/usr/bin/env bash
# The `keel` command end to end (registered in tests/CMakeLists.txt as ctest `cli`):
#   --help everywhere; bad arguments and bad files exit 2 (with a JSON pointer); `run` exit
#   codes, --json fields and --chrome-trace; `explore` output identical for --jobs 1 and 2 and
#   shards that partition the seeds exactly; `conformance` exit codes and JUnit XML; `shrink`
#   writes a smaller scenario that still validates and still fails; `trace-hash` recomputes the
#   hash `run` printed from the trace file it wrote.
#
# Usage: tests/cli/cli_test.sh KEEL_BINARY SOURCE_DIR
set -uo pipefail

KEEL=${1:?usage: cli_test.sh KEEL_BINARY SOURCE_DIR}
SRC=${2:?usage: cli_test.sh KEEL_BINARY SOURCE_DIR}
SUITE=$SRC/scenarios/suite
TMP=$(mktemp -d "${TMPDIR:-/tmp}/keel-cli-test.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok:   $*"; }

# expect_status WANT DESCRIPTION -- COMMAND...: runs COMMAND (stdout -> $TMP/out, stderr -> $TMP/err).
expect_status() {
  local want=$1 what=$2
  shift 3
  "$@" >"$TMP/out" 2>"$TMP/err"
  local got=$?
  if [ "$got" -eq "$want" ]; then pass "$what (exit $got)"; else
    fail "$what: exit $got, wanted $want: $*"
    sed 's/^/      | /' "$TMP/err" | head -20 >&2
  fi
}
contains() {  # contains FILE TEXT DESCRIPTION
  if grep -qF -- "$2" "$1"; then pass "$3"; else fail "$3: '$2' not in $(basename "$1")"; sed 's/^/      | /' "$1" | head -20 >&2; fi
}
py() { python3 - "$@"; }

# ---- scenario files used below -----------------------------------------------------------------
cat >"$TMP/passing.json" <<'JSON'
{"keel_scenario": 1, "name": "cli_passing",
 "providers": [{"name": "gpt", "latency": {"uniform": ["100ms", "900ms"]}}],
 "workload": {"kind": "agents", "count": 3, "steps": 2, "start": {"poisson_per_s": 2}},
 "expect": {"success_rate_min": 1.0}}
JSON
cat >"$TMP/failing.json" <<'JSON'
{"keel_scenario": 1, "name": "cli_failing", "horizon": "10m",
 "providers": [{"name": "primary", "latency": {"uniform": ["200ms", "800ms"]}}, {"name": "backup"}, {"name": "spare"}],
 "tools": [{"name": "search"}],
 "faults": [
   {"target": "backup", "kind": "slow", "extra_latency": {"fixed": "100ms"}, "probability": 0.2},
   {"target": "primary", "kind": "hang", "from": "1s"},
   {"target": "primary", "kind": "server_error", "probability": 0.3}
 ],
 "workload": {"kind": "agents", "count": 6, "steps": 3, "start": {"every": "1s"}},
 "expect": {"success_rate_min": 1.0, "calls": {"backup": {"min": 0}}, "tasks_failed_max": 100},
 "expected": {"keel_default": "pass", "camel_parity": "fail"}}
JSON
cat >"$TMP/bad.json" <<'JSON'
{"keel_scenario": 1, "name": "bad",
 "providers": [{"name": "gpt"}],
 "faults": [{"target": "gpt", "kind": "explode"}],
 "workload": {"kind": "agents"}}
JSON

# ---- --help on every subcommand; bad arguments ---------------------------------------------------
expect_status 0 "keel --help" -- "$KEEL" --help
for sub in demo run validate explore shrink trace-hash conformance; do
  expect_status 0 "keel $sub --help" -- "$KEEL" "$sub" --help
done
contains "$TMP/out" "--shard" "conformance --help mentions --shard"
expect_status 2 "no subcommand" -- "$KEEL"
expect_status 2 "unknown subcommand" -- "$KEEL" frobnicate
expect_status 2 "run without a file" -- "$KEEL" run
expect_status 2 "run with an unknown option" -- "$KEEL" run "$TMP/passing.json" --sed 3
expect_status 2 "run with a bad preset" -- "$KEEL" run "$TMP/passing.json" --preset fastest
expect_status 2 "run of a missing file" -- "$KEEL" run "$TMP/nope.json"
expect_status 2 "explore without --seeds" -- "$KEEL" explore "$TMP/passing.json"
expect_status 2 "explore --seeds 0" -- "$KEEL" explore "$TMP/passing.json" --seeds 0
expect_status 2 "explore --jobs 0" -- "$KEEL" explore "$TMP/passing.json" --seeds 2 --jobs 0
for bad in 0/2 3/2 2 a/b 1/0 -1/2 1/2/3 ""; do
  expect_status 2 "explore --shard '$bad'" -- "$KEEL" explore "$TMP/passing.json" --seeds 4 --shard "$bad"
done
expect_status 2 "explore --shard 3/2" -- "$KEEL" explore "$TMP/passing.json" --seeds 4 --shard 3/2
contains "$TMP/err" "1 <= K <= N" "--shard error says what is expected"
expect_status 2 "explore --from past the largest seed" -- "$KEEL" explore "$TMP/passing.json" --seeds 2 --from 18446744073709551615
expect_status 2 "conformance --seeds 0" -- "$KEEL" conformance "$TMP" --seeds 0
expect_status 2 "conformance on a missing directory" -- "$KEEL" conformance "$TMP/none"
mkdir -p "$TMP/empty"
expect_status 2 "conformance on a directory without scenarios" -- "$KEEL" conformance "$TMP/empty"
expect_status 2 "shrink of a missing file" -- "$KEEL" shrink "$TMP/nope.json"

# ---- a new user's first tries (issue 19) ---------------------------------------------------------
expect_status 0 "keel --version" -- "$KEEL" --version
contains "$TMP/out" "keel 0." "--version prints the version"
"$KEEL" --help >"$TMP/help" 2>&1
subs=$(awk '/^Subcommands:/ {on = 1; next} on && /^  [a-z]/ {print $1}' "$TMP/help")
[ -n "$subs" ] && pass "keel --help lists subcommands" || fail "no subcommands found in keel --help"
for sub in $subs; do
  "$KEEL" "$sub" --help >"$TMP/out" 2>&1
  contains "$TMP/out" "Exit status" "keel $sub --help lists its exit codes"
  # Its own, not the application's generic footer (CLI11 copies that to every subcommand).
  if grep -qF "\`keel <command> --help\` gives each command's own" "$TMP/out"; then
    fail "keel $sub --help shows the generic exit codes, not its own"
  else
    pass "keel $sub --help has its own exit codes"
  fi
done
for bad in -1 18446744073709551616 1e3 " 7"; do
  expect_status 2 "run --seed '$bad'" -- "$KEEL" run "$TMP/passing.json" --seed "$bad"
done
contains "$TMP/err" "expected a whole number" "a bad --seed says what is expected"
expect_status 0 "run --seed 18446744073709551615 (the largest seed)" -- "$KEEL" run "$TMP/passing.json" --seed 18446744073709551615 --json
contains "$TMP/out" '"seed":18446744073709551615' "the largest seed is kept exactly"
expect_status 2 "demo --seed -1" -- "$KEEL" demo --seed -1
expect_status 2 "shrink --seed -1" -- "$KEEL" shrink "$TMP/failing.json" --seed -1
expect_status 2 "explore --from -1" -- "$KEEL" explore "$TMP/passing.json" --seeds 2 --from -1
expect_status 2 "explore --seeds -1" -- "$KEEL" explore "$TMP/passing.json" --seeds -1
expect_status 2 "explore --jobs -1" -- "$KEEL" explore "$TMP/passing.json" --seeds 2 --jobs -1
expect_status 2 "conformance --seeds -1" -- "$KEEL" conformance "$TMP" --seeds -1
expect_status 2 "shrink --max-runs -1" -- "$KEEL" shrink "$TMP/failing.json" --max-runs -1
expect_status 2 "serve --seed -1" -- "$KEEL" serve "$TMP/passing.json" --seed -1
expect_status 2 "run --time-scale -1" -- "$KEEL" run "$TMP/passing.json" --live --time-scale -1
cat >"$TMP/late_fault.json" <<'JSON'
{"keel_scenario": 1, "name": "late", "horizon": "10m", "providers": [{"name": "gpt"}],
 "faults": [{"target": "gpt", "kind": "hang", "from": "10m"}], "workload": {"kind": "agents"}}
JSON
expect_status 2 "a fault window starting at the horizon" -- "$KEEL" validate "$TMP/late_fault.json"
contains "$TMP/err" "/faults/0/from: expected a start before the horizon" "the late fault is named at its pointer"
cat >"$TMP/vacuous.json" <<'JSON'
{"keel_scenario": 1, "name": "vacuous", "providers": [{"name": "gpt"}], "workload": {"kind": "agents"}}
JSON
expect_status 0 "a scenario without expectations passes" -- "$KEEL" run "$TMP/vacuous.json"
contains "$TMP/out" "(no expectations: nothing was checked)" "its verdict line says it is vacuous"
expect_status 0 "run --json of a vacuous scenario" -- "$KEEL" run "$TMP/vacuous.json" --json
contains "$TMP/out" '"vacuous":true' "run --json marks it vacuous"
expect_status 2 "run --json of an invalid file" -- "$KEEL" run "$TMP/bad.json" --json
if py "$TMP/out" <<'PY'; then pass "run --json of an invalid file prints the errors as JSON on stdout"; else fail "run --json invalid file"; fi
import json, sys
j = json.load(open(sys.argv[1]))
assert j["valid"] is False and j["file"].endswith("bad.json"), j
assert any(e["pointer"] == "/faults/0/kind" and "expected" in e["message"] for e in j["errors"]), j
PY
expect_status 2 "run --json of a file that is not JSON" -- "$KEEL" run "$TMP/help" --json
if py "$TMP/out" <<'PY'; then pass "a syntax error is JSON with line and column"; else fail "run --json syntax error"; fi
import json, sys
e = json.load(open(sys.argv[1]))["errors"][0]
assert e["line"] >= 1 and e["column"] >= 1 and e["message"].startswith("invalid JSON"), e
PY
expect_status 1 "a failing run, text" -- "$KEEL" run "$TMP/failing.json" --preset camel_parity
if grep -Eq '[0-9]\.[0-9]{4,}ms|[0-9]{5,}ms' "$TMP/out"; then fail "text report has raw milliseconds: $(grep -Eo '[0-9.]{6,}ms' "$TMP/out" | head -1)"; else
  pass "text report durations are human-readable"; fi
grep -Eq 'latency p50 [0-9.]+(ms|s|m[0-9.]+s) ' "$TMP/out" && pass "latency reads like 7.19s" || fail "latency format: $(grep latency "$TMP/out")"
expect_status 0 "run --live (text)" -- "$KEEL" run "$TMP/passing.json" --live --time-scale 0.01
if grep -q trace_hash "$TMP/out"; then fail "a live run prints a trace_hash"; else pass "a live run prints no trace_hash"; fi
contains "$TMP/out" "not reproducible" "a live run says it is not reproducible"
expect_status 0 "run --live --json" -- "$KEEL" run "$TMP/passing.json" --live --time-scale 0.01 --json
contains "$TMP/out" '"reproducible":false' "run --live --json marks the trace not reproducible"

# ---- hostile scenario files (issue 19): refused at a pointer, exit 2, never a crash ------------
BAD=$SRC/tests/scenarios/bad
for f in deep_nesting_200k bound_prompt_tokens_1e18 bound_tool_calls_per_step_1e9 bound_count_1e9 bound_steps_1e9 \
         bound_tasks_1e7 bound_breaker_size_1e9 bound_context_window_2p32 bound_output_tokens_2p32; do
  expect_status 2 "run $f" -- "$KEEL" run "$BAD/$f.json"
  contains "$TMP/err" "$(head -1 "$BAD/$f.expect" | cut -c1-60)" "$f is refused at its pointer"
done
py "$TMP/big_key.json" "$TMP/huge.json" <<'PY'
import json, sys
doc = {"keel_scenario": 1, "name": "k", "providers": [{"name": "gpt"}], "workload": {"kind": "agents"}}
doc["k" * (5 << 20)] = 1
json.dump(doc, open(sys.argv[1], "w"))
doc["k" * (10 << 20)] = 1
json.dump(doc, open(sys.argv[2], "w"))
PY
expect_status 2 "validate a 5 MB unknown key" -- "$KEEL" validate "$TMP/big_key.json"
[ "$(wc -c <"$TMP/err")" -lt 2000 ] && pass "the 5 MB key is not echoed whole ($(wc -c <"$TMP/err") bytes)" || fail "stderr is $(wc -c <"$TMP/err") bytes"
expect_status 2 "validate a 15 MB file" -- "$KEEL" validate "$TMP/huge.json"
contains "$TMP/err" "at most 8388608 bytes" "a file over 8 MiB is refused by its size"

# ---- validate ----------------------------------------------------------------------------------
expect_status 0 "validate a good file" -- "$KEEL" validate "$TMP/passing.json"
expect_status 2 "validate a bad file" -- "$KEEL" validate "$TMP/bad.json"
contains "$TMP/err" "/faults/0/kind" "validate names the JSON pointer of a bad fault kind"

# ---- run ---------------------------------------------------------------------------------------
expect_status 0 "run a passing scenario" -- "$KEEL" run "$TMP/passing.json"
contains "$TMP/out" "PASS" "run prints PASS"
expect_status 1 "run a failing scenario" -- "$KEEL" run "$TMP/failing.json" --preset camel_parity
expect_status 2 "run a bad file" -- "$KEEL" run "$TMP/bad.json"
expect_status 0 "run --json --seed 5" -- "$KEEL" run "$TMP/passing.json" --json --seed 5
if py "$TMP/out" <<'PY'; then pass "run --json has every field of the format"; else fail "run --json fields"; fi
import json, sys
j = json.load(open(sys.argv[1]))
for k in ["scenario", "seed", "preset", "passed", "trace_hash", "virtual_end_ms", "tasks", "latency_ms", "calls",
          "retries", "fallbacks", "breaker_opens", "summarizations", "expectations"]:
    assert k in j, k
assert j["seed"] == 5 and j["passed"] is True and j["preset"] == "keel_default" and j["scenario"] == "cli_passing"
assert set(j["tasks"]) >= {"total", "succeeded", "failed", "skipped", "cancelled"} and j["tasks"]["total"] == 6
assert set(j["latency_ms"]) >= {"p50", "p99", "max"}
assert len(j["trace_hash"]) == 16 and int(j["trace_hash"], 16) >= 0
assert j["expectations"] == [{"name": "success_rate_min", "passed": True, "detail": j["expectations"][0]["detail"]}]
PY
expect_status 1 "run --json of a failing run" -- "$KEEL" run "$TMP/failing.json" --preset camel_parity --json
if py "$TMP/out" <<'PY'; then pass "failing run --json lists the failed expectation"; else fail "failing run --json"; fi
import json, sys
j = json.load(open(sys.argv[1]))
assert j["passed"] is False and j["preset"] == "camel_parity"
assert any(e["name"] == "success_rate_min" and not e["passed"] for e in j["expectations"])
PY
expect_status 1 "run --trace --json" -- "$KEEL" run "$TMP/failing.json" --preset camel_parity --trace "$TMP/t.jsonl" --json
cp "$TMP/out" "$TMP/run-trace.json"
expect_status 0 "trace-hash of the written trace" -- "$KEEL" trace-hash "$TMP/t.jsonl" --json
if py "$TMP/run-trace.json" "$TMP/out" <<'PY'; then pass "trace-hash recomputes the hash the run printed"; else fail "trace-hash differs from run"; fi
import json, sys
run, th = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert th["trace_hash"] == run["trace_hash"] and th["trace_events"] == run["trace_events"] > 0, (th, run)
PY
head -c 100 "$TMP/t.jsonl" > "$TMP/cut.jsonl"
expect_status 2 "trace-hash of a cut trace" -- "$KEEL" trace-hash "$TMP/cut.jsonl"
contains "$TMP/err" "trace line " "trace-hash names the bad line"
expect_status 2 "trace-hash of a missing file" -- "$KEEL" trace-hash "$TMP/none.jsonl"
expect_status 0 "run --chrome-trace" -- "$KEEL" run "$TMP/failing.json" --chrome-trace "$TMP/chrome.json"
if py "$TMP/chrome.json" <<'PY'; then pass "--chrome-trace writes trace-event JSON with named tracks and spans"; else fail "--chrome-trace output"; fi
import json, sys
events = json.load(open(sys.argv[1]))["traceEvents"]
threads = {e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
assert {"primary", "backup", "agent 1"} <= threads, threads
cats = {e.get("cat") for e in events if e["ph"] == "X"}
assert {"provider", "agent"} <= cats, cats
assert all(isinstance(e["ts"], (int, float)) for e in events if e["ph"] in ("X", "i"))
PY

# ---- explore -----------------------------------------------------------------------------------
expect_status 0 "explore --jobs 1 --json" -- "$KEEL" explore "$TMP/passing.json" --seeds 12 --jobs 1 --json
cp "$TMP/out" "$TMP/explore-j1.json"
expect_status 0 "explore --jobs 2 --json" -- "$KEEL" explore "$TMP/passing.json" --seeds 12 --jobs 2 --json
cp "$TMP/out" "$TMP/explore-j2.json"
if cmp -s "$TMP/explore-j1.json" "$TMP/explore-j2.json"; then pass "explore output identical for --jobs 1 and 2"; else
  fail "explore output differs between --jobs 1 and 2"; diff "$TMP/explore-j1.json" "$TMP/explore-j2.json" | head >&2; fi
expect_status 0 "explore --jobs 3 (text)" -- "$KEEL" explore "$TMP/passing.json" --seeds 12 --jobs 3 -v
cp "$TMP/out" "$TMP/explore-j3.txt"
expect_status 0 "explore --jobs 1 (text)" -- "$KEEL" explore "$TMP/passing.json" --seeds 12 --jobs 1 -v
if cmp -s "$TMP/out" "$TMP/explore-j3.txt"; then pass "explore text output identical for --jobs 1 and 3"; else fail "explore text differs"; fi
expect_status 0 "explore shard 1/2" -- "$KEEL" explore "$TMP/passing.json" --seeds 12 --from 5 --shard 1/2 --jobs 2 --json
cp "$TMP/out" "$TMP/shard1.json"
expect_status 0 "explore shard 2/2" -- "$KEEL" explore "$TMP/passing.json" --seeds 12 --from 5 --shard 2/2 --jobs 2 --json
cp "$TMP/out" "$TMP/shard2.json"
expect_status 0 "explore all, from 5" -- "$KEEL" explore "$TMP/passing.json" --seeds 12 --from 5 --json
cp "$TMP/out" "$TMP/shard-all.json"
if py "$TMP/shard1.json" "$TMP/shard2.json" "$TMP/shard-all.json" "$TMP/explore-j1.json" <<'PY'; then pass "shards 1/2 + 2/2 partition the seeds exactly, with the same results"; else fail "shard partition"; fi
import json, sys
s1, s2, full, j1 = (json.load(open(p)) for p in sys.argv[1:])
a = {r["seed"]: r for r in s1["seeds"]}
b = {r["seed"]: r for r in s2["seeds"]}
f = {r["seed"]: r for r in full["seeds"]}
assert not (set(a) & set(b)), "shards overlap"
assert set(a) | set(b) == set(range(5, 17)) == set(f), (sorted(a), sorted(b))
assert sorted(a) == [5, 7, 9, 11, 13, 15], sorted(a)   # seed s is in shard ((s - 5) mod 2) + 1
assert all(a[s] == f[s] for s in a) and all(b[s] == f[s] for s in b)
# Seeds change the trace where the scenario has randomness (latency, Poisson arrivals).
assert j1["distinct_trace_hashes"] > 1 and j1["runs"] == 12 and j1["passed"] == 12
PY
expect_status 1 "explore of a failing scenario" -- "$KEEL" explore "$TMP/failing.json" --seeds 3 --preset camel_parity --jobs 2
contains "$TMP/out" "replay: keel run $TMP/failing.json --seed 2 --preset camel_parity" "explore prints the replay command"
contains "$TMP/out" "0 passed, 3 failed" "explore summary counts"
expect_status 1 "explore --json of a failing scenario" -- "$KEEL" explore "$TMP/failing.json" --seeds 3 --preset camel_parity --json
if py "$TMP/out" <<'PY'; then pass "explore --json lists failed expectation names and replays"; else fail "explore --json failing"; fi
import json, sys
j = json.load(open(sys.argv[1]))
assert j["failed"] == 3 and all(not r["passed"] and "success_rate_min" in r["failed"] and "--seed %d" % r["seed"] in r["replay"] for r in j["seeds"])
PY
hash2=$(py "$TMP/out" <<'PY'
import json, sys
print([r for r in json.load(open(sys.argv[1]))["seeds"] if r["seed"] == 2][0]["trace_hash"])
PY
)
expect_status 1 "the replay command reproduces the failure" -- "$KEEL" run "$TMP/failing.json" --seed 2 --preset camel_parity --json
contains "$TMP/out" "\"trace_hash\":\"$hash2\"" "the replay has the same trace hash"

# ---- conformance -------------------------------------------------------------------------------
mkdir -p "$TMP/suite"
cp "$TMP/passing.json" "$TMP/suite/a_passing.json"
cp "$TMP/failing.json" "$TMP/suite/b_failing.json"       # keel_default: pass, camel_parity: fail (conforms)
py "$TMP/failing.json" "$TMP/suite/c_wrong.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
j["name"] = "cli_wrong"
j["expected"] = {"keel_default": "fail", "camel_parity": "pass"}   # both verdicts wrong
json.dump(j, open(sys.argv[2], "w"))
PY
expect_status 1 "conformance with non-conforming scenarios" -- "$KEEL" conformance "$TMP/suite" --seeds 2 --junit "$TMP/junit.xml" --jobs 2
contains "$TMP/out" "cli_wrong[keel_default,seed=1]: expected to fail under keel_default but passed" "conformance reports an expected failure that passed"
contains "$TMP/out" "cli_wrong[camel_parity,seed=2]: expected to pass under camel_parity but failed" "conformance reports an expected pass that failed"
if py "$TMP/junit.xml" "$TMP/suite" <<'PY'; then pass "conformance writes valid JUnit XML, one testcase per scenario x preset x seed"; else fail "JUnit XML"; fi
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites"
cases = root.findall("./testsuite/testcase")
names = [c.get("name") for c in cases]
# a_passing: 1 preset x 2 seeds; b_failing and c_wrong: 2 presets x 2 seeds each.
assert len(cases) == 10, names
assert "cli_failing[camel_parity,seed=2]" in names and "cli_passing[keel_default,seed=1]" in names
assert all(c.get("classname") == sys.argv[2] for c in cases)
failed = {c.get("name"): c.find("failure") for c in cases if c.find("failure") is not None}
assert set(failed) == {"cli_wrong[%s,seed=%d]" % (p, s) for p in ("keel_default", "camel_parity") for s in (1, 2)}, set(failed)
assert "expected to fail under keel_default but passed" in failed["cli_wrong[keel_default,seed=1]"].get("message")
assert "success_rate_min" in failed["cli_wrong[camel_parity,seed=1]"].text
assert root.get("tests") == "10" and root.get("failures") == "4"
PY
rm "$TMP/suite/c_wrong.json"
expect_status 0 "conformance of a conforming directory" -- "$KEEL" conformance "$TMP/suite" --seeds 2
contains "$TMP/out" "cli_failing" "conformance prints the table"
expect_status 0 "conformance --preset camel_parity (the expected verdict under it still applies)" -- "$KEEL" conformance "$TMP/suite" --seeds 1 --preset camel_parity
if grep -q keel_default "$TMP/out"; then fail "conformance --preset camel_parity ran keel_default"; else pass "conformance --preset runs only that preset"; fi
expect_status 0 "conformance shard 1/2" -- "$KEEL" conformance "$TMP/suite" --seeds 3 --shard 1/2 --junit "$TMP/j1.xml"
expect_status 0 "conformance shard 2/2" -- "$KEEL" conformance "$TMP/suite" --seeds 3 --shard 2/2 --junit "$TMP/j2.xml"
expect_status 0 "conformance unsharded" -- "$KEEL" conformance "$TMP/suite" --seeds 3 --junit "$TMP/jall.xml"
if py "$TMP/j1.xml" "$TMP/j2.xml" "$TMP/jall.xml" <<'PY'; then pass "conformance shards partition the (scenario, seed) list"; else fail "conformance shards"; fi
import sys, xml.etree.ElementTree as ET
n1, n2, na = ([c.get("name") for c in ET.parse(p).getroot().iter("testcase")] for p in sys.argv[1:])
assert not set(n1) & set(n2) and sorted(n1 + n2) == sorted(na) and len(na) == 9, (n1, n2)
PY
cp "$TMP/bad.json" "$TMP/suite/z_bad.json"
expect_status 2 "conformance with a malformed scenario" -- "$KEEL" conformance "$TMP/suite" --seeds 1 --junit "$TMP/jbad.xml"
contains "$TMP/err" "/faults/0/kind" "conformance reports the malformed file's pointer"
if py "$TMP/jbad.xml" <<'PY'; then pass "a malformed scenario is a JUnit error"; else fail "malformed in JUnit"; fi
import sys, xml.etree.ElementTree as ET
errors = [c for c in ET.parse(sys.argv[1]).getroot().iter("testcase") if c.find("error") is not None]
assert len(errors) == 1 and errors[0].get("name") == "z_bad.json[load]" and "/faults/0/kind" in errors[0].find("error").text
PY
rm "$TMP/suite/z_bad.json"
expect_status 0 "conformance of one file" -- "$KEEL" conformance "$TMP/suite/a_passing.json" --seeds 1
"$KEEL" conformance --seeds 1 --jobs 2 >"$TMP/out" 2>"$TMP/err"
status=$?
if [ "$status" -le 1 ] && grep -q "seed 1 trace_hash" "$TMP/out"; then pass "conformance finds the bundled suite (exit $status)"; else
  fail "conformance of the bundled suite: exit $status"; head "$TMP/err" >&2; fi

# ---- shrink ------------------------------------------------------------------------------------
expect_status 1 "shrink of a passing run" -- "$KEEL" shrink "$TMP/passing.json" --seed 3
expect_status 2 "shrink of a bad file" -- "$KEEL" shrink "$TMP/bad.json"
expect_status 0 "shrink of a failing run" -- "$KEEL" shrink "$TMP/failing.json" --seed 4 --preset camel_parity -o "$TMP/small.json"
contains "$TMP/out" "replay: keel run $TMP/small.json --seed 4 --preset camel_parity" "shrink prints the replay command"
contains "$TMP/out" "removed" "shrink says what it removed"
expect_status 0 "the shrunk scenario validates" -- "$KEEL" validate "$TMP/small.json"
expect_status 1 "the shrunk scenario still fails" -- "$KEEL" run "$TMP/small.json" --seed 4 --preset camel_parity --json
if py "$TMP/out" "$TMP/failing.json" "$TMP/small.json" <<'PY'; then pass "the shrunk scenario is smaller and fails the same expectation"; else fail "shrunk scenario"; fi
import json, sys
report, before, after = (json.load(open(p)) for p in sys.argv[1:])
assert [e["name"] for e in report["expectations"] if not e["passed"]] == ["success_rate_min"]
assert len(after["faults"]) < len(before["faults"]), after["faults"]
assert after["workload"]["count"] * after["workload"]["steps"] < before["workload"]["count"] * before["workload"]["steps"]
assert list(after["expect"]) == ["success_rate_min"]          # the passing expectations are gone
assert "spare" not in [p["name"] for p in after["providers"]] or "search" not in [t["name"] for t in after["tools"]]
PY
expect_status 0 "shrink with the default output name" -- "$KEEL" shrink "$TMP/failing.json" --seed 4 --preset camel_parity
[ -f "$TMP/failing.shrunk.json" ] && pass "default output is FILE.shrunk.json" || fail "no $TMP/failing.shrunk.json"

# ---- the README's "Write your first scenario" does what the README says ------------------------
awk '/^## Write your first scenario/ {on = 1} on && /^```json/ {grab = 1; next} grab && /^```/ {exit} grab' \
  "$SRC/README.md" >"$TMP/outage.json"
expect_status 0 "the README's first scenario validates" -- "$KEEL" validate "$TMP/outage.json"
expect_status 0 "the README's first scenario passes under keel_default" -- "$KEEL" run "$TMP/outage.json"
contains "$TMP/out" "recovery" "its report shows recovery times"
expect_status 1 "and fails under camel_parity, as the README says" -- "$KEEL" run "$TMP/outage.json" --preset camel_parity

echo
if [ "$failures" -eq 0 ]; then echo "cli_test: all passed"; exit 0; fi
echo "cli_test: $failures failed" >&2
exit 1
