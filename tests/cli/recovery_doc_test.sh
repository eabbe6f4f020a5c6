#!/usr/bin/env bash
# The recovery benchmark's page is generated: scripts/recovery-doc with 2 seeds into a copy of
# docs/recovery.md must succeed, keep the prose, and give the same rows (class x preset, in
# order) as the committed page, which therefore came from the command, not from typing.
set -euo pipefail
keel=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$src/docs/recovery.md" "$tmp/recovery.md"
"$src/scripts/recovery-doc" "$keel" 2 "$tmp/recovery.md"
rows() { grep -E '^\| recovery_|^\| openai_' "$1" | cut -d'|' -f2-4; }
diff <(rows "$src/docs/recovery.md") <(rows "$tmp/recovery.md") || { echo "docs/recovery.md rows differ from the command's"; exit 1; }
# One row per fault window and preset: 9 files of one window and one of three, x 2 presets.
[ "$(rows "$tmp/recovery.md" | wc -l)" -eq 24 ] || { echo "expected 24 rows ((9 + 3) windows x 2 presets)"; exit 1; }
# The prose outside the markers is kept exactly.
strip() { sed '/keel recovery: begin/,/keel recovery: end/d' "$1"; }
diff <(strip "$src/docs/recovery.md") <(strip "$tmp/recovery.md")
# Every keel_default row of the held-out style outage passed its recovery bounds.
grep -E '^\| openai_outage_recovery \|.*\| keel_default \|.*\| 2/2 \|$' "$tmp/recovery.md" >/dev/null
echo "recovery doc: ok"
