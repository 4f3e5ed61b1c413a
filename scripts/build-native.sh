#!/usr/bin/env bash
# Builds the NFQUEUE addon against the running Node's own headers (no download: offline machines).
set -euo pipefail
cd "$(dirname "$0")/.."
nodedir=$(node -p 'require("path").resolve(process.execPath, "../..")')
if [[ ! -f "$nodedir/include/node/node_api.h" ]]; then
  echo "build-native: no Node headers under $nodedir/include/node (install the nodejs headers package)" >&2
  exit 4
fi
exec npx --no-install node-gyp rebuild --directory native/nfqueue --nodedir="$nodedir"
