#!/usr/bin/env bash
# e2e-timeout: 150
# One address for NTS-KE and NTP (issue 19): ntsd on net_af_packet over a
# veth with [dataplane] exception = "tap", so that frames for the server's
# address that are not NTP reach the kernel through the net_tap interface
# ntsd0, which holds the same address and MAC. Proves:
#   - ntsd-ke listens on the dataplane's own address (TCP 4460 through the
#     exception path), and chrony 4.3 uses ONE name for NTS-KE and NTP (no
#     NTPv4 Server record) and synchronises;
#   - ping (IPv4 and IPv6) and a TCP connection to another port reach the
#     kernel (its counters move, ntsd answers no echo itself);
#   - NTP never goes to the kernel: a kernel UDP socket on port 123 of the
#     same address receives nothing while chrony, sntp and the probe are
#     answered by ntsd;
#   - ntsd-ke's default threads stay off ntsd's worker lcore (CPU placement).
# The veth's own kernel stack is told to ignore the frames (rp_filter, no
# ARP replies, IPv6 off on it), as a NIC bound to vfio-pci has no kernel
# netdev at all; AF_PACKET still sees every frame.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init one_addr
e2e_require_peers
e2e_require_bin ntsd ntsd-ke
probe=$NTSD_SOURCE/tests/dataplane/ntp_probe.py
ns_pair --bare
KE4=$S4 KE6=$S6   # one address: NTS-KE where NTP is
in_s sysctl -qw "net.ipv4.conf.$IF_S.rp_filter=1" "net.ipv4.conf.$IF_S.arp_ignore=8" "net.ipv6.conf.$IF_S.disable_ipv6=1"
make_certs "$E2E_DIR/pki" ntsd.test "$S4" "$S6"
ns_hosts ntsd.test "$S4"

d=$E2E_DIR/ntsd
mkdir -p "$d"
eal="" ; for a in $E2E_EAL_COMMON "--file-prefix=ntsd-$E2E_NS"; do eal+="${eal:+, }\"$a\""; done
cat >"$d/ntsd.toml" <<TOML
[server]
stratum = 1
# This machine's kernel says "unsynchronised": serve it as a local reference.
local_stratum = 1

[ke]
listen = ["$S4", "$S6"]
cert = "$PKI_CERT"
key = "$PKI_KEY"

[keys]
file = "$d/ntskeys"

[dataplane]
backend = "dpdk"
workers = 1
eal_args = [$eal]
ports = ["net_af_packet0,iface=$IF_S"]
addresses = ["$S4", "$S6"]
exception = "tap"
exception_iface = "ntsd0"

[metrics]
listen = "127.0.0.1:9123"
ke_listen = "127.0.0.1:9124"
TOML

# A kernel UDP socket on port 123 of the same address (dual stack): if any
# NTP reached the kernel, it would land here.
cat >"$E2E_DIR/udp123.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
s.bind(("::", 123))
n = 0
open(sys.argv[1], "w").write("0\n")
while True:
    s.recvfrom(2048)
    n += 1
    open(sys.argv[1], "w").write("%d\n" % n)
PY
# A kernel TCP service on another port of the same address.
cat >"$E2E_DIR/tcp2222.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 2222))
s.listen(4)
while True:
    c, _ = s.accept()
    c.sendall(b"hello from the kernel\n")
    c.close()
PY

e2e_spawn ntsd "$NS_S" "$(e2e_bin ntsd)" --config "$d/ntsd.toml"
ntsd_pid=$E2E_LAST_PID
wait_for "! e2e_alive $ntsd_pid || in_s ip link show ntsd0" 20 || true
e2e_alive "$ntsd_pid" || e2e_fail "ntsd exited: $(tail -3 "$E2E_DIR/ntsd.log")"
in_s ip link show ntsd0 >/dev/null 2>&1 || e2e_fail "no exception interface ntsd0"
smac=$(in_s cat "/sys/class/net/$IF_S/address")
emac=$(in_s cat /sys/class/net/ntsd0/address)
[ "$smac" = "$emac" ] || e2e_fail "ntsd0 has MAC $emac, the port $smac"
# The operator's part: the kernel interface gets the same addresses.
in_s ip addr add "$S4/24" dev ntsd0
in_s ip -6 addr add "$S6/64" dev ntsd0 nodad
e2e_spawn udp123 "$NS_S" python3 "$E2E_DIR/udp123.py" "$E2E_DIR/udp123.count"
e2e_spawn tcp2222 "$NS_S" python3 "$E2E_DIR/tcp2222.py" "$S4"
e2e_spawn ntsd-ke "$NS_S" "$(e2e_bin ntsd-ke)" --config "$d/ntsd.toml"
ke_pid=$E2E_LAST_PID
wait_for "[ -s $d/ntskeys ] && in_s ss -ltnH 'src $S4:4460' | grep -q ." 15 || e2e_fail "ntsd-ke does not listen on $S4:4460"
e2e_log "ntsd-ke listens on $S4:4460 and [$S6]:4460, the dataplane's own addresses"
wait_for "[ -s $E2E_DIR/udp123.count ]" 5 || e2e_fail "kernel UDP 123 listener did not start"

# L2: net_af_packet has no multicast filter API; ntsd puts the solicited-node
# MAC of 2001:db8::1 on the kernel netdev's list instead (what a NIC driver
# programs into its filter).
in_s ip maddr show dev "$IF_S" | grep -q "link  33:33:ff:00:00:01" ||
  e2e_fail "33:33:ff:00:00:01 not on $IF_S's multicast list: $(in_s ip maddr show dev "$IF_S")"

