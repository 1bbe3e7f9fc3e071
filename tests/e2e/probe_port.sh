#!/usr/bin/env bash
# e2e-timeout: 120
# ntsd --probe-port (issue 19): on net_null, net_pcap, net_af_packet (over a
# veth), net_tap and net_memif, the report of what each port can do matches
# its golden file in tests/e2e/golden/probe_<pmd>.txt. What varies between
# runs is normalised first: MAC addresses (random for most virtual devices).
# PROBE_UPDATE=1 rewrites the goldens instead of comparing.
# Then --check-config --probe-port: a configuration the port cannot serve
# (clock = "dpdk" without rte_eth_read_clock, more workers than queues,
# exception = "isolate" without flow isolate) fails naming the reason; one it
# can passes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_init probe_port
e2e_require_bin ntsd
ntsd=$(e2e_bin ntsd)
golden=$NTSD_SOURCE/tests/e2e/golden
ns_pair --bare

# conf NAME PORT_SPEC [EXTRA_DATAPLANE_LINE...]: a DPDK config on PORT_SPEC.
conf() {
  local name=$1 port=$2 f=$E2E_DIR/$1.toml eal="" a; shift 2
  for a in $E2E_EAL_COMMON "--file-prefix=ntsd-probe-$name-$$"; do eal+="${eal:+, }\"$a\""; done
  {
    printf '[keys]\nfile = "%s/ntskeys"\n\n[dataplane]\nbackend = "dpdk"\nworkers = 1\n' "$E2E_DIR"
    printf 'eal_args = [%s]\nports = ["%s"]\naddresses = ["192.0.2.1", "2001:db8::1"]\n' "$eal" "$port"
    for a in "$@"; do echo "$a"; done
  } >"$f"
  echo "$f"
}

normalise() { sed -E 's/([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}/xx:xx:xx:xx:xx:xx/g'; }

# probe LABEL NS CONFIG: run --probe-port (in namespace NS, "-" = here) and
# compare its stdout with the golden file.
probe() {
  local label=$1 ns=$2 cfg=$3 out rc=0
  local -a run=()
  [ "$ns" = "-" ] || run=(ip netns exec "$ns")
  out=$(timeout 60 "${run[@]}" "$ntsd" --probe-port --config "$cfg" 2>"$E2E_DIR/$label.log") || rc=$?
  grep -q 'without DPDK' "$E2E_DIR/$label.log" && e2e_fail "ntsd was built without DPDK"
  [ $rc -eq 0 ] || e2e_fail "$label: --probe-port exited $rc: $(tail -3 "$E2E_DIR/$label.log")"
  out=$(normalise <<<"$out")
  if [ -n "${PROBE_UPDATE:-}" ]; then
    printf '%s\n' "$out" >"$golden/probe_$label.txt"
    e2e_log "$label: golden rewritten"
    return
  fi
  diff -u "$golden/probe_$label.txt" <(printf '%s\n' "$out") >"$E2E_DIR/$label.diff" ||
    { cat "$E2E_DIR/$label.diff" >&2; e2e_fail "$label: --probe-port differs from tests/e2e/golden/probe_$label.txt"; }
  e2e_log "$label: matches its golden ($(grep -c . <<<"$out") lines)"
}

# An empty capture for net_pcap (libpcap file header, Ethernet link type).
python3 -c 'import struct,sys; open(sys.argv[1],"wb").write(struct.pack("<IHHiIII",0xa1b2c3d4,2,4,0,0,65535,1))' "$E2E_DIR/empty.pcap"

probe null - "$(conf null net_null0,size=64)"
probe pcap - "$(conf pcap "net_pcap0,rx_pcap=$E2E_DIR/empty.pcap,tx_pcap=$E2E_DIR/out.pcap")"
probe af_packet "$NS_S" "$(conf afp "net_af_packet0,iface=$IF_S")"
probe tap "$NS_S" "$(conf tap net_tap0,iface=ptap0)"
probe memif - "$(conf memif "net_memif0,role=server,socket=$E2E_DIR/memif.sock")"

# --check-config --probe-port: what the configuration asks, checked against the port.
check() {
  local label=$1 ns=$2 cfg=$3 want=$4 rc=0 out
  local -a run=()
  [ "$ns" = "-" ] || run=(ip netns exec "$ns")
  out=$(timeout 60 "${run[@]}" "$ntsd" --check-config "$cfg" --probe-port 2>&1) || rc=$?
  printf '%s\n' "$out" >"$E2E_DIR/check-$label.log"
  if [ "$want" = OK ]; then
    [ $rc -eq 0 ] && grep -q 'configuration OK (backend dpdk, 1 worker(s), 1 port(s) probed)' <<<"$out" ||
      e2e_fail "check $label: want OK, got ($rc): $(grep ntsd: <<<"$out" | tail -3)"
  else
    [ $rc -ne 0 ] || e2e_fail "check $label: accepted a configuration the port cannot serve"
    grep -qF -- "$want" <<<"$out" || e2e_fail "check $label: want '$want', got: $(grep ntsd: <<<"$out" | tail -3)"
  fi
  e2e_log "check $label: ${want}"
}
check ok "$NS_S" "$(conf chk-ok "net_af_packet0,iface=$IF_S")" OK
sed -i 's/^\[keys\]/[server]\nclock = "dpdk"\n\n[keys]/' "$(conf chk-clock net_null0,size=64)"
check clock - "$E2E_DIR/chk-clock.toml" '[server] clock = "dpdk": port net_null0 cannot read its clock'
check queues "$NS_S" "$(conf chk-q "net_af_packet0,iface=$IF_S" && sed -i 's/^workers = 1/workers = 2/; s/"-l", "0-1"/"--lcores", "0,1,2@1"/' "$E2E_DIR/chk-q.toml")" \
  '[dataplane] workers = 2: port net_af_packet0 has 1 queue pair(s)'
check isolate - "$(conf chk-iso "net_memif0,role=server,socket=$E2E_DIR/memif2.sock" 'exception = "isolate"')" \
  '[dataplane] exception = "isolate": port net_memif0 has no rte_flow isolate mode'
# At run time, too: isolate on a PMD without it, virtio_user without /dev/vhost-net.
rc=0
out=$(timeout 30 "$ntsd" --config "$E2E_DIR/chk-iso.toml" --metrics "" 2>&1) || rc=$?
[ $rc -ne 0 ] && grep -qF 'exception = "isolate" needs rte_flow isolate mode, which this PMD refuses' <<<"$out" ||
  e2e_fail "isolate on net_memif: want a refusal at start, got ($rc): $(grep ntsd: <<<"$out" | tail -2)"
if [ ! -e /dev/vhost-net ]; then
  sed 's/exception = "isolate"/exception = "virtio_user"/' "$E2E_DIR/chk-iso.toml" >"$E2E_DIR/chk-vu.toml"
  rc=0
  out=$("$ntsd" --check-config "$E2E_DIR/chk-vu.toml" 2>&1) || rc=$?
  [ $rc -ne 0 ] && grep -qF 'exception = "virtio_user" needs /dev/vhost-net' <<<"$out" ||
    e2e_fail "virtio_user without /dev/vhost-net: want a configuration error, got ($rc): $out"
  e2e_log "virtio_user refused without /dev/vhost-net: $out"
fi
e2e_pass "--probe-port matches the goldens on net_null, net_pcap, net_af_packet, net_tap, net_memif; --check-config --probe-port refuses what a port cannot do"
