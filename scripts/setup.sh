#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks (as root), then the npm dependencies, then builds.
# Idempotent: re-running it on a set-up machine only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(gcc libc6-dev libpcap-dev iptables ebtables iproute2 ethtool iperf3 iputils-ping tshark prometheus python3 chromium curl openssl ngtcp2-server ngtcp2-client)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing Debian packages: ${missing[*]} (run as root, or install them)" >&2
    exit 4
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

npm ci --no-fund --no-audit
npm run build
