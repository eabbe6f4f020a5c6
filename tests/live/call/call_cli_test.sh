#!/usr/bin/env bash
# tests/live/call/call_cli_test.sh KEEL_BINARY — `keel call` as a command: exit 2 for every bad
# argument (each bound of `keel call --help`), a missing key for a non-loopback endpoint, plain
# http to a non-loopback host; an answer on stdout with exit 0 against `keel serve`; --json;
# --repeat carrying one runtime (the breaker opened by the first requests refuses later ones);
# a failure on stderr with its cause chain, exit 1.
set -uo pipefail
keel=$1
tmp=$(mktemp -d)
pid=
cleanup() {
  [[ -n $pid ]] && kill -KILL "$pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
failures=0
check() {  # check DESCRIPTION COMMAND...
  local what=$1
  shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; failures=$((failures + 1)); fi
}
exits() {  # exits STATUS ARGS... : keel call ARGS exits with STATUS
  local want=$1
  shift
  "$keel" call "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  [[ $got -eq $want ]] || { local args="$*"
  echo "     keel call ${args:0:200} exited $got, want $want: $(head -c 300 "$tmp/err")"; return 1; }
}

url=http://127.0.0.1:9/v1
check "no --model exits 2" exits 2 --base-url "$url" hi
check "no PROMPT exits 2" exits 2 --base-url "$url" --model m
check "an empty PROMPT exits 2" exits 2 --base-url "$url" --model m ""
over_mib() { head -c 1048577 /dev/zero | tr '\0' x | "$keel" call --base-url "$url" --model m - >/dev/null 2>&1; test $? -eq 2; }
check "a PROMPT over 1 MiB (from stdin) exits 2" over_mib
check "17 models exit 2" exits 2 --base-url "$url" $(for i in $(seq 17); do echo --model m$i; done) hi
check "a model given twice exits 2" exits 2 --base-url "$url" --model m --model m hi
check "a model with a space exits 2" exits 2 --base-url "$url" --model "a b" hi
check "a 257-byte model exits 2" exits 2 --base-url "$url" --model "$(head -c 257 /dev/zero | tr '\0' m)" hi
check "an unknown --api exits 2" exits 2 --base-url "$url" --model m --api gemini hi
check "an unknown --preset exits 2" exits 2 --base-url "$url" --model m --preset fast hi
check "--repeat 0 exits 2" exits 2 --base-url "$url" --model m --repeat 0 hi
check "--repeat 100001 exits 2" exits 2 --base-url "$url" --model m --repeat 100001 hi
check "--every 25h exits 2" exits 2 --base-url "$url" --model m --repeat 2 --every 25h hi
check "a malformed --every exits 2" exits 2 --base-url "$url" --model m --repeat 2 --every 5 hi
check "--max-tokens 0 exits 2" exits 2 --base-url "$url" --model m --max-tokens 0 hi
check "--time-scale 0 exits 2" exits 2 --base-url "$url" --model m --time-scale 0 hi
check "a base URL that does not parse exits 2" exits 2 --base-url "ftp://x" --model m hi
check "a base URL over 2048 bytes exits 2" exits 2 --base-url "http://127.0.0.1/$(head -c 2048 /dev/zero | tr '\0' p)" --model m hi
check "plain http to a non-loopback host exits 2" exits 2 --base-url http://example.com/v1 --model m hi
OPENAI_API_KEY= check "no OPENAI_API_KEY for a remote endpoint exits 2" exits 2 --base-url https://api.openai.com/v1 --model m hi
check "  ...and says which variable" grep -q OPENAI_API_KEY "$tmp/err"
ANTHROPIC_API_KEY= check "no ANTHROPIC_API_KEY for a remote Anthropic endpoint exits 2" \
  exits 2 --base-url https://api.anthropic.com/v1 --api anthropic --model m hi
"$keel" call --help >"$tmp/help"
check "--help documents the bounds" grep -q "1..16 distinct models\|1 to 16\|1..100000" "$tmp/help"

cat >"$tmp/s.json" <<'JSON'
{"keel_scenario": 1, "name": "call_cli", "providers": [
  {"name": "gpt", "latency": {"fixed": "100ms"}, "output_tokens": 5},
  {"name": "broken", "latency": {"fixed": "100ms"}},
  {"name": "claude", "api": "anthropic", "latency": {"fixed": "100ms"}, "output_tokens": 5}],
 "faults": [{"target": "broken", "kind": "server_error", "status": 500}],
 "workload": {"kind": "agents"}}
