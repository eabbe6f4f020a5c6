#!/usr/bin/env bash
# tests/live/call/call_stream_verdicts.sh KEEL_BINARY — `keel call` against `keel serve`
# reproduces, on the wire, the verdicts of the stream scenarios (scenarios/suite/stream_*):
# real sockets, real SSE framing, keel's live transport and runtime policies, both ends at
# time scale F (every scenario and preset duration x F).
#   keel_default: a cut stream is never a truncated success (retried, then the next model);
#   a stream without its sentinel is a success without a retry; a silent route (no answer, or
#   no first token) costs one attempt timeout, then the next model at once; a stalled stream is
#   given up at the idle timeout; one malformed event neither fails the answer nor drops
#   content; a content-policy refusal is not retried on the same model; a first token 20 s
#   late is waited for; a whole (non-streamed) answer's silent route also moves on at once.
#   camel_parity: a cut stream fails the call (stream_recovery fail: no retry, no fallback,
#   scenarios/FORMAT.md); a stream without its sentinel is accepted.
set -uo pipefail
keel=$1
here=$(cd "$(dirname "$0")" && pwd)
F=0.02                      # time scale of both ends
# keel_default's timeouts.idle (15 s) at scale F: a stalled attempt ends that long after its
# last event, which comes at the stalled provider's latency (1 s x F; token_interval 0).
STALL_BOUND_MS=$(awk -v f="$F" 'BEGIN { print 15000 * f }')
LAST_EVENT_MS=$(awk -v f="$F" 'BEGIN { print 1000 * f }')
ATTEMPT_MS=$(awk -v f="$F" 'BEGIN { print 30000 * f }')      # keel_default's attempt_timeout (30 s)
FIRST_TOKEN_MS=$(awk -v f="$F" 'BEGIN { print 60000 * f }')  # keel_default's timeouts.first_token (60 s)
SLACK_MS=100                # scheduling on a loaded machine: the give-up is never early, at most this late
# keel call's recorder starts an attempt's clock when the transport is called, a few µs after
# the runtime armed the attempt's limits (19 µs seen under ASan): a give-up measured up to this
# much short of its limit is on time, not early.
RECORDER_LAG_MS=1
source "$here/../shell_common.sh"

"$keel" serve "$here/call_stream_verdicts.json" --time-scale "$F" --log >"$tmp/urls" 2>"$tmp/serve.log" &
pid=$!
for _ in $(seq 100); do [[ $(wc -l <"$tmp/urls") -ge 9 ]] && break; sleep 0.1; done
port=$(sed -nE 's|^healthy openai http://127\.0\.0\.1:([0-9]+)/healthy/v1$|\1|p' "$tmp/urls")
[[ -n $port ]] || { cat "$tmp/serve.log"; echo "FAIL: keel serve did not start"; exit 1; }

