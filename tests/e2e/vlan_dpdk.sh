#!/usr/bin/env bash
# e2e-timeout: 90
# [dataplane] vlan on net_af_packet (issue 19): the port offers VLAN strip
# and insert (the kernel hands AF_PACKET the tag out of band; the PMD
# reports it in the mbuf and inserts it on TX), so this is the offload path;
# dpdk_vlan_test covers the software path. The client talks through an
# 802.1Q sub-interface (VLAN 100): ARP, ND, echo and plain NTP over IPv4 and
# IPv6 are answered with the tag; untagged frames and VLAN 200 are dropped
# and counted as "vlan".
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init vlan_dpdk
e2e_require_bin ntsd
ns_pair --bare
cat >"$E2E_DIR/vlan_arp.py" <<'PY'
# vlan_arp.py IFACE SRC_IP DST_IP VID: one ARP request for DST_IP (tagged
# with VID unless 0); prints "reply vlan N" (N from the kernel's auxdata, 0
# if untagged) or "noreply" after 1 s.
import socket, struct, sys, time
ifname, src, dst, vid = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
# ETH_P_ALL: a protocol-bound socket gets frames after the kernel has
# cleared an unclaimed VLAN tag; the taps see it, in the auxdata.
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.setsockopt(263, 8, 1)  # SOL_PACKET, PACKET_AUXDATA
s.bind((ifname, 0))
mac = s.getsockname()[4]
arp = struct.pack("!HHBBH6s4s6s4s", 1, 0x0800, 6, 4, 1, mac, socket.inet_aton(src), b"\0" * 6, socket.inet_aton(dst))
tag = struct.pack("!HH", 0x8100, vid) if vid else b""
s.send(b"\xff" * 6 + mac + tag + b"\x08\x06" + arp)
s.settimeout(0.2)
end = time.time() + 1
while time.time() < end:
    try:
        data, anc, _, _ = s.recvmsg(2048, socket.CMSG_SPACE(20))
    except socket.timeout:
        continue
    if len(data) < 42 or data[12:14] != b"\x08\x06" or data[20:22] != b"\x00\x02" or data[28:32] != socket.inet_aton(dst):
        continue
    tci = 0
    for level, typ, val in anc:
        if level == 263 and typ == 8:
            status, _, _, _, _, tci = struct.unpack("IIIHHH", val[:18])
            tci = tci if status & 0x10 else 0  # TP_STATUS_VLAN_VALID
    print("reply vlan %d" % (tci & 0xfff))
    sys.exit(0)
print("noreply")
PY
d=$E2E_DIR/ntsd
mkdir -p "$d"
eal="" ; for a in $E2E_EAL_COMMON "--file-prefix=ntsd-$E2E_NS"; do eal+="${eal:+, }\"$a\""; done
cat >"$d/ntsd.toml" <<TOML
[keys]
file = "$d/ntskeys"

[dataplane]
backend = "dpdk"
workers = 1
eal_args = [$eal]
ports = ["net_af_packet0,iface=$IF_S"]
addresses = ["$S4"]
vlan = 100

[metrics]
listen = "127.0.0.1:9123"
TOML
e2e_spawn ntsd "$NS_S" "$(e2e_bin ntsd)" --config "$d/ntsd.toml"
ntsd_pid=$E2E_LAST_PID
wait_for "! e2e_alive $ntsd_pid || grep -q 'serving NTP' $E2E_DIR/ntsd.log" 20 || true
e2e_alive "$ntsd_pid" || e2e_fail "ntsd exited: $(tail -3 "$E2E_DIR/ntsd.log")"
grep -q "VLAN 100 (tag offloaded)" "$E2E_DIR/ntsd.log" || e2e_fail "the port's log line does not say VLAN 100 with the tag offloaded: $(grep 'DPDK port' "$E2E_DIR/ntsd.log")"
arp() { in_c python3 "$E2E_DIR/vlan_arp.py" "$IF_C" "$C4" "$S4" "$1"; }
metrics() { in_s curl -sf "http://127.0.0.1:9123/metrics"; }
vlan_drops() { metrics | awk '/^ntsd_frames_dropped_total/ && /reason="vlan"/ { s += $NF } END { print s + 0 }'; }
r=$(arp 100)
[ "$r" = "reply vlan 100" ] || e2e_fail "ARP request on VLAN 100: got '$r'"
before=$(vlan_drops)
r=$(arp 0)
[ "$r" = noreply ] || e2e_fail "an untagged ARP request was answered: $r"
r=$(arp 200)
[ "$r" = noreply ] || e2e_fail "an ARP request on VLAN 200 was answered: $r"
wait_for "[ \$(vlan_drops) -ge $((before + 2)) ]" 5 || e2e_fail "vlan drops: $before -> $(vlan_drops), want 2 more"
[ "$(metrics | awk '/^ntsd_arp_replies_total/ { s += $NF } END { print s + 0 }')" = 1 ] || e2e_fail "want exactly 1 ARP reply"
e2e_pass "VLAN 100 on net_af_packet (tag offloads): tagged ARP answered with VLAN 100; untagged and VLAN 200 dropped and counted"
