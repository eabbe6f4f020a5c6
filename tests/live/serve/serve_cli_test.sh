#!/usr/bin/env bash
# tests/live/serve/serve_cli_test.sh KEEL_BINARY — `keel serve` as a command: exit 2 for a
# non-loopback --listen without --allow-remote, a bad --time-scale or scenario; the base URL
# lines on stdout; an answer over a raw socket; a clean exit 0 on SIGINT and on SIGTERM.
set -uo pipefail
keel=$1
source "$(dirname "$0")/../shell_common.sh"

cat >"$tmp/s.json" <<'JSON'
{"keel_scenario": 1, "name": "cli", "providers": [
  {"name": "gpt", "latency": {"fixed": "100ms"}, "output_tokens": 5},
  {"name": "claude", "api": "anthropic"}], "workload": {"kind": "agents"}}
JSON

"$keel" serve "$tmp/s.json" --listen 0.0.0.0:0 >/dev/null 2>"$tmp/err"
check "non-loopback --listen exits 2" test $? -eq 2
check "the refusal names --allow-remote" grep -q -- "--allow-remote" "$tmp/err"
"$keel" serve "$tmp/s.json" --time-scale 0 >/dev/null 2>&1
check "--time-scale 0 exits 2" test $? -eq 2
"$keel" serve "$tmp/s.json" --listen 127.0.0.1:http >/dev/null 2>&1
check "a bad port exits 2" test $? -eq 2
"$keel" serve "$tmp/missing.json" >/dev/null 2>&1
check "a missing scenario exits 2" test $? -eq 2
"$keel" serve "$tmp/s.json" --tls-cert /nonexistent.pem --tls-key /nonexistent.key >/dev/null 2>&1
check "an unloadable TLS certificate exits 2" test $? -eq 2
"$keel" serve --help >"$tmp/help"
check "--help documents the routes" grep -q "/<name>/v1/chat/completions" "$tmp/help"

for sig in INT TERM; do
  "$keel" serve "$tmp/s.json" --time-scale 0.1 >"$tmp/urls" 2>"$tmp/log" &
  pid=$!
  for _ in $(seq 50); do [[ $(wc -l <"$tmp/urls") -ge 2 ]] && break; sleep 0.1; done
  check "prints one base URL line per provider" grep -qE '^claude anthropic http://127\.0\.0\.1:[0-9]+/claude$' "$tmp/urls"
  port=$(sed -nE 's|^gpt openai http://127\.0\.0\.1:([0-9]+)/gpt/v1$|\1|p' "$tmp/urls")
  body='{"messages":[{"role":"user","content":"hi"}]}'
  if exec 3<>"/dev/tcp/127.0.0.1/$port"; then
    printf 'POST /gpt/v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
      "${#body}" "$body" >&3
    timeout 5 cat <&3 >"$tmp/answer"
    exec 3<&-
  fi
  check "answers a chat completion" grep -q '"object":"chat.completion"' "$tmp/answer"
  # A connection left open (keep-alive, idle) must not stop the server from exiting.
  exec 4<>"/dev/tcp/127.0.0.1/$port"
  kill -"$sig" "$pid"
  timeout 5 bash -c "while kill -0 $pid 2>/dev/null; do sleep 0.05; done"
  wait "$pid"
  check "SIG$sig stops it with exit 0" test $? -eq 0
  exec 4<&-
  pid=
done

(( failures == 0 )) && echo "all checks passed"
exit $(( failures > 0 ))
