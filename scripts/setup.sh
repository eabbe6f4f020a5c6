#!/usr/bin/env bash
# Installs the Debian 12 packages keel builds with. Idempotent: installs only what is missing.
# Runs as root (or with sudo available) on a fresh machine.
set -euo pipefail

packages=(
  g++ cmake ninja-build ccache pkg-config
  libboost-dev nlohmann-json3-dev librapidcheck-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libspdlog-dev libfmt-dev libcli11-dev libssl-dev
  libjemalloc-dev  # the keel command and the benchmarks allocate through jemalloc (README, Performance)
  openssl ca-certificates  # the TLS tests make their CA with the openssl CLI
  chromium python3  # tests/report: `keel report` pages rendered in headless Chromium, screenshot checked
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# tests/live/openai_sdk drives the official `openai` npm client against `keel serve` (Node >= 18;
# Debian's nodejs has no npm of its own). A node already installed another way is kept.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup: installing ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
