#!/usr/bin/env bash
# Builds the User-Mode Linux kernel of the Wi-Fi testbed (issue 17; testbed/wifi/): Debian's
# linux-source-6.12 as ARCH=um with cfg80211, mac80211 (and its debugfs) and mac80211_hwsim built
# in, plus our hwsim change (testbed/wifi/hwsim-pending-limit.patch: back-pressure from the
# medium, so the queue forms in mac80211's TXQs). ~11.5 min on 2 cores the first time; the
# stripped binary is cached under ZHUGE_UML_CACHE (default /var/cache/zhuge-uml), keyed on the
# source package version, the config fragment and the patch, so later runs take seconds.
#
#   scripts/build-uml.sh            # prints the path of the kernel binary
#
# Needs root for apt (linux-source-6.12 from bookworm-security, flex, bison, bc, hostapd,
# wpasupplicant, iw) when they are missing.
#   scripts/build-uml.sh --cached-only   # the path if that kernel is built, else exit 1 (no build)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
cache=${ZHUGE_UML_CACHE:-/var/cache/zhuge-uml}
src_pkg=linux-source-6.12
if [[ "${1:-}" == --cached-only ]]; then
  version=$(dpkg-query -W -f='${Version}' "$src_pkg" 2>/dev/null) || exit 1
  key=$( (echo "$version"; cat testbed/wifi/uml.config testbed/wifi/*.patch) | sha256sum | cut -c1-16)
  [[ -x "$cache/linux-$key" ]] || exit 1
  echo "$cache/linux-$key"
  exit 0
fi
if [[ $(id -u) -ne 0 ]] && ! dpkg-query -W -f='${Status}' "$src_pkg" 2>/dev/null | grep -q 'install ok installed'; then
  echo "build-uml: $src_pkg is not installed and this is not root: the Wi-Fi testbed's kernel is not built" >&2
  exit 4
fi
packages=("$src_pkg" flex bison bc xz-utils hostapd wpasupplicant iw)
missing=()
for p in "${packages[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
if (( ${#missing[@]} > 0 )); then
  echo "build-uml: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
version=$(dpkg-query -W -f='${Version}' "$src_pkg")
key=$( (echo "$version"; cat testbed/wifi/uml.config testbed/wifi/*.patch) | sha256sum | cut -c1-16)
out="$cache/linux-$key"
if [[ -x "$out" ]]; then
  echo "$out"
  exit 0
fi
mkdir -p "$cache"
work=$(mktemp -d "${TMPDIR:-/tmp}/zhuge-uml.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "build-uml: building $src_pkg $version as ARCH=um (key $key; ~12 min on 2 cores)" >&2
tar -xJf "/usr/src/$src_pkg.tar.xz" -C "$work"
cd "$work/$src_pkg"
for p in "$repo"/testbed/wifi/*.patch; do patch -p1 --quiet < "$p"; done
make ARCH=um defconfig >/dev/null
opts=()
while IFS= read -r line; do
  line=${line%%#*}
  [[ "$line" =~ ^([A-Z0-9_]+)=([yn]|[0-9]+)$ ]] || continue
  case ${BASH_REMATCH[2]} in
    y) opts+=(--enable "${BASH_REMATCH[1]}") ;;
    n) opts+=(--disable "${BASH_REMATCH[1]}") ;;
    *) opts+=(--set-val "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}") ;;
  esac
done < "$repo/testbed/wifi/uml.config"
scripts/config "${opts[@]}"
make ARCH=um olddefconfig >/dev/null
# every option asked for must have survived olddefconfig (a missing dependency drops it silently)
lost=()
while IFS= read -r line; do
  line=${line%%#*}
  [[ "$line" =~ ^([A-Z0-9_]+)=(y|[0-9]+)$ ]] || continue
  grep -q "^CONFIG_${BASH_REMATCH[1]}=${BASH_REMATCH[2]}$" .config || lost+=("${BASH_REMATCH[1]}")
done < "$repo/testbed/wifi/uml.config"
if (( ${#lost[@]} > 0 )); then echo "build-uml: options not set after olddefconfig: ${lost[*]}" >&2; fi
make ARCH=um -j"$(( $(nproc) + 1 ))" linux >"$work/build.log" 2>&1 || { tail -40 "$work/build.log" >&2; exit 1; }
strip -o "$out.tmp" linux
mv "$out.tmp" "$out"
cp .config "$out.config"
echo "$out"
