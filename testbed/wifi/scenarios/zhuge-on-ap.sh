# Sourced by the TCP scenarios (not run on its own). start_zhuge TCP_ENABLED [ARGS...] writes
# $out/zhuge.yaml (queue.backend mac80211 on wlan0, eth veth-ap, the window clamp for TCP when
# TCP_ENABLED is true, metrics on 127.0.0.1:9469, watchdog.stallMs 1000: UML's one CPU on a
# loaded host stalls the loop for hundreds of ms), starts the daemon with ARGS in the background
# and waits until it says it started (node is slow in UML, slower on a loaded machine: nothing may
# start before its rules are in). Sets zpid and zstart (uptime at the start).
start_zhuge() {
  tcp=$1
  shift
  cat > "$out/zhuge.yaml" <<CONF
interfaces:
  eth: veth-ap
  wlan: wlan0
queue:
  backend: mac80211
flows:
  tcp:
    enabled: $tcp
feedbackUpdater:
  mode: window
watchdog:
  stallMs: 1000
metrics:
  listen: 127.0.0.1:9469
log:
  level: info
CONF
  node "$repo/dist/src/cli.js" run --config "$out/zhuge.yaml" "$@" > "$out/zhuge.log" 2>&1 &
  zpid=$!
  zstart=$(cut -d' ' -f1 /proc/uptime)
  i=0
  while [ $i -lt 1200 ] && ! grep -q '"zhuge started"' "$out/zhuge.log"; do sleep 0.1; i=$((i + 1)); done
  grep -q '"zhuge started"' "$out/zhuge.log" && echo "zhuge started after $((i / 10)) s" || { echo "zhuge did not start"; cat "$out/zhuge.log"; }
}

# tcp_downloads_ready: the TCP scenarios' path from `srv` to the stations (ZHUGE_STATIONS of
# them, routed-net.sh's addresses): no offloads on the paths zhuge taps (GRO would merge
# segments), cubic at the sender, each station reached once and an iperf3 server (one test) on it.
tcp_downloads_ready() {
  ethtool -K veth-ap gro off gso off tso off 2>/dev/null
  ip netns exec srv ethtool -K veth-srv gro off gso off tso off 2>/dev/null
  ip netns exec srv sysctl -qw net.ipv4.tcp_congestion_control=cubic
  j=1
  while [ $j -le "${ZHUGE_STATIONS:-1}" ]; do
    n=sta; [ $j -gt 1 ] && n=sta$j
    ip netns exec srv ping -c 1 -W 2 "192.168.77.$((j + 1))" > /dev/null
    ip netns exec $n iperf3 -s -1 -D
    j=$((j + 1))
  done
}
