#!/usr/bin/env bash
# The recovery benchmark's page and the README's headline are generated: scripts/recovery-doc
# with 2 seeds into copies of docs/recovery.md and README.md must succeed, keep the prose, and
# give the same rows (class, window and preset, in order) as the committed files, which
# therefore came from the command, not from typing.
set -euo pipefail
keel=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp "$src/docs/recovery.md" "$tmp/recovery.md"
cp "$src/README.md" "$tmp/README.md"
"$src/scripts/recovery-doc" "$keel" 2 "$tmp/recovery.md" "$tmp/README.md"
rows() { grep -E '^\| recovery_|^\| openai_' "$1" | cut -d'|' -f2-4; }
diff <(rows "$src/docs/recovery.md") <(rows "$tmp/recovery.md") || { echo "docs/recovery.md rows differ from the command's"; exit 1; }
# One row per fault window and preset: 9 files of one window and one of three, x 2 presets.
[ "$(rows "$tmp/recovery.md" | wc -l)" -eq 24 ] || { echo "expected 24 rows ((9 + 3) windows x 2 presets)"; exit 1; }
# The prose outside the markers is kept exactly.
strip() { sed '/keel recovery: begin/,/keel recovery: end/d' "$1"; }
diff <(strip "$src/docs/recovery.md") <(strip "$tmp/recovery.md")
# The README's headline: generated too (the same rows: class and fault window), its prose kept.
head() { sed -n '/keel recovery headline: begin/,/keel recovery headline: end/p' "$1" | grep -E '^\| (recovery_|openai_)' | cut -d'|' -f2-3; }
diff <(head "$src/README.md") <(head "$tmp/README.md") || { echo "README.md's recovery headline differs from the command's"; exit 1; }
[ "$(head "$tmp/README.md" | wc -l)" -eq 12 ] || { echo "expected 12 headline rows (one per fault window)"; exit 1; }
strip_head() { sed '/keel recovery headline: begin/,/keel recovery headline: end/d' "$1"; }
diff <(strip_head "$src/README.md") <(strip_head "$tmp/README.md")
# Every keel_default row of the held-out style outage passed its recovery bounds.
grep -E '^\| openai_outage_recovery \|.*\| keel_default \|.*\| 2/2 \|$' "$tmp/recovery.md" >/dev/null
echo "recovery doc: ok"
