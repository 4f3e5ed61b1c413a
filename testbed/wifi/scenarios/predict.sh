#!/bin/sh
# Scenario run inside UML by uml-init.sh (ZHUGE_STATIONS=2) once both stations are associated:
# does zhuge's mac80211 backend predict the delay of the packets queued in each station's TXQs?
# Two TCP downloads (cubic) from the server namespace `srv` behind the AP, one to each station, for
# TCP_SECONDS (default 10), the one to station 1 paced at STA1_PACE when set (iperf3 -b); the medium
# gives station 1 STA1_PROFILE (default 0:3 Mbit/s) and station 2 STA2_PROFILE (default 0:1). zhuge runs on the AP with queue.backend mac80211, observing
# only (flows.tcp.enabled false: the queues are the senders' own) and --prediction-log
# (ZHUGE_ARM=without: no zhuge, the testbed alone).
# Results in $ZHUGE_UML_OUT: predictions.log (the daemon's prediction per packet, by match key),
# medium.log (its "d" lines: each IP packet's delivery to its station, by the same key), the
# daemon's log and status.json, iperf-1.json / iperf-2.json.
set -u
out=$ZHUGE_UML_OUT
repo=$ZHUGE_REPO
secs=${TCP_SECONDS:-10}
. "$(dirname "$0")/routed-net.sh"
. "$(dirname "$0")/zhuge-on-ap.sh"
tcp_downloads_ready
zpid=
[ "${ZHUGE_ARM:-with}" = with ] && start_zhuge false --prediction-log "$out/predictions.log"
node "$repo/dist/testbed/wifi/medium.js" --radios 3 --station "1=${STA1_PROFILE:-0:3}" --station "2=${STA2_PROFILE:-0:1}" --log "$out/medium.log" --keys > "$out/medium.out" 2>&1 &
medium=$!
i=0
while [ $i -lt 100 ] && ! grep -q registered "$out/medium.out"; do sleep 0.1; i=$((i + 1)); done
grep -q registered "$out/medium.out" || echo "the medium did not register"
echo "transfer from $(cut -d' ' -f1 /proc/uptime)"
ip netns exec srv iperf3 -c 192.168.77.2 -t "$secs" -i 1 -J -C cubic ${STA1_PACE:+-b $STA1_PACE} > "$out/iperf-1.json" 2> "$out/iperf-1.err" &
one=$!
ip netns exec srv iperf3 -c 192.168.77.3 -t "$secs" -i 1 -J -C cubic > "$out/iperf-2.json" 2> "$out/iperf-2.err"
wait $one
echo "transfer done $(cut -d' ' -f1 /proc/uptime)"
if [ -n "$zpid" ]; then
  curl -s http://127.0.0.1:9469/status > "$out/status.json"
  kill "$zpid"
  wait "$zpid" 2>/dev/null
fi
kill $medium
wait $medium 2>/dev/null
echo done
