#!/usr/bin/env bash
# tests/live/openai_sdk/run.sh KEEL_BINARY — the official `openai` npm client against `keel
# serve`. npm-installs the package into a temporary folder; exits 77 (ctest SKIP_RETURN_CODE)
# when node/npm are missing or the npm registry is unreachable — never a pass without running.
set -uo pipefail
keel=$1
here=$(cd "$(dirname "$0")" && pwd)
openai_version=${KEEL_OPENAI_NPM_VERSION:-4}

tmp=$(mktemp -d)
server_pid=
cleanup() {
  if [[ -n $server_pid ]] && kill -0 "$server_pid" 2>/dev/null; then kill -KILL "$server_pid"; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

skip() { echo "SKIPPED: $*"; exit 77; }
command -v node >/dev/null && command -v npm >/dev/null || skip "node and npm are not installed"
node_major=$(node -p 'process.versions.node.split(".")[0]')
(( node_major >= 18 )) || skip "node $node_major is too old (need >= 18)"
timeout 30 npm ping >/dev/null 2>&1 || skip "the npm registry is unreachable"
if ! (cd "$tmp" && timeout 240 npm install --no-audit --no-fund --silent "openai@$openai_version" >"$tmp/npm.log" 2>&1); then
  cat "$tmp/npm.log"
  echo "FAIL: npm install openai@$openai_version failed although the registry answered"
  exit 1
fi
echo "openai npm package $(node -p "require('$tmp/node_modules/openai/package.json').version")"

"$keel" serve "$here/openai_sdk.json" --time-scale 0.5 --log >"$tmp/urls" 2>"$tmp/serve.log" &
server_pid=$!
for _ in $(seq 100); do
  [[ $(wc -l <"$tmp/urls") -ge 7 ]] && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$tmp/serve.log"; echo "FAIL: keel serve exited"; exit 1; }
  sleep 0.1
done
cat "$tmp/urls"

cp "$here/openai_sdk_test.mjs" "$tmp/"
node "$tmp/openai_sdk_test.mjs" "$tmp/urls"
status=$?

kill -TERM "$server_pid"
if ! wait "$server_pid"; then
  echo "FAIL: keel serve did not stop cleanly on SIGTERM"
  status=1
fi
server_pid=
cat "$tmp/serve.log"
exit $status
