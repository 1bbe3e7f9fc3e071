#!/usr/bin/env bash
# Responses/s at the knee for chrony 4.3 and ntpsec 1.2, plain NTP and NTS,
# under the same ntsgen ramp (docs/benchmarks.md, "Traffic generator").
# Servers run in one namespace of a veth pair; ntsgen runs in the other, over
# DPDK net_af_packet (default) or kernel sockets. Needs root; uses the e2e
# library for namespaces, certificates and peers, and removes everything.
#
#   bench/ntsgen/peer_ramp.sh [socket|dpdk] [START_RATE] [FACTOR] [STEPS]
set -euo pipefail
. "$(dirname "$0")/../../tests/e2e/lib.sh"
TRANSPORT=${1:-dpdk} START=${2:-5000} FACTOR=${3:-1.5} STEPS=${4:-12}
e2e_init ntsgenramp
e2e_require_peers
NTSGEN=$(e2e_bin ntsgen) || e2e_fail "ntsgen is not built"
ns_pair
make_certs "$E2E_DIR/pki" ntsgen.test "$S4" "$S6"
# The simulated clients live in 198.18.0.0/16, on link behind the veth.
in_s ip route add 198.18.0.0/16 dev "$IF_S"

RANGE=0
ramp() {  # ramp LABEL ARGS...
  local label=$1; shift
  # A fresh block of client addresses per ramp: ntpsec remembers sources that
  # sent too fast (its MRU list) and keeps dropping them for a while.
  RANGE=$((RANGE + 4))
  # The server kernel's neighbour table holds 1024 entries by default
  # (gc_thresh3): forget the previous ramp's clients.
  in_s ip neigh flush dev "$IF_S"
  local -a t
  if [ "$TRANSPORT" = dpdk ]; then
    # 1000 client addresses from 198.18.0.0/16: ntpsec answers only a limited
    # rate per source address, so few addresses would measure that limit.
    t=(--transport dpdk --src-ip "198.18.$RANGE.1" --dst-ip "$S4" --src-addrs 1000 --clients 4000
       --eal "-l 0 --no-huge -m 256 --no-shconf --no-pci --no-telemetry --log-level=warning --file-prefix=ntsgenramp-$$ --vdev=net_af_packet0,iface=$IF_C")
  else
    t=(--server "$S4" --sockets 64)
  fi
  in_c "$NTSGEN" "${t[@]}" --rate "$START" --ramp "$FACTOR" --steps "$STEPS" --duration 1 \
    --drain 0.3 --threshold 1 --quiet --json "$E2E_DIR/$label.json" "$@" >"$E2E_DIR/$label.out" 2>&1 ||
    { cat "$E2E_DIR/$label.out"; e2e_fail "$label failed"; }
  cat "$E2E_DIR/$label.out"
  printf '%-12s knee %s valid/s\n' "$label" \
    "$(json_get "$E2E_DIR/$label.json" 'round(r["steps"][r["knee"]]["valid_rate"]) if r["knee"] >= 0 else 0')" \
    >>"$E2E_DIR/summary"
}

chrony_nts_server "$NS_S" "$PKI_CERT" "$PKI_KEY"
srv=$(cat "$E2E_INST/pid")
wait_for "in_s ss -ltn | grep -q ':4460 '" 20 || e2e_fail "chrony NTS-KE did not start"
ramp chrony-ntp --mode ntp
ramp chrony-nts --mode nts --ke ntsgen.test --ca "$PKI_CA" --sessions 64
e2e_stop "$srv"

ntpsec_nts_server "$NS_S" "$PKI_CERT" "$PKI_KEY"
wait_for "in_s ss -ltn | grep -q ':4460 '" 20 || e2e_fail "ntpsec NTS-KE did not start"
sleep 2  # ntpd answers clients once orphan mode has settled
ramp ntpsec-ntp --mode ntp
ramp ntpsec-nts --mode nts --ke ntsgen.test --ca "$PKI_CA" --sessions 64
echo "== knee (<= 1 % not valid), transport $TRANSPORT, ramp $START x $FACTOR"
cat "$E2E_DIR/summary"
e2e_pass "peer ramps done"
