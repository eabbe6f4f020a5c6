#!/usr/bin/env bash
# Installs keel from BUILD_DIR into a temporary prefix, builds examples/openai_fallback against
# the installed package (find_package(keel); keel::runtime keel::live), and runs it against
# closed loopback ports: it must try OpenAI, fall back to Anthropic, and exit 1 with both
# failures named — and with no key in its output.
set -euo pipefail
build=$1
source=$2
prefix=$(mktemp -d /tmp/keel-install-XXXXXX)
trap 'rm -rf "$prefix"' EXIT

cmake --install "$build" --prefix "$prefix/usr" >/dev/null
test -f "$prefix/usr/lib/cmake/keel/keelConfig.cmake"
test -f "$prefix/usr/include/keel/live/http_transport.h"

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$source/examples/openai_fallback" -B "$prefix/example" "${generator[@]}" "${launcher[@]}" \
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
echo "install + example: ok"
