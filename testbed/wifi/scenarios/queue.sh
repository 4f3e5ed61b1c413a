#!/bin/sh
# Scenario run inside UML by uml-init.sh once the station is associated: where does the queue form?
# A server namespace `srv` behind the AP (veth, routed), the medium at MEDIUM_MBPS (default 4) on
# the air, then a UDP stream srv -> station at ~9 Mbit/s for 3 s while the station's TXQs
# (debugfs aqm) are sampled every 50 ms. Results in $ZHUGE_UML_OUT: aqm.txt ("<uptime> <backlog
# bytes> <backlog packets>"), medium.log (one line per frame: end µs, transmitter, bytes, frames
# still queued in the medium).
set -u
out=$ZHUGE_UML_OUT
repo=$ZHUGE_REPO
mbps=${MEDIUM_MBPS:-4}
. "$(dirname "$0")/routed-net.sh"
node "$repo/dist/testbed/wifi/medium.js" --rate-mbps "$mbps" --radios 2 --log "$out/medium.log" > "$out/medium.out" 2>&1 &
medium=$!
sleep 1
ip netns exec srv ping -c 2 -W 2 192.168.77.2
sta=$(ls /sys/kernel/debug/ieee80211/phy0/netdev:wlan0/stations/ | head -n 1)
aqm=/sys/kernel/debug/ieee80211/phy0/netdev:wlan0/stations/$sta/aqm
( end=$(( $(cut -d. -f1 /proc/uptime) + 5 ))
  while [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do
    awk -v t="$(cut -d' ' -f1 /proc/uptime)" 'NR > 1 { b += $3; p += $4 } END { print t, b, p }' "$aqm" >> "$out/aqm.txt"
    sleep 0.05
  done ) &
sampler=$!
ip netns exec srv python3 -c '
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
end = time.time() + 3
n = 0
while time.time() < end:
    s.sendto(b"x" * 1400, ("192.168.77.2", 9))
    n += 1
    time.sleep(1 / 800)
print("sent", n)
'
wait $sampler
# what mac80211 holds at the end: its queues' stop reasons and the station's TXQs (a stall shows here)
cat /sys/kernel/debug/ieee80211/phy0/queues > "$out/queues-end.txt" 2>&1
cat "$aqm" > "$out/aqm-end.txt" 2>&1
cat /sys/kernel/debug/ieee80211/phy0/aqm > "$out/phy-aqm-end.txt" 2>&1
kill $medium
wait $medium 2>/dev/null
echo done
