#!/usr/bin/env bash
# Installs keel from BUILD_DIR into a temporary prefix and builds examples/ against the installed
# package (find_package(keel); keel::runtime keel::live keel::config). Then:
#  - openai_fallback (keel_default) against closed loopback ports: it must try OpenAI, fall back
#    to Anthropic, and exit 1 with both failures named — and with no key in its output;
#  - effective_config, a program built on the installed presets and config loader, prints for
#    suite scenarios, service files and presets exactly what `keel config --json` prints;
#  - agent_tools, configured from the runtime block of the scenario `keel serve` plays: its
#    agent streams, falls back from the failing primary, calls its tool, and answers.
set -euo pipefail
build=$1
source=$2
prefix=$(mktemp -d /tmp/keel-install-XXXXXX)
trap 'rm -rf "$prefix"' EXIT

cmake --install "$build" --prefix "$prefix/usr" >/dev/null
test -f "$prefix/usr/lib/cmake/keel/keelConfig.cmake"
test -f "$prefix/usr/include/keel/live/http_transport.h"
test -f "$prefix/usr/include/keel/config/presets.h"
test -f "$prefix/usr/include/keel/config/config_file.h"
keel=$build/cli/keel

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$source/examples" -B "$prefix/example" "${generator[@]}" "${launcher[@]}" \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$prefix/usr" >/dev/null
cmake --build "$prefix/example" -j2 >/dev/null

# No key: a configuration error (exit 2) that names the variable.
set +e
out=$(env -u OPENAI_API_KEY "$prefix/example/openai_fallback" 2>&1); status=$?
set -e
[ "$status" -eq 2 ] || { echo "expected exit 2 without a key, got $status: $out"; exit 1; }
grep -q "OPENAI_API_KEY is not set" <<<"$out"

# Both providers on closed ports: fallback happens, both fail, exit 1, the key never printed.
port=9  # discard: nothing listens on loopback
set +e
out=$(OPENAI_API_KEY=sk-install-test-secret OPENAI_BASE_URL="http://127.0.0.1:$port/v1" \
      ANTHROPIC_API_KEY=sk-ant-install-test-secret ANTHROPIC_BASE_URL="http://127.0.0.1:$port/v1" \
      timeout 60 "$prefix/example/openai_fallback" "hi" 2>&1); status=$?
set -e
[ "$status" -eq 1 ] || { echo "expected exit 1 with closed ports, got $status: $out"; exit 1; }
grep -q "all 2 models failed" <<<"$out" || { echo "no fallback chain in: $out"; exit 1; }
grep -q "provider=anthropic" <<<"$out" || { echo "anthropic not tried: $out"; exit 1; }
if grep -q "install-test-secret" <<<"$out"; then echo "a key was printed: $out"; exit 1; fi
# The installed loader gives the configuration `keel config` (and so `keel run`) gives.
cat >"$prefix/service.json" <<'JSON'
{"preset": "camel_parity", "circuit_breaker": {"min_calls": 5}, "timeouts": {"attempt": "20s"},
 "bulkhead": {"max_concurrent": 8, "max_queue": 16}}
JSON
compare() {  # compare ARGS...: the example's dump equals keel config --json
  "$prefix/example/effective_config" "$@" >"$prefix/mine.json" || { echo "effective_config $* failed"; exit 1; }
  "$keel" config "$@" --json >"$prefix/keel.json" || { echo "keel config $* failed"; exit 1; }
  cmp -s "$prefix/mine.json" "$prefix/keel.json" || { echo "effective_config $* differs from keel config:"; diff "$prefix/mine.json" "$prefix/keel.json" | head; exit 1; }
}
compare "$prefix/service.json"
compare "$prefix/service.json" --preset keel_default
compare --preset camel_parity
for f in "$source"/scenarios/suite/client_bulkhead.json "$source"/scenarios/suite/breaker_slow_calls.json; do compare "$f"; done
grep -q '"from": "file"' "$prefix/mine.json"
# A broken file: exit 2 with the pointer.
set +e
out=$("$prefix/example/effective_config" <(echo '{"retry": {"max_attempts": 0}}') 2>&1); status=$?
set -e
[ "$status" -eq 2 ] && grep -q "/retry/max_attempts" <<<"$out" || { echo "bad file: $status $out"; exit 1; }

# The agent example against keel serve playing its scenario.
scenario=$source/examples/agent_tools/scenario.json
"$keel" serve "$scenario" --listen 127.0.0.1:0 >"$prefix/serve.out" 2>"$prefix/serve.err" &
serve=$!
trap 'kill $serve 2>/dev/null; rm -rf "$prefix"' EXIT
for _ in $(seq 100); do [ "$(wc -l <"$prefix/serve.out")" -ge 2 ] && break; sleep 0.1; done
primary=$(awk '$1 == "primary" {print $3}' "$prefix/serve.out")
backup=$(awk '$1 == "backup" {print $3}' "$prefix/serve.out")
[ -n "$primary" ] && [ -n "$backup" ] || { echo "keel serve printed no base URLs: $(cat "$prefix/serve.out" "$prefix/serve.err")"; exit 1; }
out=$(timeout 60 "$prefix/example/agent_tools" "$scenario" "primary=$primary" "backup=$backup" 2>&1) ||
  { echo "agent_tools failed: $out"; exit 1; }
grep -q "tool lookup ran 1 time" <<<"$out" || { echo "the tool did not run once: $out"; exit 1; }
grep -qE "fallbacks [1-9]" <<<"$out" || { echo "no fallback: $out"; exit 1; }
grep -qE "streamed attempts [1-9]" <<<"$out" || { echo "the agent did not stream: $out"; exit 1; }
echo "install + examples: ok"
