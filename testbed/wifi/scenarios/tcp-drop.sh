#!/bin/sh
# Scenario run inside UML by uml-init.sh once the station is associated: a TCP download through
# the AP while the Wi-Fi rate drops, with or without zhuge (queue.backend mac80211, the window
# clamp) on the AP, or with zhuge observing only (ZHUGE_ARM=observe: the daemon runs, TCP untreated:
# what the daemon itself costs UML's one CPU). A server namespace `srv` behind the AP (veth, routed) sends with iperf3
# (cubic) to the station for TCP_SECONDS (default 14); the medium follows MEDIUM_PROFILE (default
# "0:6,5:1.5": 6 Mbit/s, 1.5 from 5 s after the medium registered; the transfer starts right after). ZHUGE_ARM=with starts the daemon before the transfer.
# Results in $ZHUGE_UML_OUT: iperf.json (the sender's view, 200 ms intervals: srtt, cwnd,
# retransmissions), aqm.txt ("<uptime> <backlog bytes> <backlog packets>" of the station's TXQs
# every 100 ms: the ground truth), medium.log, and with zhuge its log, status.json and metrics.txt.
set -u
out=$ZHUGE_UML_OUT
repo=$ZHUGE_REPO
arm=${ZHUGE_ARM:-without}
profile=${MEDIUM_PROFILE:-0:6,5:1.5}
secs=${TCP_SECONDS:-14}
. "$(dirname "$0")/routed-net.sh"
. "$(dirname "$0")/zhuge-on-ap.sh"
tcp_downloads_ready
zpid=
if [ "$arm" = with ] || [ "$arm" = observe ]; then
  tcp=true
  [ "$arm" = observe ] && tcp=false
  start_zhuge $tcp
fi
# the medium registers only now: until then hwsim delivers at once (association, the ping)
node "$repo/dist/testbed/wifi/medium.js" --profile "$profile" --radios 2 --log "$out/medium.log" > "$out/medium.out" 2>&1 &
medium=$!
# node takes a second or more to start in UML: the transfer must not begin on hwsim's perfect channel
i=0
while [ $i -lt 100 ] && ! grep -q registered "$out/medium.out"; do sleep 0.1; i=$((i + 1)); done
grep -q registered "$out/medium.out" || echo "the medium did not register"
sta=$(ls /sys/kernel/debug/ieee80211/phy0/netdev:wlan0/stations/ | head -n 1)
aqm=/sys/kernel/debug/ieee80211/phy0/netdev:wlan0/stations/$sta/aqm
( end=$(( $(cut -d. -f1 /proc/uptime) + secs + 2 ))
  while [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do
    awk -v t="$(cut -d' ' -f1 /proc/uptime)" 'NR > 1 { b += $3; p += $4 } END { print t, b, p }' "$aqm" >> "$out/aqm.txt"
    sleep 0.1
  done ) &
sampler=$!
# evidence runs (STATUS_SAMPLES=1): zhuge's own view of the station queue every 100 ms, beside aqm.txt
if [ -n "$zpid" ] && [ "${STATUS_SAMPLES:-0}" = 1 ]; then
  ( end=$(( $(cut -d. -f1 /proc/uptime) + secs + 1 ))
    while [ "$(cut -d. -f1 /proc/uptime)" -lt "$end" ]; do
      echo "$(cut -d' ' -f1 /proc/uptime) $(curl -s http://127.0.0.1:9469/status)" >> "$out/status-samples.txt"
      sleep 0.1
    done ) &
fi
# UML's one CPU, shared with the medium and iperf3 on a loaded host, can stall the daemon's event
# loop for hundreds of ms (stallMs 1000 above, not the 200 ms default); a stall removes the rules
# (fail-open, as it must) and a handshake passing meanwhile leaves its flow unclamped: said here
if [ -n "$zpid" ]; then
  trips=$(curl -s http://127.0.0.1:9469/metrics | awk '$1 == "zhuge_watchdog_trips_total" { print $2 }')
  echo "watchdog trips before the transfer: ${trips:-unknown}"
fi
echo "transfer from $(cut -d' ' -f1 /proc/uptime)"
ip netns exec srv iperf3 -c 192.168.77.2 -t "$secs" -i 0.2 -J -C cubic > "$out/iperf.json" 2> "$out/iperf.err"
echo "transfer done $(cut -d' ' -f1 /proc/uptime)"
if [ -n "$zpid" ]; then
  node -e "Promise.all([fetch('http://127.0.0.1:9469/status').then(r=>r.text()), fetch('http://127.0.0.1:9469/metrics').then(r=>r.text())]).then(([s,m])=>{require('fs').writeFileSync('$out/status.json',s);require('fs').writeFileSync('$out/metrics.txt',m)})"
  # the daemon's CPU time (utime + stime, clock ticks) and the ticks per second, for its cost
  echo "$(cut -d' ' -f14,15 /proc/$zpid/stat) $(getconf CLK_TCK) $zstart $(cut -d' ' -f1 /proc/uptime)" > "$out/zhuge-cpu.txt"
  kill "$zpid"
  wait "$zpid" 2>/dev/null
fi
wait $sampler
# what one reading of a station's aqm file costs here (node, as the daemon reads it)
node -e "const fs=require('fs');const f='$aqm';let n=0;const t=process.hrtime.bigint();for(let i=0;i<2000;i++)n+=fs.readFileSync(f,'utf8').length;console.log(Number(process.hrtime.bigint()-t)/2000/1000)" > "$out/aqm-read-us.txt" 2>&1
kill $medium
wait $medium 2>/dev/null
echo done
