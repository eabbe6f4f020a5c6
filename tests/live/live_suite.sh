#!/usr/bin/env bash
# keel run --live on bundled suite scenarios: each must pass on the simulator AND live (real
# time, HTTP to an in-process `keel serve` on loopback) at its time scale, in under 10 s of
# wall time. Scenarios whose expectations sit exactly on a simulated latency (e.g. "max":
# "2s" for a fixed 2 s latency) cannot hold over a real network and are not listed. Scales
# are as large as a few seconds of wall time allow: loopback overhead in scenario time is the
# real overhead divided by the scale.
# Usage: live_suite.sh KEEL SUITE_DIR
set -u
keel=$1
suite=$2
# name  time-scale  [extra flags]
cases=(
  "rate_limit_backoff 0.5"
  "anthropic_429 0.4"
  "anthropic_529_overloaded 0.5"
  "hanging_primary 0.02"
  "hanging_primary 0.02 --stream"
  "network_reset_retried 0.15"
  "malformed_response_retried 0.15"
  "quota_exhausted 0.5"
  "overflow_summarize 0.25"
  "context_window_fallback 0.25"
  "server_error_storm_breaker 0.018"
  "breaker_recovers 0.04"
  "slow_provider_no_retry 0.1"
  "rpm_limit 0.04"
  "tpm_limit 0.04"
)
failed=0
for c in "${cases[@]}"; do
  read -r name scale extra <<<"$c"
  file="$suite/$name.json"
  if ! "$keel" run "$file" >/dev/null; then
    echo "FAIL $name: does not pass on the simulator"; failed=1; continue
  fi
  start=$(date +%s%N)
  out=$(timeout 30 "$keel" run "$file" --live --time-scale "$scale" ${extra:-} 2>&1)
  rc=$?
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  if [[ $rc -ne 0 ]]; then
    echo "FAIL $name (live, scale $scale ${extra:-}): exit $rc after ${ms} ms"; echo "$out" | grep -E "FAIL|tasks|calls" | sed 's/^/    /'
    failed=1
  elif (( ms > 10000 )); then
    echo "FAIL $name (live): ${ms} ms of wall time (limit 10 s)"; failed=1
  else
    echo "ok   $name (live, scale $scale ${extra:-}) ${ms} ms"
  fi
done
exit $failed
