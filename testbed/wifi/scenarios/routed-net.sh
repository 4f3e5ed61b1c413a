# Sourced by the scenarios (not run on its own): the routed AP's addressing inside UML. A server
# namespace `srv` behind the AP (veth-ap 192.168.78.1 <-> veth-srv 192.168.78.2), the AP's Wi-Fi
# side 192.168.77.1 on wlan0, the station 192.168.77.2 on wlan1 in namespace `sta`, forwarding on.
ip netns add srv
ip link add veth-ap type veth peer name veth-srv netns srv
ip addr add 192.168.78.1/24 dev veth-ap
ip link set veth-ap up
ip netns exec srv ip link set lo up
ip netns exec srv ip addr add 192.168.78.2/24 dev veth-srv
ip netns exec srv ip link set veth-srv up
ip netns exec srv ip route add default via 192.168.78.1
ip addr add 192.168.77.1/24 dev wlan0
ip netns exec sta ip addr add 192.168.77.2/24 dev wlan1
ip netns exec sta ip route add default via 192.168.77.1
sysctl -qw net.ipv4.ip_forward=1
# a second station (ZHUGE_STATIONS=2): 192.168.77.3 on wlan2 in namespace `sta2`
if [ "${ZHUGE_STATIONS:-1}" -ge 2 ]; then
  ip netns exec sta2 ip addr add 192.168.77.3/24 dev wlan2
  ip netns exec sta2 ip route add default via 192.168.77.1
fi