# call PRESET MODEL...: one streamed request (a whole one when $mode is "whole"); sets status,
# json, outcomes ("a,b"), durations (ms, "x,y"), answer_len, model.
mode=stream
call() {
  local preset=$1
  shift
  local models=()
  for m in "$@"; do models+=(--model "$m"); done
  local stream=(--stream)
  [[ $mode == whole ]] && stream=()
  "$keel" call --base-url "http://127.0.0.1:$port/v1" "${models[@]}" --preset "$preset" "${stream[@]}" --json \
    --time-scale "$F" "Hello there" >"$tmp/out" 2>"$tmp/err"
  status=$?
  json=$(cat "$tmp/out")
  outcomes=$(grep -o '"outcome":"[a-z_]*"' <<<"$json" | cut -d'"' -f4 | paste -sd,)
  durations=$(grep -o '"duration_ms":[0-9.]*' <<<"$json" | cut -d: -f2 | paste -sd,)
  model=$(grep -o '^{"answer":"[^"]*","model":"[^"]*"' <<<"$json" | sed -E 's/.*"model":"([^"]*)"$/\1/')
  answer_len=$(grep -o '^{"answer":"[^"]*"' <<<"$json" | sed -E 's/^\{"answer":"//; s/"$//' | tr -d '\n' | wc -c)
  echo "     $preset $*: exit $status, attempts $outcomes, durations $durations ms, model $model, answer $answer_len bytes"
}
is() { [[ $1 == "$2" ]]; }
# every duration (ms) of the list in $1 is within [$2, $3]
durations_within() {
  local d
  for d in ${1//,/ }; do
    awk -v d="$d" -v lo="$2" -v hi="$3" -v lag="$RECORDER_LAG_MS" 'BEGIN { exit !(d >= lo - lag && d <= hi) }' || return 1
  done
}

echo "== keel_default"
call keel_default cut healthy
check "cut: the answer is complete (exit 0, 160 bytes from healthy)" is "$status/$answer_len/$model" "0/160/healthy"
check "cut: each cut attempt failed as network, then the next model answered" is "$outcomes" "network,network,network,ok"

call keel_default cut
check "cut, no other model: a failure, never a truncated success" is "$status/$answer_len" "1/0"

call keel_default nodone healthy
check "missing [DONE]: a success on the first attempt, no retry" is "$status/$outcomes/$model/$answer_len" "0/ok/nodone/160"

call keel_default silent healthy
check "silent route: one attempt timeout, then the next model at once" is "$status/$outcomes/$model" "0/timeout,ok/healthy"
check "  ...at the attempt timeout: $ATTEMPT_MS ms (scaled)" \
  durations_within "${durations%%,*}" "$ATTEMPT_MS" "$((ATTEMPT_MS + SLACK_MS))"

call keel_default nofirst healthy
check "no first token: one first-token timeout, then the next model at once" is "$status/$outcomes/$model" "0/timeout,ok/healthy"
check "  ...at the first-token timeout: $FIRST_TOKEN_MS ms (scaled)" \
  durations_within "${durations%%,*}" "$FIRST_TOKEN_MS" "$((FIRST_TOKEN_MS + SLACK_MS))"

call keel_default slowfirst healthy
check "first token 20 s late: waited for (keel_default's first-token limit is 60 s), one attempt" \
  is "$status/$outcomes/$model/$answer_len" "0/ok/slowfirst/160"
check "  ...which took the 21 s (scaled) the first token needed" \
  durations_within "${durations%%,*}" "$(awk -v f="$F" 'BEGIN { print 21000 * f }')" "$((FIRST_TOKEN_MS + SLACK_MS))"

mode=whole
call keel_default silent healthy
check "silent route, whole answer: one attempt timeout, then the next model at once" is "$status/$outcomes/$model" "0/timeout,ok/healthy"
check "  ...at the attempt timeout: $ATTEMPT_MS ms (scaled)" \
  durations_within "${durations%%,*}" "$ATTEMPT_MS" "$((ATTEMPT_MS + SLACK_MS))"
mode=stream

call keel_default stalled healthy
check "stalled stream: the answer comes from the next model" is "$status/$model/$answer_len" "0/healthy/160"
check "stalled stream: each stalled attempt (3 on the model, stream_recovery restart) is a timeout" is "$outcomes" "timeout,timeout,timeout,ok"
check "  ...given up at the idle timeout: $STALL_BOUND_MS ms (scaled) after its last event" \
  durations_within "${durations%,*}" "$((LAST_EVENT_MS + STALL_BOUND_MS))" "$((LAST_EVENT_MS + STALL_BOUND_MS + SLACK_MS))"

call keel_default badchunk
check "one malformed event: the whole answer, one attempt" is "$status/$outcomes/$answer_len" "0/ok/160"

call keel_default filtered healthy
check "content filter: not retried on the same model; the next one answers" is "$status/$outcomes/$model" "0/content_filter,ok/healthy"
call keel_default filtered
check "content filter, no other model: the reason reaches the caller" grep -q "content_filter" "$tmp/err"

echo "== camel_parity"
call camel_parity cut healthy
check "cut: the call fails with the cut, never a truncated success: no retry, no fallback (stream_recovery fail)" \
  is "$status/$outcomes/$answer_len" "1/network/0"
call camel_parity nodone
check "missing [DONE]: accepted (the SDK's behaviour)" is "$status/$outcomes/$answer_len" "0/ok/160"

kill -TERM "$pid"
wait "$pid"
pid=
[[ $failures -eq 0 ]] || cat "$tmp/serve.log"
echo "$failures failure(s)"
exit $((failures > 0))
