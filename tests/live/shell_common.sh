# tests/live/shell_common.sh — sourced by the `keel call` and `keel serve` shell tests: a
# scratch folder $tmp and the pid $pid of a `keel serve` they start, both cleaned up on exit;
# `check DESCRIPTION COMMAND...` prints ok/FAIL and counts failures in $failures.
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
