#!/usr/bin/env bash
# e2e-timeout: 120
# IPv6 Neighbor Discovery on a port that filters multicast (issue 19). ntsd's
# port is a net_tap device (dtap0), bridged to the client's veth: the tap PMD
# implements rte_eth_dev_set_mc_addr_list by adding the MACs to dtap0's
# multicast list, so `ip maddr` shows what ntsd programmed. Proves:
#   - the solicited-node MAC of ntsd's IPv6 address (33:33:ff:00:00:01 for
#     2001:db8::1, RFC 4291 §2.7.1, RFC 2464 §7) is on the port's list, and
#     ntsd's log says so;
#   - a client resolves 2001:db8::1 by ND (ntsd answers the Neighbor
#     Solicitation) and chrony 4.3 synchronises to ntsd over IPv6 with NTS.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init nd_mcast
e2e_require_peers
e2e_require_bin ntsd ntsd-ke
ns_pair --bare
KE6=2001:db8::10
in_s ip link add br0 type bridge mcast_snooping 0
in_s ip link set "$IF_S" master br0
in_s ip -6 addr add "$KE6/64" dev br0 nodad
in_s ip link set br0 up
make_certs "$E2E_DIR/pki" ntsd.test "$S6" "$KE6"
ns_hosts ntsd.test "$KE6"

d=$E2E_DIR/ntsd
mkdir -p "$d"
eal="" ; for a in $E2E_EAL_COMMON "--file-prefix=ntsd-$E2E_NS"; do eal+="${eal:+, }\"$a\""; done
cat >"$d/ntsd.toml" <<TOML
[server]
stratum = 1
# This machine's kernel says "unsynchronised": serve it as a local reference.
local_stratum = 1

[ke]
listen = ["$KE6"]
cert = "$PKI_CERT"
key = "$PKI_KEY"
threads = 1
ntp_server = "$S6"

[keys]
file = "$d/ntskeys"

[dataplane]
backend = "dpdk"
workers = 1
eal_args = [$eal]
ports = ["net_tap0,iface=dtap0"]
addresses = ["$S4", "$S6"]

[metrics]
listen = "127.0.0.1:9123"
ke_listen = ""
TOML
e2e_spawn ntsd-ke "$NS_S" "$(e2e_bin ntsd-ke)" --config "$d/ntsd.toml"
wait_for "[ -s $d/ntskeys ]" 10 || e2e_fail "ntsd-ke wrote no key file"
e2e_spawn ntsd "$NS_S" "$(e2e_bin ntsd)" --config "$d/ntsd.toml"
ntsd_pid=$E2E_LAST_PID
wait_for "! e2e_alive $ntsd_pid || grep -q 'serving NTP' $E2E_DIR/ntsd.log" 20 || true
e2e_alive "$ntsd_pid" || e2e_fail "ntsd exited: $(tail -3 "$E2E_DIR/ntsd.log")"
smac=$(in_s cat /sys/class/net/dtap0/address)  # ntsd's MAC (net_tap gives its netdev the port's)
# The bridge would keep frames to a port's own MAC for itself: the tap's
# kernel side takes another MAC, so that frames to ntsd's are forwarded to it.
in_s ip link set dtap0 address 02:00:00:00:00:99
in_s ip link set dtap0 master br0

# --- the port's multicast list holds the solicited-node MAC of 2001:db8::1
grep -q "net_tap0: multicast MAC(s) 33:33:FF:00:00:01 programmed for IPv6 Neighbor Discovery (the port.s filter and kernel interface dtap0.s list)" "$E2E_DIR/ntsd.log" ||
  e2e_fail "ntsd did not log the multicast MACs: $(grep -i multicast "$E2E_DIR/ntsd.log")"
maddr=$(in_s ip maddr show dev dtap0)
grep -q "link  33:33:ff:00:00:01" <<<"$maddr" || e2e_fail "33:33:ff:00:00:01 not on dtap0's list: $maddr"
e2e_log "dtap0 multicast list: $(grep -o 'link  33:33:ff:00:00:01' <<<"$maddr")"

# --- ND, then chrony over IPv6
in_c ping -6 -c 2 -W 2 "$S6" >/dev/null || e2e_fail "no ICMPv6 echo reply from $S6"
in_c ip -6 neigh show "$S6" | grep -qi "lladdr $smac" || e2e_fail "ND did not resolve $S6 to $smac: $(in_c ip -6 neigh)"
metrics() { in_s curl -sf "http://127.0.0.1:9123/metrics"; }
nd=$(metrics | awk '/^ntsd_nd_replies_total/ { s += $NF } END { print s + 0 }')
[ "$nd" -ge 1 ] || e2e_fail "ntsd sent no Neighbor Advertisement"
e2e_log "client resolved $S6 to $smac by ND ($nd advertisement(s) from ntsd)"
chrony_nts_client "$NS_C" ntsd.test "$PKI_CA"
cli=$E2E_INST
wait_for "chrony_authdata_ok $cli" 30 || e2e_fail "chrony: no NTS-KE: $(chronyc_in "$cli" -N authdata 2>&1)"
wait_for "chrony_got_samples $cli 6" 40 || e2e_fail "chrony: too few authenticated responses"
wait_for "chrony_selected $cli" 30 || e2e_fail "chrony did not select ntsd: $(chronyc_in "$cli" sources 2>&1)"
addr=$(chronyc_in "$cli" sources | awk '/^\^/ { print $2; exit }')
[ "$addr" = "$S6" ] || e2e_fail "chrony's source is $addr, want $S6"
e2e_pass "net_tap port lists 33:33:ff:00:00:01 (ip maddr), ND resolves $S6, chrony NTS over IPv6 selected ntsd (offset $(chrony_offset "$cli") s)"