metrics() { in_s curl -sf "http://127.0.0.1:9123/metrics"; }
msum() { metrics | awk -v n="$1" -v l="$2" 'index($0, n) == 1 && index($0, l) { s += $NF } END { print s + 0 }'; }

# --- ping and TCP reach the kernel
icmp_before=$(in_s nstat -az IcmpInEchos | awk '/IcmpInEchos/ { print $2 }')
in_c ping -c 3 -i 0.2 -W 2 "$S4" >/dev/null || e2e_fail "no ping reply from $S4"
in_c ping -6 -c 3 -i 0.2 -W 2 "$S6" >/dev/null || e2e_fail "no ping reply from $S6"
icmp_after=$(in_s nstat -az IcmpInEchos | awk '/IcmpInEchos/ { print $2 }')
[ "$((icmp_after - icmp_before))" -ge 3 ] || e2e_fail "the kernel saw $((icmp_after - icmp_before)) IPv4 echo requests, want 3"
[ "$(msum ntsd_echo_replies_total '')" -eq 0 ] || e2e_fail "ntsd answered echo itself with an exception path"
banner=$(in_c timeout 5 bash -c "exec 3<>/dev/tcp/$S4/2222; head -1 <&3") || e2e_fail "TCP to $S4:2222 failed"
[ "$banner" = "hello from the kernel" ] || e2e_fail "TCP to $S4:2222: got '$banner'"
e2e_log "ping (v4 +$((icmp_after - icmp_before)) kernel echo requests, v6) and TCP $S4:2222 reached the kernel"

# --- NTP: plain and NTS, all by ntsd
out=$(in_c "$probe" "$S4" 123 plain 20) || e2e_fail "plain NTP over IPv4: $out"
out6=$(in_c "$probe" "$S6" 123 plain 20) || e2e_fail "plain NTP over IPv6: $out6"
in_c timeout 20 sntp "$S4" >/dev/null 2>&1 || e2e_fail "sntp failed"
chrony_nts_client "$NS_C" ntsd.test "$PKI_CA"
cli=$E2E_INST
wait_for "chrony_authdata_ok $cli" 30 || e2e_fail "chrony: no NTS-KE on $S4: $(chronyc_in "$cli" -N authdata 2>&1)"
wait_for "chrony_got_samples $cli 8" 40 || e2e_fail "chrony: too few authenticated responses"
wait_for "chrony_selected $cli" 30 || e2e_fail "chrony did not select ntsd: $(chronyc_in "$cli" sources 2>&1)"
src=$(chronyc_in "$cli" -N sources | awk '/^\^/ { print $2; exit }')
e2e_log "chrony: NTS-KE and NTP both to ntsd.test ($src), selected, offset $(chrony_offset "$cli") s"
addr=$(chronyc_in "$cli" sources | awk '/^\^/ { print $2; exit }')
[ "$addr" = "$S4" ] || e2e_fail "chrony sends NTP to $addr, not $S4"
ok_nts=$(msum ntsd_requests_total 'reason="ok_nts"')
[ "$ok_nts" -ge 8 ] || e2e_fail "ntsd answered $ok_nts NTS requests"
[ "$(cat "$E2E_DIR/udp123.count")" -eq 0 ] || e2e_fail "$(cat "$E2E_DIR/udp123.count") NTP datagram(s) reached the kernel"
to_kernel=$(msum ntsd_exception_packets_total 'direction="to_kernel"')
to_wire=$(msum ntsd_exception_packets_total 'direction="to_wire"')
[ "$to_kernel" -gt 0 ] && [ "$to_wire" -gt 0 ] || e2e_fail "exception counters did not move ($to_kernel/$to_wire)"
e2e_log "NTP: $ok_nts NTS answers by ntsd, 0 datagrams at the kernel's UDP 123; exception path $to_kernel to kernel, $to_wire to wire"

# --- CPU placement: ntsd-ke's default threads avoid ntsd's worker lcore (CPU 1 of -l 0-1)
# cpus LIST: the CPUs of a Cpus_allowed_list ("0-2,5"), one per line.
cpus() { tr ',' '\n' <<<"$1" | awk -F- '{ for (i = $1; i <= ($2 == "" ? $1 : $2); i++) print i }'; }
want=$(cpus "$(awk '/^Cpus_allowed_list/ { print $2 }' /proc/self/status)" | grep -vx 1)
got=$(cpus "$(awk '/^Cpus_allowed_list/ { print $2 }' "/proc/$ke_pid/status")")
[ "$got" = "$want" ] || e2e_fail "ntsd-ke may run on CPUs $(echo $got), want $(echo $want): all but ntsd's worker lcore 1"
grep -q "NTS-KE on CPUs .*, off ntsd's worker lcores (CPUs 1)" "$E2E_DIR/ntsd-ke.log" || e2e_fail "ntsd-ke did not log its CPU placement"
threads=$(in_s curl -sf http://127.0.0.1:9124/metrics | awk '/^ntsd_ke_threads / { print $2 }')
[ "$threads" = "$(wc -l <<<"$want")" ] || e2e_fail "ntsd-ke runs $threads NTS-KE threads, want $(wc -l <<<"$want")"
e2e_log "ntsd-ke: $threads thread(s) on CPUs $(echo $got), off ntsd's worker lcore (CPU 1)"

e2e_stop "$ntsd_pid"
grep -q "stopped:" "$E2E_DIR/ntsd.log" || e2e_fail "ntsd did not stop cleanly"
e2e_pass "one address: NTS-KE and NTP on $S4 (chrony synchronised, one name), ping and TCP to the kernel, no NTP at the kernel"
