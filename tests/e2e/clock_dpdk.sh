#!/usr/bin/env bash
# e2e-timeout: 120
# clock = "dpdk" (issue 5): ntsd reads the first port's NIC clock through
# rte_eth_read_clock. No PMD on this machine can (net_null, net_memif,
# net_af_packet have no clock), so ntsd must refuse to start, naming the port
# and saying that its PMD has no readable clock, rather than serve time from
# a clock it does not have. Also: clock = "dpdk" with the socket backend is a
# configuration error. (The mapping itself is tested by ptp_clock_test,
# TickClock.*, against a simulated counter.)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init clock_dpdk
e2e_require_bin ntsd
ntsd=$(e2e_bin ntsd)
ns_pair --bare

# conf NAME PORT_SPEC: a DPDK config on PORT_SPEC, no metrics endpoint.
conf() {
  local f=$E2E_DIR/$1.toml eal="" a
  for a in $E2E_EAL_COMMON "--file-prefix=ntsd-clk-$1-$$"; do eal+="${eal:+, }\"$a\""; done
  cat >"$f" <<TOML
[server]
stratum = 1

[keys]
file = "$E2E_DIR/ntskeys"

[dataplane]
backend = "dpdk"
workers = 1
eal_args = [$eal]
ports = ["$2"]
addresses = ["192.0.2.1"]

[metrics]
listen = ""
TOML
  echo "$f"
}

# expect_refusal LABEL NS PORT_NAME DRIVER CONFIG: ntsd --clock dpdk exits
# non-zero within 30 s with the message.
expect_refusal() {
  local label=$1 ns=$2 port=$3 driver=$4 cfg=$5 rc=0 out
  if [ "$ns" = "-" ]; then
    out=$(timeout 30 "$ntsd" --config "$cfg" --clock dpdk 2>&1) || rc=$?
  else
    out=$(ip netns exec "$ns" timeout 30 "$ntsd" --config "$cfg" --clock dpdk 2>&1) || rc=$?
  fi
  printf '%s\n' "$out" >"$E2E_DIR/$label.log"
  [ $rc -ne 0 ] || e2e_fail "$label: ntsd started with clock = dpdk on $driver"
  [ $rc -ne 124 ] || e2e_fail "$label: ntsd did not exit (timeout)"
  grep -q 'without DPDK' <<<"$out" && e2e_skip_no_dpdk "ntsd was built without DPDK"
  local want="DPDK port $port ($driver): the PMD has no readable clock"
  grep -qF "$want" <<<"$out" || e2e_fail "$label: want '$want', got: $(grep ntsd: <<<"$out" | tail -2)"
  e2e_log "$label: $(grep -F "$want" <<<"$out")"
}

expect_refusal null - net_null0 net_null "$(conf null net_null0,size=64)"
expect_refusal memif - net_memif0 net_memif "$(conf memif "net_memif0,role=server,socket=$E2E_DIR/memif.sock")"
expect_refusal af_packet "$NS_S" net_af_packet0 net_af_packet "$(conf afp "net_af_packet0,iface=$IF_S")"

# clock = "dpdk" with the socket backend: a configuration error, said at once.
rc=0
out=$(timeout 10 "$ntsd" --socket --listen 127.0.0.1:0 --metrics "" --keys-file "$E2E_DIR/ntskeys" --clock dpdk 2>&1) || rc=$?
[ $rc -ne 0 ] && grep -q 'needs \[dataplane\] backend = "dpdk"' <<<"$out" ||
  e2e_fail "socket backend with clock = dpdk: want a configuration error, got ($rc): $out"
e2e_pass "clock = dpdk refused on net_null, net_memif and net_af_packet with the port named; socket backend refused"
