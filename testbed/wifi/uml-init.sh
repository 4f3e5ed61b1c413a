#!/bin/sh
# PID 1 of the UML Wi-Fi testbed (testbed/wifi/uml.ts boots it: init=<this file>). The root
# filesystem is the host's, read-write, through hostfs: everything this script writes outside the
# tmpfs it mounts lands on the host, so it mounts a tmpfs on /run first (network namespaces, the
# daemons' control sockets, its own files in /run/zhuge-uml) and writes its results only to
# ZHUGE_UML_OUT (a directory the harness made on the host). /tmp stays the host's: the repository
# (the scenario, the medium) may live there, as a CI clone does.
# Kernel command-line words KEY=value arrive here as environment variables:
#   ZHUGE_UML_OUT       results directory (host path)
#   ZHUGE_UML_SCENARIO  a shell script (host path) run after the AP and the station are up
# The AP: hostapd on wlan0 (open network, 802.11n HT20, channel 1). The station: wlan1 moved into
# the network namespace `sta`, wpa_supplicant (ZHUGE_STATIONS=2: also wlan2 in `sta2`). Powers off
# with the reboot system call.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
out=${ZHUGE_UML_OUT:?}
log() { echo "$(cut -d' ' -f1 /proc/uptime) $*" >> "$out/init.log"; }
poweroff_now() {
  sync
  python3 -c 'import ctypes; ctypes.CDLL(None, use_errno=True).reboot(0x4321FEDC)'
}
trap poweroff_now EXIT

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t debugfs debugfs /sys/kernel/debug
mount -t tmpfs tmpfs /run
mkdir -p /run/netns /run/hostapd /run/wpa_supplicant /run/zhuge-uml
etc=/run/zhuge-uml
ip link set lo up
log "init: $(uname -r), $(nproc) cpu"

cat > $etc/hostapd.conf <<CONF
interface=wlan0
driver=nl80211
ssid=zhuge-test
hw_mode=g
channel=1
ieee80211n=1
wmm_enabled=1
ctrl_interface=/run/hostapd
CONF
cat > $etc/wpa.conf <<CONF
ctrl_interface=/run/wpa_supplicant
network={
	ssid="zhuge-test"
	key_mgmt=NONE
	scan_freq=2412
}
CONF

# stations: ZHUGE_STATIONS of them (default 1; the kernel needs mac80211_hwsim.radios = 1 + that):
# station i is phy<i>/wlan<i> in namespace sta (i = 1) or sta<i>
stations=${ZHUGE_STATIONS:-1}
hostapd -B -P /run/hostapd.pid $etc/hostapd.conf > "$out/hostapd.log" 2>&1
t0=$(cut -d' ' -f1 /proc/uptime)
i=1
while [ $i -le "$stations" ]; do
  ns=sta; [ $i -gt 1 ] && ns=sta$i
  ip netns add $ns
  iw phy phy$i set netns name $ns
  ip netns exec $ns ip link set lo up
  ip netns exec $ns wpa_supplicant -B -i wlan$i -c $etc/wpa.conf -f "$out/wpa_supplicant$([ $i -gt 1 ] && echo $i).log"
  i=$((i + 1))
done
# associated: every station connected
connected() {
  j=1
  while [ $j -le "$stations" ]; do
    n=sta; [ $j -gt 1 ] && n=sta$j
    ip netns exec $n iw dev wlan$j link 2>/dev/null | grep -q '^Connected' || return 1
    j=$((j + 1))
  done
  return 0
}
i=0
while [ $i -lt 200 ]; do
  if connected; then break; fi
  sleep 0.05
  i=$((i + 1))
done
t1=$(cut -d' ' -f1 /proc/uptime)
if connected; then
  log "associated ($stations station(s)) after $(echo "$t1 - $t0" | bc) s"
  echo associated > "$out/state"
else
  log "not associated after $(echo "$t1 - $t0" | bc) s"
  echo not-associated > "$out/state"
fi
if [ -n "${ZHUGE_UML_SCENARIO:-}" ]; then
  log "scenario $ZHUGE_UML_SCENARIO"
  sh "$ZHUGE_UML_SCENARIO" > "$out/scenario.log" 2>&1
  log "scenario exit $?"
fi
log "power off"
