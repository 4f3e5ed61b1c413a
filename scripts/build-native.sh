#!/usr/bin/env bash
# Builds the native addons (NFQUEUE binding, raw IP sender) against the running Node's own headers
# (no download: offline machines), and the native watchdog.
set -euo pipefail
cd "$(dirname "$0")/.."
nodedir=$(node -p 'require("path").resolve(process.execPath, "../..")')
if [[ ! -f "$nodedir/include/node/node_api.h" ]]; then
  echo "build-native: no Node headers under $nodedir/include/node (install the nodejs headers package)" >&2
  exit 4
fi
for addon in native/nfqueue native/rawsock; do
  [[ -f "$addon/binding.gyp" ]] || continue
  npx --no-install node-gyp rebuild --directory "$addon" --nodedir="$nodedir"
done
# the fail-open watchdog: a plain C program (no Node in it, ~1 MB resident)
mkdir -p native/watchdog/build
${CC:-cc} -O2 -Wall -Wextra -o native/watchdog/build/zhuge-watchdog native/watchdog/zhuge-watchdog.c
