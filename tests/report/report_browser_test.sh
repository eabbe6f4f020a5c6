#!/usr/bin/env bash
# tests/report/report_browser_test.sh KEEL SOURCE_DIR — `keel report` pages in a real browser.
#   1. every suite scenario gives a page (exit 0) that refers to nothing outside itself;
#   2. `keel run --report-data` + `keel report RUN.json` gives the same bytes as `keel report FILE`;
#      a plain `--json` output is refused (exit 2) with a message naming --report-data;
#   3. headless Chromium loads every page (in iframes of one harness page, one browser start):
#      each must end with data-render="ok" (the page's own marker; a script error sets "error"),
#      and a deliberately broken page must end otherwise (the check can fail);
#   4. a screenshot of one page is not blank: grey-level variance and distinct levels above a
#      floor that a white page (variance 0) and a page of plain text do not reach.
# Exits 77 (ctest SKIP_RETURN_CODE) only when no Chromium is installed (scripts/setup.sh
# installs Debian's `chromium`).
set -uo pipefail
keel=$1
source_dir=$2
suite=$source_dir/scenarios/suite
here=$(cd "$(dirname "$0")" && pwd)

browser=
for candidate in chromium chromium-browser google-chrome; do
  if command -v "$candidate" >/dev/null; then browser=$candidate; break; fi
done
[[ -n $browser ]] || { echo "SKIPPED: no chromium installed (scripts/setup.sh installs it)"; exit 77; }

tmp=$(mktemp -d)
[[ -n ${KEEL_REPORT_KEEP:-} ]] && echo "keeping $tmp"
[[ -n ${KEEL_REPORT_KEEP:-} ]] || trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# Chromium flags: no sandbox (CI runs as root), a throwaway profile, file pages may read their
# iframes (same origin), and time for the scripts to run before the DOM is dumped.
chrome() {
  timeout 300 "$browser" --headless --no-sandbox --disable-gpu --no-first-run --disable-extensions \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$tmp/profile" --allow-file-access-from-files "$@" 2>>"$tmp/chromium.log"
}

# 1. A page per suite scenario, self-contained.
mkdir -p "$tmp/pages"
frames=
count=0
for scenario in "$suite"/*.json; do
  name=$(basename "$scenario" .json)
  page=$tmp/pages/$name.html
  if ! "$keel" report "$scenario" -o "$page" 2>"$tmp/err"; then
    fail "keel report $name: $(cat "$tmp/err")"
    continue
  fi
  if grep -Eq '<link|@import|url\(|(src|href)=' "$page"; then
    fail "$name: the page refers to an outside resource: $(grep -Eo '<link[^>]*|@import[^;]*|url\([^)]*|(src|href)=[^ >]*' "$page" | head -1)"
  fi
  frames+="<iframe src=\"pages/$name.html\" width=\"1200\" height=\"300\"></iframe>"$'\n'
  count=$((count + 1))
done
[[ $count -ge 10 ]] || fail "only $count suite scenarios found in $suite"

# 2. The RUN.json route gives the same page; a plain --json output is refused.
one=$suite/breaker_recovers.json
"$keel" run "$one" --seed 3 --report-data "$tmp/run.json" >/dev/null
"$keel" report "$tmp/run.json" -o "$tmp/from_run.html" || fail "keel report RUN.json failed"
"$keel" report "$one" --seed 3 -o "$tmp/from_file.html" || fail "keel report FILE --seed 3 failed"
cmp -s "$tmp/from_run.html" "$tmp/from_file.html" || fail "keel report RUN.json and FILE differ for the same seed"
"$keel" run "$one" --json >"$tmp/plain.json"
"$keel" report "$tmp/plain.json" -o "$tmp/plain.html" 2>"$tmp/err"
status=$?
[[ $status -eq 2 ]] || fail "keel report on a plain --json output: exit $status, expected 2"
grep -q -- '--report-data' "$tmp/err" || fail "the refusal does not name --report-data: $(cat "$tmp/err")"
"$keel" report "$tmp/run.json" --seed 4 -o "$tmp/x.html" 2>/dev/null
[[ $? -eq 2 ]] || fail "--seed with a RUN.json must be refused (exit 2)"

# 3. Every page renders without a script error; a broken page is caught.
sed 's/"timeline":{/"timeline":{{/' "$tmp/pages/breaker_recovers.html" >"$tmp/pages/zz_broken.html"
frames+='<iframe src="pages/zz_broken.html" width="1200" height="300"></iframe>'
cat >"$tmp/harness.html" <<HTML
<!DOCTYPE html><html><body><pre id="results">pending</pre>
$frames
<script>
window.addEventListener("load", function () {
  var lines = [];
  document.querySelectorAll("iframe").forEach(function (f) {
    var state;
    try { state = f.contentDocument.body.getAttribute("data-render") + " " +
                  f.contentDocument.getElementById("render-status").textContent; }
    catch (e) { state = "unreadable " + e; }
    lines.push("PAGE " + f.getAttribute("src") + " " + state);
  });
  document.getElementById("results").textContent = "\n" + lines.join("\n") + "\n";
});
</script></body></html>
HTML
chrome --virtual-time-budget=30000 --dump-dom "file://$tmp/harness.html" >"$tmp/dom.html"
rendered=$(grep -c '^PAGE pages/[a-z0-9_]*\.html ok keel-report: rendered$' "$tmp/dom.html")
[[ $rendered -eq $count ]] || {
  fail "$rendered of $count pages rendered in $browser"
  grep '^PAGE' "$tmp/dom.html" | grep -v ' ok keel-report: rendered$' | grep -v zz_broken | head -5
  [[ -s $tmp/dom.html ]] || tail -5 "$tmp/chromium.log"
}
grep -q '^PAGE pages/zz_broken.html error keel-report: error' "$tmp/dom.html" ||
  fail "the broken page was not caught: $(grep zz_broken "$tmp/dom.html" | head -1)"

# 4. A screenshot that is not blank.
chrome --window-size=1280,1400 --virtual-time-budget=10000 --screenshot="$tmp/shot.png" \
  "file://$tmp/pages/breaker_recovers.html" >/dev/null
if [[ ! -s $tmp/shot.png ]]; then
  fail "no screenshot written"
else
  read -r width height variance distinct < <(python3 "$here/png_stats.py" "$tmp/shot.png")
  echo "screenshot ${width}x${height}: grey variance $variance, $distinct distinct levels"
  python3 -c "import sys; sys.exit(0 if float('$variance') > 150 and int('$distinct') > 40 else 1)" ||
    fail "the screenshot looks blank (variance $variance, $distinct levels)"
  [[ -n ${KEEL_REPORT_SCREENSHOT:-} ]] && cp "$tmp/shot.png" "$KEEL_REPORT_SCREENSHOT"
fi

if [[ $failures -gt 0 ]]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "ok: $count suite pages rendered in $browser without script errors; RUN.json route identical; screenshot not blank"