JSON
"$keel" serve "$tmp/s.json" --time-scale 0.1 >"$tmp/urls" 2>"$tmp/log" &
pid=$!
for _ in $(seq 100); do [[ $(wc -l <"$tmp/urls") -ge 3 ]] && break; sleep 0.1; done
port=$(sed -nE 's|^gpt openai http://127\.0\.0\.1:([0-9]+)/gpt/v1$|\1|p' "$tmp/urls")
base=http://127.0.0.1:$port/v1

OPENAI_API_KEY= check "answers from loopback without a key, exit 0" exits 0 --base-url "$base" --model gpt hi
check "  ...the answer on stdout" grep -q "^answer from gpt #0" "$tmp/out"
check "  ...and nothing on stderr" test ! -s "$tmp/err"
stdin_prompt() { echo "hi from stdin" | "$keel" call --base-url "$base" --model gpt - >"$tmp/out" 2>&1 && grep -q "^answer from gpt" "$tmp/out"; }
check "PROMPT - reads stdin" stdin_prompt
check "the provider's own base URL works too" exits 0 --base-url "http://127.0.0.1:$port/gpt/v1" --model any-id hi
check "--api anthropic answers" exits 0 --base-url "$base" --api anthropic --model claude hi
check "  ...the answer on stdout" grep -q "^answer from claude" "$tmp/out"
check "--stream answers" exits 0 --base-url "$base" --model gpt --stream hi
check "  ...the whole answer (20 bytes)" test "$(head -n1 "$tmp/out" | tr -d '\n' | wc -c)" -eq 20

check "--json: a failing model then a fallback, exit 0" exits 0 --base-url "$base" --model broken --model gpt --time-scale 0.1 --json hi
json=$(cat "$tmp/out")
check "  ...one line" test "$(wc -l <"$tmp/out")" -eq 1
check "  ...names the model that answered" grep -q '"model":"gpt"' <<<"$json"
check "  ...and the endpoint" grep -q "\"provider\":\"127.0.0.1:$port\"" <<<"$json"
check "  ...usage" grep -q '"usage":{"prompt_tokens":[0-9]*,"completion_tokens":5}' <<<"$json"
outcomes=$(grep -o '"outcome":"[a-z_]*"' <<<"$json" | cut -d'"' -f4 | paste -sd,)
check "  ...attempts: 3 x server_error on broken, then ok on gpt ($outcomes)" test "$outcomes" = "server_error,server_error,server_error,ok"
check "  ...each attempt with its start and duration" test "$(grep -o '"start_ms":[0-9.]*,"duration_ms":[0-9.]*' <<<"$json" | wc -l)" -eq 4
check "  ...error null" grep -q '"error":null}$' <<<"$json"

check "every model failing exits 1" exits 1 --base-url "$base" --model broken --preset camel_parity hi
check "  ...the failure on stderr with its cause chain" grep -q "caused by: server_error 500" "$tmp/err"
check "  ...nothing on stdout" test ! -s "$tmp/out"
check "an unknown model exits 1 (404 from the gateway route)" exits 1 --base-url "$base" --model nosuch hi

# One runtime for every request: keel_default's breaker (min 10 calls, 50 %) opens on broken
# during the first 4 requests (3 attempts each), so later requests skip it without a request.
check "--repeat 6 --json exits 0" exits 0 --base-url "$base" --model broken --model gpt --time-scale 0.1 --repeat 6 --every 10ms --json hi
check "  ...one line per request" test "$(wc -l <"$tmp/out")" -eq 6
check "  ...each with its start_ms" test "$(grep -c '^{"start_ms":' "$tmp/out")" -eq 6
check "  ...the breaker refuses broken in the last request" grep -q '"outcome":"circuit_open"' <(tail -n1 "$tmp/out")
check "  ...after which gpt answers" grep -q '"model":"gpt"' <(tail -n1 "$tmp/out")

kill -TERM "$pid"
wait "$pid"
pid=
echo "$failures failure(s)"
exit $((failures > 0))
